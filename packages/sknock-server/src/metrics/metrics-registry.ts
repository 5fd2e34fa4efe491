import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type OpenMetricsContentType } from 'prom-client';
import type { SknockServer } from '../daemon/server.js';
import { REJECT_CODES } from '../pipeline/reject-codes.js';
import { VERIFY_TIMING_CHANNEL, type VerifyTiming } from './verify-timing.js';

/**
 * The daemon's metrics (prom-client, OpenMetrics text): every name starts with `sknock_`.
 * Counters and gauges are read from `server.stats()` when scraped, so the knock path pays
 * nothing for them; the verify-latency histogram listens on the verify-timing channel.
 * The table in the README lists them (METRIC_NAMES here is what the tests hold it to).
 */

/** Seconds: from a cached certificate's ~0.2 ms to a slow machine's first chain check. */
export const VERIFY_BUCKETS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export interface SknockMetrics {
  readonly registry: Registry<OpenMetricsContentType>;
  /** Stops listening for verify timings (the registry stays readable). */
  close(): void;
}

/** The metric families this module registers besides prom-client's process metrics (`sknock_process_…`, `sknock_nodejs_…`). */
export const METRIC_NAMES = [
  'sknock_info',
  'sknock_knocks_received_total',
  'sknock_knocks_accepted_total',
  'sknock_knocks_rejected_total',
  'sknock_grants_open',
  'sknock_grants_pending',
  'sknock_grant_writes_total',
  'sknock_grants_lost_total',
  'sknock_grants_revoked_total',
  'sknock_firewall_write_errors_total',
  'sknock_firewall_checks_total',
  'sknock_firewall_repairs_total',
  'sknock_firewall_check_failures_total',
  'sknock_queue_depth',
  'sknock_queue_capacity',
  'sknock_queue_dropped_total',
  'sknock_verify_duration_seconds',
  'sknock_crl_present',
  'sknock_crl_stale',
  'sknock_crl_age_seconds',
  'sknock_crl_next_update_timestamp_seconds',
] as const;

export interface CreateMetricsOptions {
  readonly server: Pick<SknockServer, 'stats' | 'config'>;
  readonly version: string;
  /** Also prom-client's process and Node.js metrics, prefixed `sknock_` (default true). */
  readonly processMetrics?: boolean;
  readonly now?: () => number;
}

