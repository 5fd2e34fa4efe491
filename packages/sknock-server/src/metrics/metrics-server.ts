import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SknockServer } from '../daemon/server.js';
import { SknockServerError } from '../errors.js';
import type { Logger } from '../logging/logger-type.js';
import { healthOf } from './health.js';
import { createMetrics, type SknockMetrics } from './metrics-registry.js';

/**
 * The opt-in HTTP endpoint of config key `metricsAddress`: `GET /metrics` (OpenMetrics text,
 * ./metrics-registry.ts) and `GET /healthz` (200 or 503, JSON saying why, ./health.ts).
 * Anything else is 404 (405 for a method other than GET/HEAD). Bounded: at most
 * METRICS_CONNECTIONS_MAX connections, requests time out after METRICS_REQUEST_TIMEOUT_MS;
 * no request body is read.
 */

export const METRICS_CONNECTIONS_MAX = 32;
export const METRICS_REQUEST_TIMEOUT_MS = 10_000;

export interface MetricsServerOptions {
  readonly server: Pick<SknockServer, 'stats' | 'config' | 'firewallHealth'>;
  readonly host: string;
  readonly port: number;
  readonly version: string;
  readonly logger: Logger;
}

export class MetricsServer {
  readonly #options: MetricsServerOptions;
  #http: Server | undefined;
  #metrics: SknockMetrics | undefined;

  constructor(options: MetricsServerOptions) {
    this.#options = options;
  }

  /** Listens; throws `SknockServerError` ERR_SKNOCK_BIND when the address cannot be bound. */
  async start(): Promise<{ host: string; port: number }> {
    const { host, port, server, version } = this.#options;
    const metrics = createMetrics({ server, version });
    const http = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        this.#options.logger.error({ event: 'metrics-error', error: (err as Error)?.message ?? String(err) }, 'metrics request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('internal error\n');
      });
    });
    http.maxConnections = METRICS_CONNECTIONS_MAX;
    http.requestTimeout = METRICS_REQUEST_TIMEOUT_MS;
    http.headersTimeout = METRICS_REQUEST_TIMEOUT_MS;
    http.keepAliveTimeout = 5000;
    try {
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject);
        http.listen({ host, port, ipv6Only: host.includes(':') && host !== '::' }, () => {
          http.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      metrics.close();
      throw new SknockServerError('ERR_SKNOCK_BIND', `metricsAddress ${host.includes(':') ? `[${host}]` : host}:${port} cannot be bound: ${(err as Error).message}`, { cause: err });
    }
    http.on('error', (err) => this.#options.logger.error({ event: 'metrics-error', error: err.message }, 'metrics endpoint error'));
    this.#http = http;
    this.#metrics = metrics;
    const bound = http.address() as AddressInfo;
    return { host: bound.address, port: bound.port };
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' && path !== '/healthz') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found: /metrics or /healthz\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('method not allowed\n');
      return;
    }
    if (path === '/metrics') {
      const registry = (this.#metrics as SknockMetrics).registry;
      const body = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const report = await healthOf(this.#options.server);
    const body = `${JSON.stringify({ status: report.ok ? 'ok' : 'fail', ...report })}\n`;
    res.writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  async close(): Promise<void> {
    const http = this.#http;
    this.#http = undefined;
    this.#metrics?.close();
    this.#metrics = undefined;
    if (http === undefined) return;
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  }
}
