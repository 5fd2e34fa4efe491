/**
 * The errors `createServer` and `sknock-server` throw. Callers `switch (err.code)`;
 * messages are for people and may change, codes never do. (A bad config key is a
 * `SknockConfigError`, code `ERR_SKNOCK_CONFIG`, from src/config/errors.ts; a rejected knock
 * is never an error, it is a `reject` event with a `RejectCode`.)
 */

import { SknockError } from '@sknock/protocol/errors';

export type SknockServerErrorCode =
  /** An option of `createServer` is missing or has the wrong type or range; the message names it. */
  | 'ERR_SKNOCK_INVALID_ARGUMENT'
  /** The server's PKCS#12 file cannot be read or opened with the password, or holds no P-256 key. */
  | 'ERR_SKNOCK_SERVER_CREDENTIALS'
  /** The firewall back end is unavailable or its setup failed. */
  | 'ERR_SKNOCK_FIREWALL'
  /**
   * Another live sknock-server (or another back end in this process) owns the firewall table
   * or chains in this network namespace: one daemon per namespace. Nothing was changed.
   */
  | 'ERR_SKNOCK_FIREWALL_IN_USE'
  /** The knock socket could not be bound (address in use, address not local, no permission). */
  | 'ERR_SKNOCK_BIND'
  /** `start()` while started, `reload()` while stopped, or a start that was stopped half-way. */
  | 'ERR_SKNOCK_STATE';

export class SknockServerError extends SknockError {
  declare readonly code: SknockServerErrorCode;

  constructor(code: SknockServerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'SknockServerError';
  }
}

/** True when `err` is a server error, optionally with one given code. */
export function isSknockServerError(err: unknown, code?: SknockServerErrorCode): err is SknockServerError {
  return err instanceof SknockServerError && (code === undefined || err.code === code);
}
