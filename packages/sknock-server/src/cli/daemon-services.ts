import { ControlServer } from '../control/control-server.js';
import type { SknockServer } from '../daemon/server.js';
import type { Logger } from '../logging/logger-type.js';
import { MetricsServer } from '../metrics/metrics-server.js';

/**
 * What `sknock-server run` starts beside the knock daemon once it listens: the control
 * socket (`controlSocket`) and the metrics endpoint (`metricsAddress`). Neither is needed to
 * guard the host, so one that cannot start is logged at warn and the daemon runs on without
 * it; both are closed before the daemon stops.
 */

export interface DaemonServices {
  close(): Promise<void>;
}

export async function startDaemonServices(server: SknockServer, logger: Logger, version: string, startedAt: number): Promise<DaemonServices> {
  const config = server.config;
  let control: ControlServer | undefined;
  let metrics: MetricsServer | undefined;
  if (config?.controlSocket !== undefined) {
    const candidate = new ControlServer({
      path: config.controlSocket,
      context: { server, startedAt, version, now: Date.now },
      logger: logger.child({ component: 'control' }),
    });
    try {
      const info = await candidate.start();
      control = candidate;
      logger.info({ event: 'control-listening', path: info.path, mode: info.mode, group: info.group }, `admin commands on ${info.path}`);
    } catch (err) {
      logger.warn({ event: 'control-unavailable', path: config.controlSocket, error: (err as Error).message }, `no admin commands: ${(err as Error).message}`);
    }
  }
  if (config?.metricsAddress !== undefined) {
    const { host, port } = config.metricsAddress;
    const candidate = new MetricsServer({ server, host, port, version, logger: logger.child({ component: 'metrics' }) });
    try {
      const bound = await candidate.start();
      metrics = candidate;
      logger.info({ event: 'metrics-listening', address: bound.host, port: bound.port }, `metrics on http://${bound.host.includes(':') ? `[${bound.host}]` : bound.host}:${bound.port}/metrics`);
    } catch (err) {
      logger.warn({ event: 'metrics-unavailable', error: (err as Error).message }, `no metrics endpoint: ${(err as Error).message}`);
    }
  }
  return {
    async close() {
      await Promise.all([control?.close(), metrics?.close()]);
    },
  };
}
