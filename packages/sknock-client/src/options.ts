import type { KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import type { KnockProtocol } from '@sknock/protocol';
import { DEFAULT_RETRIES, DEFAULT_TIMEOUT_MS, MAX_GRANT_SECONDS, MAX_RETRIES, MAX_TIMEOUT_MS } from './constants.js';
import { invalidOption } from './errors.js';

/**
 * The options of `knock()`, `createKnocker()` and `Knocker.knock()`, and their eager
 * validation: every check names the option, unknown keys included.
 */

/** Key and certificate already in memory (e.g. from your own secret store). */
export interface ClientCredentials {
  /** EC P-256 private key. */
  readonly privateKey: KeyObject;
  /** The matching client certificate, DER. */
  readonly certificate: Uint8Array;
}

/**
 * Who knocks, and to whom: give exactly one of `pfx` (+ `passphrase`), `key` + `certificate`,
 * or `credentials`; and always `serverCertificate`.
 */
export interface KnockerOptions {
  /** PKCS#12 file: a path, or its bytes. Needs `passphrase`. */
  readonly pfx?: string | Uint8Array;
  /** Password of `pfx` (required with it; `''` for none), or of an encrypted PKCS#8 `key`. */
  readonly passphrase?: string;
  /** Private key (PKCS#8 or SEC 1, P-256): a path, PEM text or DER bytes. Needs `certificate`. */
  readonly key?: string | Uint8Array;
  /** Client certificate: a path, PEM text or DER bytes. Needs `key`. */
  readonly certificate?: string | Uint8Array;
  /** Key and certificate already loaded. */
  readonly credentials?: ClientCredentials;
  /** The server's certificate (its public key encrypts the knock): a path, PEM text or DER bytes. */
  readonly serverCertificate: string | Uint8Array;
}

/** Where to knock and how; the per-call options of `Knocker.knock()`. */
export interface KnockTargetOptions {
  /** Host name or IP address (`[v6]` brackets allowed); a name is resolved once per call. */
  readonly host: string;
  /** Port to open, 1–65535. */
  readonly port: number;
  /** `'tcp'` (default) or `'udp'`. */
  readonly protocol?: KnockProtocol;
  /** Address family for resolving `host`: 4, 6 or 0 (default: any, the resolver's first). */
  readonly family?: 0 | 4 | 6;
  /** UDP port the knock is sent to; default a random port from 10000 to 60000 for every packet. */
  readonly knockPort?: number;
  /** Address the knock binds (the server checks it against the packet's source). Default: the
   * local address the OS picks toward the host. Set it explicitly behind NAT. */
  readonly sourceAddress?: string;
  /** TCP only: after each knock, connect until the port answers. Default `true`. */
  readonly verify?: boolean;
  /** The whole call, in ms. Default 10000. */
  readonly timeout?: number;
  /** Knocks resent when a try does not open the port. Default 3 (so at most 4 knocks). */
  readonly retries?: number;
  /** Cancels the call (rejects with `ERR_SKNOCK_ABORTED`). */
  readonly signal?: AbortSignal;
  /** How long the server's grant lasts (its `PORT_OPEN_DURATION_IN_SECONDS`), if you know it:
   * the result then says when the grant runs out, and `connect()` knocks at once once it has. */
  readonly grantSeconds?: number;
}

/** Everything `knock()` takes. */
export interface KnockOptions extends KnockerOptions, KnockTargetOptions {}

export const KNOCKER_KEYS = ['pfx', 'passphrase', 'key', 'certificate', 'credentials', 'serverCertificate'] as const;
export const TARGET_KEYS = ['host', 'port', 'protocol', 'family', 'knockPort', 'sourceAddress', 'verify', 'timeout', 'retries', 'signal', 'grantSeconds'] as const;

export type CredentialSource =
  | { readonly kind: 'pfx'; readonly pfx: string | Uint8Array; readonly passphrase: string }
  | { readonly kind: 'pem'; readonly key: string | Uint8Array; readonly certificate: string | Uint8Array; readonly passphrase: string | undefined }
  | { readonly kind: 'loaded'; readonly credentials: ClientCredentials };

export interface NormalizedKnockerOptions {
  readonly source: CredentialSource;
  readonly serverCertificate: string | Uint8Array;
}

export interface NormalizedTarget {
  readonly host: string;
  readonly port: number;
  readonly protocol: KnockProtocol;
  readonly family: 0 | 4 | 6;
  readonly knockPort: number | undefined;
  readonly sourceAddress: string | undefined;
  readonly verify: boolean;
  readonly timeout: number;
  readonly retries: number;
  readonly signal: AbortSignal | undefined;
  readonly grantSeconds: number | undefined;
}

export function assertObject(value: unknown, name: string): asserts value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidOption(name, 'must be an object');
}