/** A counter whose value is read from the server when scraped. */
function readCounter(registry: Registry<OpenMetricsContentType>, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

function readGauge(registry: Registry<OpenMetricsContentType>, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

export function createMetrics(options: CreateMetricsOptions): SknockMetrics {
  const { server } = options;
  const now = options.now ?? Date.now;
  const registry = new Registry<OpenMetricsContentType>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  const stats = (): ReturnType<SknockServer['stats']> => server.stats();

  new Gauge({
    name: 'sknock_info',
    help: 'Always 1; the labels say what runs: version, firewall back end, policy.',
    labelNames: ['version', 'backend', 'policy'],
    registers: [registry],
    collect() {
      this.reset();
      const config = server.config;
      this.set({ version: options.version, backend: config?.firewallBackend ?? '', policy: config?.firewallPolicy ?? '' }, 1);
    },
  });
  readCounter(registry, 'sknock_knocks_received_total', 'Datagrams received on the knock socket (before any check).', () => stats().received);
  readCounter(registry, 'sknock_knocks_accepted_total', 'Knocks that passed every check.', () => stats().accepted);
  new Counter({
    name: 'sknock_knocks_rejected_total',
    help: 'Datagrams dropped, by reject code (every code present).',
    labelNames: ['code'],
    registers: [registry],
    collect() {
      this.reset();
      const rejected = stats().rejected;
      for (const code of REJECT_CODES) this.inc({ code }, rejected[code]);
    },
  });
  readGauge(registry, 'sknock_grants_open', 'Grants the firewall holds for this daemon now.', () => stats().grants.held);
  readGauge(registry, 'sknock_grants_pending', 'Grants waiting for a firewall write.', () => stats().grants.pending);
  readCounter(registry, 'sknock_grant_writes_total', 'Grant writes (opens and extensions) the firewall took.', () => stats().grants.opened);
  readCounter(registry, 'sknock_grants_lost_total', 'Grants given up after every firewall write attempt failed.', () => stats().grants.lost);
  readCounter(registry, 'sknock_grants_revoked_total', 'Grants closed early because a CRL revoked every certificate holding them.', () => stats().grants.revoked);
  readCounter(registry, 'sknock_firewall_write_errors_total', 'Firewall writes (open or close) that failed.', () => stats().grants.failedWrites);
  readCounter(registry, 'sknock_firewall_checks_total', 'Checks the firewall watchdog made.', () => stats().firewall.checks);
  readCounter(registry, 'sknock_firewall_repairs_total', 'Checks that found the rules missing or changed and rebuilt them.', () => stats().firewall.repairs);
  readCounter(registry, 'sknock_firewall_check_failures_total', 'Watchdog checks that failed (the rules may not be in force).', () => stats().firewall.failedChecks);
  readGauge(registry, 'sknock_queue_depth', 'Knocks waiting in the work queue for the crypto checks.', () => stats().queue.length);
  readGauge(registry, 'sknock_queue_capacity', 'Size of the work queue.', () => stats().queue.max);
  readCounter(registry, 'sknock_queue_dropped_total', 'Knocks dropped because the work queue was full (also counted as rejected, code overloaded).', () => stats().queue.dropped);

  const verify = new Histogram({
    name: 'sknock_verify_duration_seconds',
    help: 'Time of the crypto checks of one knock (decrypt, certificate, signature, grant), by result.',
    labelNames: ['result'],
    buckets: [...VERIFY_BUCKETS],
    registers: [registry],
  });
  verify.zero({ result: 'accepted' });
  verify.zero({ result: 'rejected' });
  const onTiming = (message: unknown): void => {
    const t = message as VerifyTiming;
    if (t.server === server) verify.observe({ result: t.accepted ? 'accepted' : 'rejected' }, t.seconds);
  };
  subscribe(VERIFY_TIMING_CHANNEL, onTiming);

  const issuers = (): ReadonlyArray<{ issuer: string; haveCrl: boolean; stale: boolean; thisUpdate?: string; nextUpdate?: string }> => stats().crl?.issuers ?? [];
  new Gauge({
    name: 'sknock_crl_present',
    help: '1 when a verified CRL of the CA is held, else 0.',
    labelNames: ['ca'],
    registers: [registry],
    collect() {
      this.reset();
      for (const i of issuers()) this.set({ ca: i.issuer }, i.haveCrl ? 1 : 0);
    },
  });
  new Gauge({
    name: 'sknock_crl_stale',
    help: '1 when the CA has no CRL or its CRL is past its nextUpdate, else 0.',
    labelNames: ['ca'],
    registers: [registry],
    collect() {
      this.reset();
      for (const i of issuers()) this.set({ ca: i.issuer }, !i.haveCrl || i.stale ? 1 : 0);
    },
  });
  new Gauge({
    name: 'sknock_crl_age_seconds',
    help: 'Seconds since the thisUpdate of the CA\'s CRL in force.',
    labelNames: ['ca'],
    registers: [registry],
    collect() {
      this.reset();
      for (const i of issuers()) if (i.thisUpdate !== undefined) this.set({ ca: i.issuer }, Math.max(0, (now() - Date.parse(i.thisUpdate)) / 1000));
    },
  });
  new Gauge({
    name: 'sknock_crl_next_update_timestamp_seconds',
    help: 'The nextUpdate of the CA\'s CRL in force, Unix time.',
    labelNames: ['ca'],
    registers: [registry],
    collect() {
      this.reset();
      for (const i of issuers()) if (i.nextUpdate !== undefined) this.set({ ca: i.issuer }, Date.parse(i.nextUpdate) / 1000);
    },
  });

  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'sknock_' });

  return {
    registry,
    close() {
      unsubscribe(VERIFY_TIMING_CHANNEL, onTiming);
    },
  };
}
