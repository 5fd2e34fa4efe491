import { SknockProtocolError } from '@sknock/protocol';
import { SknockError } from '@sknock/protocol/errors';

/**
 * The client package's one error class and the union of its codes. `knock()`, `connect()`,
 * `tlsConnect()`, `createKnocker()` and the knocker's methods reject only with
 * `SknockClientError`; callers `switch (err.code)`. Messages are for people and may change, codes never do.
 */

export type SknockClientErrorCode =
  /** An option is missing, unknown, or has the wrong type or range; `option` names it. */
  | 'ERR_SKNOCK_INVALID_ARGUMENT'
  /** A file named by an option does not exist; the message names the option and path. */
  | 'ERR_SKNOCK_FILE_NOT_FOUND'
  /** A file named by an option exists but cannot be read (permissions, a directory, too large). */
  | 'ERR_SKNOCK_FILE_UNREADABLE'
  /**
   * The client credentials do not load: wrong passphrase, not PKCS#12/PEM, no key, key and
   * certificate do not match, not P-256, certificate too large for one datagram. `cause` is
   * the `SknockProtocolError` when the protocol package found it (its `code` says which).
   */
  | 'ERR_SKNOCK_CREDENTIALS'
  /** The client certificate is outside its validity period (expired or not yet valid). */
  | 'ERR_SKNOCK_CERTIFICATE_EXPIRED'
  /** The client certificate does not grant the protocol/port asked for; no knock was sent. */
  | 'ERR_SKNOCK_NOT_GRANTED'
  /** The server certificate is not a readable X.509 certificate with a P-256 key. */
  | 'ERR_SKNOCK_SERVER_CERTIFICATE'
  /** `host` did not resolve to an address (of the family asked for). */
  | 'ERR_SKNOCK_RESOLVE_FAILED'
  /** The knock datagram could not be sent (no route, refused by a local firewall, ...). */
  | 'ERR_SKNOCK_SEND_FAILED'
  /** Every knock was sent and the port never answered; `attempts` says how many knocks. */
  | 'ERR_SKNOCK_PORT_NOT_OPENED'
  /**
   * `timeout` ran out before the first knock was sent (name resolution or finding the
   * source address took too long). Once a knock has gone out, running out of time ends
   * the last try and the call rejects with `ERR_SKNOCK_PORT_NOT_OPENED` instead.
   */
  | 'ERR_SKNOCK_TIMEOUT'
  /** `signal` was aborted; `cause` is the signal's reason. */
  | 'ERR_SKNOCK_ABORTED'
  /**
   * `tlsConnect()`: the port opened and the TCP connection stands, but the TLS handshake over
   * it failed or did not finish in time; `cause` is the TLS error. The connection is closed.
   */
  | 'ERR_SKNOCK_TLS_FAILED'
  /**
   * The profile file (`profile` option, `sknock` without flags) has an error: a line that is
   * not INI, an unknown key (with a suggestion), a bad value. `path`, `line` and `key` say where.
   */
  | 'ERR_SKNOCK_PROFILE_INVALID'
  /** `profile: 'name'` names no section of the profile file, or `profile: true` finds none for the host. */
  | 'ERR_SKNOCK_PROFILE_NOT_FOUND'
  /**
   * `sourceAddress: 'auto'`: the STUN server gave no usable answer (no answer after its
   * retransmits, an error response, port unreachable, only malformed answers).
   */
  | 'ERR_SKNOCK_STUN_FAILED';

export interface SknockClientErrorDetails {
  readonly cause?: unknown;
  /** The option at fault (`ERR_SKNOCK_INVALID_ARGUMENT`, file and credential errors). */
  readonly option?: string;
  /** The path at fault (file errors). */
  readonly path?: string;
  /** Knocks sent before the call failed (port-not-opened, timeout, abort). */
  readonly attempts?: number;
  /** 1-based line of `path` at fault (profile file errors). */
  readonly line?: number;
  /** The key of the profile file at fault, as written there (profile file errors). */
  readonly key?: string;
}

export class SknockClientError extends SknockError {
  declare readonly code: SknockClientErrorCode;
  readonly option: string | undefined;
  readonly path: string | undefined;
  readonly attempts: number | undefined;
  readonly line: number | undefined;
  readonly key: string | undefined;

  constructor(code: SknockClientErrorCode, message: string, details: SknockClientErrorDetails = {}) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'SknockClientError';
    this.option = details.option;
    this.path = details.path;
    this.attempts = details.attempts;
    this.line = details.line;
    this.key = details.key;
  }
}

/** True when `err` is a client error, optionally with one given code. */
export function isSknockClientError(err: unknown, code?: SknockClientErrorCode): err is SknockClientError {
  return err instanceof SknockClientError && (code === undefined || err.code === code);
}

/** `ERR_SKNOCK_INVALID_ARGUMENT` naming `option`. */
export function invalidOption(option: string, message: string): SknockClientError {
  return new SknockClientError('ERR_SKNOCK_INVALID_ARGUMENT', `${option}: ${message}`, { option });
}

/** Any failure as a client error: a protocol error while building the packet is a credentials problem. */
export function toClientError(err: unknown): SknockClientError {
  if (err instanceof SknockClientError) return err;
  if (err instanceof SknockProtocolError) {
    return new SknockClientError('ERR_SKNOCK_CREDENTIALS', `cannot build the knock: ${err.message} [${err.code}]`, { cause: err });
  }
  return new SknockClientError('ERR_SKNOCK_SEND_FAILED', `unexpected failure: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}
