import type { ConnectionOptions } from 'node:tls';
import { MAX_KNOCK_AFTER_MS } from './constants.js';
import { invalidOption } from './errors.js';
import {
  KNOCKER_KEYS,
  TARGET_KEYS,
  assertObject,
  describe,
  rejectUnknownKeys,
  validateKnockerFields,
  validateTargetFields,
  type KnockTargetOptions,
  type NormalizedKnockerOptions,
  type NormalizedTarget,
} from './options.js';

/**
 * The options of `connect()`, `tlsConnect()`, `knocker.socket()` and the agents, and their
 * eager validation (every check names the option, as options.ts does for `knock()`).
 */

/** `connect()` per call: where to connect, and how to knock when the port does not answer. */
export interface ConnectOptions extends Omit<KnockTargetOptions, 'protocol' | 'verify'> {
  /**
   * ms to give the port before knocking: a grant from an earlier knock may still run, and
   * then no knock is sent at all. A refused connection (policy reject) knocks at once.
   * `0` knocks at once. Default 250. Not waited when this knocker knows the grant ran out.
   */
  readonly knockAfter?: number;
  /** As `net.connect()`'s: keep writing after the far end's FIN. Default `false`. */
  readonly allowHalfOpen?: boolean;
  /** TCP_NODELAY on the connection handed over. Default `false`, as `net.connect()`. */
  readonly noDelay?: boolean;
}

/** `tls.connect()` options for `tlsConnect()`; the SDK sets `socket` (and `host` for the identity check). */
export type TlsOptions = Omit<ConnectionOptions, 'socket' | 'host' | 'port' | 'path'>;

export interface TlsConnectOptions extends ConnectOptions {
  /** TLS over the knocked connection: `ca`, `servername` (default: the host, unless an IP), `ALPNProtocols`, ... */
  readonly tls?: TlsOptions;
}

/** What a `knocker.socket()` or an agent adds to every connection it makes (host and port come from the caller). */
export type SocketDefaults = Omit<ConnectOptions, 'host' | 'port'>;

export interface NormalizedConnect {
  readonly target: NormalizedTarget;
  readonly knockAfter: number | undefined;
  readonly allowHalfOpen: boolean;
  readonly noDelay: boolean;
  readonly tls: TlsOptions | undefined;
}

const CONNECT_EXTRA_KEYS = ['knockAfter', 'allowHalfOpen', 'noDelay'] as const;
const CONNECT_KEYS: readonly string[] = [...TARGET_KEYS.filter((k) => k !== 'protocol' && k !== 'verify'), ...CONNECT_EXTRA_KEYS];
const TLS_RESERVED = ['socket', 'host', 'port', 'path'] as const;

function checkNotKnockOnly(o: Record<string, unknown>, fn: string): void {
  if (o['protocol'] !== undefined && o['protocol'] !== 'tcp') throw invalidOption('protocol', `${fn}() makes TCP connections (use knock() for UDP), got ${describe(o['protocol'])}`);
  if (o['verify'] !== undefined) throw invalidOption('verify', `${fn}() always waits for the connection; use knock({ verify: false }) to knock without it`);
}

function connectFields(o: Record<string, unknown>, withTls: boolean): NormalizedConnect {
  const target = validateTargetFields({ ...o, protocol: 'tcp', verify: true });
  const knockAfter = o['knockAfter'];
  if (knockAfter !== undefined && (typeof knockAfter !== 'number' || !Number.isFinite(knockAfter) || knockAfter < 0 || knockAfter > MAX_KNOCK_AFTER_MS)) {
    throw invalidOption('knockAfter', `must be a number of milliseconds from 0 to ${MAX_KNOCK_AFTER_MS}, got ${describe(knockAfter)}`);
  }
  for (const flag of ['allowHalfOpen', 'noDelay'] as const) {
    if (o[flag] !== undefined && typeof o[flag] !== 'boolean') throw invalidOption(flag, `must be true or false, got ${describe(o[flag])}`);
  }
  let tls: TlsOptions | undefined;
  if (withTls && o['tls'] !== undefined) {
    assertObject(o['tls'], 'tls');
    for (const key of TLS_RESERVED) {
      if (o['tls'][key] !== undefined) throw invalidOption(`tls.${key}`, 'is set by the SDK (the knocked connection); give host and port outside tls');
    }
    tls = o['tls'] as TlsOptions;
  }
  return { target, knockAfter: knockAfter as number | undefined, allowHalfOpen: o['allowHalfOpen'] === true, noDelay: o['noDelay'] === true, tls };
}

function keysOf(withTls: boolean): readonly string[] {
  return withTls ? [...CONNECT_KEYS, 'tls'] : CONNECT_KEYS;
}

/** `knocker.connect()` / `knocker.tlsConnect()` options. */
export function validateConnectOptions(options: unknown, fn: 'connect' | 'tlsConnect'): NormalizedConnect {
  assertObject(options, 'options');
  checkNotKnockOnly(options, fn);
  const keys = keysOf(fn === 'tlsConnect');
  rejectUnknownKeys(options, keys, ` (knocker.${fn}() takes ${keys.join(', ')})`);
  return connectFields(options, fn === 'tlsConnect');
}

/** The top-level `connect()` / `tlsConnect()`: credentials and connect options together. */
export function validateConnectWithCredentials(options: unknown, fn: 'connect' | 'tlsConnect'): { knocker: NormalizedKnockerOptions; connect: NormalizedConnect } {
  assertObject(options, 'options');
  checkNotKnockOnly(options, fn);
  rejectUnknownKeys(options, [...KNOCKER_KEYS, ...keysOf(fn === 'tlsConnect')], '');
  return { connect: connectFields(options, fn === 'tlsConnect'), knocker: validateKnockerFields(options) };
}

/**
 * Defaults for `knocker.socket()` and the agents: checked now, with a stand-in host and
 * port, so that a mistake shows when the agent is made rather than at its first request.
 */
export function validateSocketDefaults(options: unknown, name: string): SocketDefaults {
  if (options === undefined) return {};
  assertObject(options, name);
  checkNotKnockOnly(options, name);
  for (const key of ['host', 'port'] as const) {
    if (options[key] !== undefined) throw invalidOption(`${name}.${key}`, 'comes from each connection (the library says where it connects)');
  }
  rejectUnknownKeys(options, CONNECT_KEYS, ` in ${name} (it takes ${CONNECT_KEYS.filter((k) => k !== 'host' && k !== 'port').join(', ')})`);
  connectFields({ ...options, host: 'localhost', port: 1 }, false);
  return options as SocketDefaults;
}
