import type { Credentials } from '@sknock/protocol';
import type { ServerConfigInput } from '../config/resolve.js';
import { SknockServerError } from '../errors.js';
import type { FirewallBackend } from '../firewall/backend.js';
import type { Logger } from '../logging/logger-type.js';

/** What `createServer` takes. */
export interface CreateServerOptions {
  /**
   * Path of a `config.ini` (read at `start()` and again at `reload()`), or the same settings
   * as an object (`ServerConfigInput`: camelCase names, validated at once, defaults filled in).
   */
  readonly config?: string | ServerConfigInput;
  /**
   * In-memory server credentials (key, certificate, CA certificates), instead of the
   * config's `serverPfxFile` + password. Tests and demos need no PKCS#12 file.
   */
  readonly credentials?: Credentials;
  /** A back end by name (default: the config's `firewallBackend`), or a `FirewallBackend` of your own. */
  readonly firewall?: 'nftables' | 'iptables' | 'memory' | FirewallBackend;
  /** A pino logger (or anything with pino's methods), or `false` for none. Default: pino on stdout at the config's `logLevel`. */
  readonly logger?: Logger | false;
  /** The clock, ms since epoch (default `Date.now`): the timestamp window, validity, grant expiry. */
  readonly now?: () => number;
  /** Port to bind instead of the config's `knockPort`; 0 picks a free one (see `address()`). */
  readonly listenPort?: number;
  /** Memory and rate bounds (defaults in src/constants.ts). */
  readonly limits?: ServerLimits;
}

/** Bounds of the daemon; every one has a default in src/constants.ts. */
export interface ServerLimits {
  /** Knocks a source may send at once (token bucket size). */
  readonly rateLimitBurst?: number;
  /** Knocks per second a source gets back. */
  readonly rateLimitPerSecond?: number;
  /** Sources tracked by the rate limiter. */
  readonly rateLimitMaxSources?: number;
  /** Ephemeral keys remembered (with their AES keys) from refused packets that cost an ECDH. */
  readonly replaySeenMax?: number;
  /** Ephemeral keys remembered from accepted knocks. */
  readonly replayVerifiedMax?: number;
  /** Of which one client certificate may hold. */
  readonly replayVerifiedPerCertificateMax?: number;
  /** Datagrams waiting for the crypto stages. */
  readonly queueMax?: number;
  /** Datagrams processed before yielding to the event loop. */
  readonly batchMax?: number;
  /** Grants waiting for the firewall. */
  readonly openPendingMax?: number;
  /** Attempts at writing one grant to the firewall. */
  readonly openMaxAttempts?: number;
  /** First retry delay of a failed firewall write (doubles each time). */
  readonly openRetryBaseMs?: number;
  /** Reject lines logged per second at most. */
  readonly rejectLogPerSecond?: number;
  /** How often counts of rejects not logged are summarised. */
  readonly rejectSummaryIntervalMs?: number;
}

const LIMIT_NAMES: readonly (keyof ServerLimits)[] = [
  'rateLimitBurst',
  'rateLimitPerSecond',
  'rateLimitMaxSources',
  'replaySeenMax',
  'replayVerifiedMax',
  'replayVerifiedPerCertificateMax',
  'queueMax',
  'batchMax',
  'openPendingMax',
  'openMaxAttempts',
  'openRetryBaseMs',
  'rejectLogPerSecond',
  'rejectSummaryIntervalMs',
];

const FIREWALL_NAMES = new Set(['nftables', 'iptables', 'memory']);
const BACKEND_METHODS = ['setup', 'open', 'close', 'list', 'teardown'] as const;
const LOGGER_METHODS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'child'] as const;

function invalid(message: string): SknockServerError {
  return new SknockServerError('ERR_SKNOCK_INVALID_ARGUMENT', message);
}

/** Checks the options' shapes at once, naming the option at fault (the config itself is checked by src/config/). */
export function checkServerOptions(options: unknown): CreateServerOptions {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalid('createServer options must be an object');
  const o = options as Record<string, unknown>;
  const known = new Set(['config', 'credentials', 'firewall', 'logger', 'now', 'listenPort', 'limits']);
  for (const key of Object.keys(o)) if (!known.has(key)) throw invalid(`unknown createServer option '${key}' (known: ${[...known].join(', ')})`);
  if (o.config !== undefined && typeof o.config !== 'string' && (typeof o.config !== 'object' || o.config === null || Array.isArray(o.config))) {
    throw invalid('options.config must be a config file path or a settings object');
  }
  if (o.credentials !== undefined) {
    const c = o.credentials as Record<string, unknown> | null;
    if (c === null || typeof c !== 'object' || !(c.certificate instanceof Uint8Array) || typeof c.privateKey !== 'object' || !Array.isArray(c.caCertificates)) {
      throw invalid('options.credentials must be { privateKey: KeyObject, certificate: DER, caCertificates: DER[] } (as loadCredentials returns)');
    }
  }
  if (o.firewall !== undefined) {
    if (typeof o.firewall === 'string') {
      if (!FIREWALL_NAMES.has(o.firewall)) throw invalid(`options.firewall must be 'nftables', 'iptables', 'memory' or a FirewallBackend, got '${o.firewall}'`);
    } else if (typeof o.firewall !== 'object' || o.firewall === null || BACKEND_METHODS.some((m) => typeof (o.firewall as Record<string, unknown>)[m] !== 'function')) {
      throw invalid(`options.firewall must be a back-end name or an object with ${BACKEND_METHODS.join(', ')} methods`);
    }
  }
  if (o.logger !== undefined && o.logger !== false) {
    if (typeof o.logger !== 'object' || o.logger === null || LOGGER_METHODS.some((m) => typeof (o.logger as Record<string, unknown>)[m] !== 'function')) {
      throw invalid(`options.logger must be false or a pino-like logger (${LOGGER_METHODS.join(', ')})`);
    }
  }
  if (o.now !== undefined && typeof o.now !== 'function') throw invalid('options.now must be a function returning ms since epoch');
  if (o.listenPort !== undefined && (!Number.isInteger(o.listenPort) || (o.listenPort as number) < 0 || (o.listenPort as number) > 65535)) {
    throw invalid(`options.listenPort must be an integer from 0 to 65535, got ${String(o.listenPort)}`);
  }
  if (o.limits !== undefined) {
    if (o.limits === null || typeof o.limits !== 'object') throw invalid('options.limits must be an object');
    const limits = o.limits as Record<string, unknown>;
    for (const key of Object.keys(limits)) {
      if (!(LIMIT_NAMES as readonly string[]).includes(key)) throw invalid(`unknown limit options.limits.${key} (known: ${LIMIT_NAMES.join(', ')})`);
      const v = limits[key];
      if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)) {
        throw invalid(`options.limits.${key} must be a positive number, got ${String(v)}`);
      }
    }
  }
  return o as CreateServerOptions;
}