export function rejectUnknownKeys(options: Record<string, unknown>, allowed: readonly string[], hint: string): void {
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) throw invalidOption(key, `unknown option${hint}`);
  }
}

function isBytesOrString(value: unknown): value is string | Uint8Array {
  return (typeof value === 'string' && value.length > 0) || (value instanceof Uint8Array && value.length > 0);
}

function pathPemOrBytes(options: Record<string, unknown>, name: string, what: string): string | Uint8Array {
  const value = options[name];
  if (!isBytesOrString(value)) throw invalidOption(name, `must be ${what} (a non-empty string or Uint8Array), got ${describe(value)}`);
  return value;
}

export function integerIn(options: Record<string, unknown>, name: string, min: number, max: number): number | undefined {
  const value = options[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidOption(name, `must be an integer from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'function' ? 'a function' : 'an object';
}

export function validateKnockerFields(o: Record<string, unknown>): NormalizedKnockerOptions {
  const present = (k: string): boolean => o[k] !== undefined;
  const sources = [present('pfx') && 'pfx', (present('key') || present('certificate')) && 'key + certificate', present('credentials') && 'credentials'].filter(Boolean);
  if (sources.length === 0) throw invalidOption('pfx', 'give client credentials: pfx (+ passphrase), key + certificate, or credentials');
  if (sources.length > 1) throw invalidOption(present('pfx') ? 'pfx' : 'credentials', `give only one of pfx, key + certificate, credentials (got ${sources.join(' and ')})`);

  const passphrase = o['passphrase'];
  if (passphrase !== undefined && typeof passphrase !== 'string') throw invalidOption('passphrase', `must be a string, got ${describe(passphrase)}`);

  let source: CredentialSource;
  if (present('pfx')) {
    const pfx = pathPemOrBytes(o, 'pfx', 'a path or the PKCS#12 bytes');
    if (passphrase === undefined) throw invalidOption('passphrase', "is required with pfx (use '' for a file without a password)");
    source = { kind: 'pfx', pfx, passphrase };
  } else if (present('credentials')) {
    const c = o['credentials'];
    assertObject(c, 'credentials');
    rejectUnknownKeys(c, ['privateKey', 'certificate', 'caCertificates'], ' in credentials');
    const pk = c['privateKey'] as { type?: unknown; asymmetricKeyType?: unknown } | undefined;
    if (pk === null || typeof pk !== 'object' || pk.type !== 'private') throw invalidOption('credentials.privateKey', 'must be a private KeyObject');
    if (!(c['certificate'] instanceof Uint8Array) || c['certificate'].length === 0) throw invalidOption('credentials.certificate', 'must be the DER certificate (Uint8Array)');
    if (passphrase !== undefined) throw invalidOption('passphrase', 'is not used with credentials');
    source = { kind: 'loaded', credentials: { privateKey: c['privateKey'] as KeyObject, certificate: c['certificate'] } };
  } else {
    if (!present('key')) throw invalidOption('key', 'is required with certificate');
    if (!present('certificate')) throw invalidOption('certificate', 'is required with key');
    source = {
      kind: 'pem',
      key: pathPemOrBytes(o, 'key', 'a path, PEM text or DER bytes'),
      certificate: pathPemOrBytes(o, 'certificate', 'a path, PEM text or DER bytes'),
      passphrase,
    };
  }
  if (!present('serverCertificate')) throw invalidOption('serverCertificate', 'is required (the server certificate: a path, PEM text or DER bytes)');
  const serverCertificate = pathPemOrBytes(o, 'serverCertificate', 'a path, PEM text or DER bytes');
  return { source, serverCertificate };
}

export function validateTargetFields(o: Record<string, unknown>): NormalizedTarget {
  const host = o['host'];
  if (typeof host !== 'string' || host.trim() === '') throw invalidOption('host', `must be a host name or IP address, got ${describe(host)}`);
  const hostName = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (hostName === '' || /\s/.test(hostName) || hostName.length > 253) throw invalidOption('host', `is not a host name or IP address: ${describe(host)}`);

  const port = integerIn(o, 'port', 1, 65535);
  if (port === undefined) throw invalidOption('port', 'is required (an integer from 1 to 65535)');

  const protocol = o['protocol'] ?? 'tcp';
  if (protocol !== 'tcp' && protocol !== 'udp') throw invalidOption('protocol', `must be 'tcp' or 'udp', got ${describe(protocol)}`);

  const family = o['family'] ?? 0;
  if (family !== 0 && family !== 4 && family !== 6) throw invalidOption('family', `must be 4, 6 or 0, got ${describe(family)}`);

  const knockPort = integerIn(o, 'knockPort', 1, 65535);

  const sourceAddress = o['sourceAddress'];
  let sourceFamily = 0;
  if (sourceAddress !== undefined) {
    const bare = typeof sourceAddress === 'string' && sourceAddress.includes('%') ? sourceAddress.slice(0, sourceAddress.indexOf('%')) : sourceAddress;
    sourceFamily = typeof bare === 'string' ? isIP(bare) : 0;
    if (sourceFamily === 0) throw invalidOption('sourceAddress', `must be an IPv4 or IPv6 address, got ${describe(sourceAddress)}`);
  }
  const hostFamily = isIP(hostName);
  if (hostFamily !== 0 && family !== 0 && hostFamily !== family) throw invalidOption('family', `is ${family} but host ${hostName} is an IPv${hostFamily} address`);
  if (sourceFamily !== 0 && family !== 0 && sourceFamily !== family) throw invalidOption('sourceAddress', `is an IPv${sourceFamily} address but family is ${family}`);
  if (sourceFamily !== 0 && hostFamily !== 0 && sourceFamily !== hostFamily) {
    throw invalidOption('sourceAddress', `is an IPv${sourceFamily} address but host ${hostName} is IPv${hostFamily}`);
  }

  const verify = o['verify'] ?? true;
  if (typeof verify !== 'boolean') throw invalidOption('verify', `must be true or false, got ${describe(verify)}`);

  const timeout = o['timeout'] ?? DEFAULT_TIMEOUT_MS;
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 1 || timeout > MAX_TIMEOUT_MS) {
    throw invalidOption('timeout', `must be a number of milliseconds from 1 to ${MAX_TIMEOUT_MS}, got ${describe(timeout)}`);
  }
  const retries = integerIn(o, 'retries', 0, MAX_RETRIES) ?? DEFAULT_RETRIES;

  const signal = o['signal'];
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidOption('signal', `must be an AbortSignal, got ${describe(signal)}`);

  const grantSeconds = integerIn(o, 'grantSeconds', 1, MAX_GRANT_SECONDS);

  return {
    host: hostName,
    port,
    protocol,
    family: family === 0 && sourceFamily !== 0 ? (sourceFamily as 4 | 6) : family,
    knockPort,
    sourceAddress: sourceAddress as string | undefined,
    verify,
    timeout,
    retries,
    signal,
    grantSeconds,
  };
}

/** `createKnocker()` options. */
export function validateKnockerOptions(options: unknown): NormalizedKnockerOptions {
  assertObject(options, 'options');
  rejectUnknownKeys(options, KNOCKER_KEYS, ' (createKnocker takes pfx, passphrase, key, certificate, credentials, serverCertificate; give host, port etc. to knocker.knock())');
  return validateKnockerFields(options);
}

/** `Knocker.knock()` options. */
export function validateTargetOptions(options: unknown): NormalizedTarget {
  assertObject(options, 'options');
  rejectUnknownKeys(options, TARGET_KEYS, ' (knocker.knock() takes host, port, protocol, family, knockPort, sourceAddress, verify, timeout, retries, signal, grantSeconds)');
  return validateTargetFields(options);
}

/** `knock()` options: both sets. */
export function validateKnockOptions(options: unknown): { knocker: NormalizedKnockerOptions; target: NormalizedTarget } {
  assertObject(options, 'options');
  rejectUnknownKeys(options, [...KNOCKER_KEYS, ...TARGET_KEYS], '');
  return { target: validateTargetFields(options), knocker: validateKnockerFields(options) };
}
