/**
 * `SknockError`, the one base class of every error the sKnock packages throw. Every code
 * starts with `ERR_SKNOCK_` and means one thing across all packages: docs/ERRORS.md lists
 * them. Messages are for people and may change, codes never do.
 */

/**
 * The base of every sKnock error (`SknockProtocolError`, `SknockClientError`,
 * `SknockServerError`, …): `err instanceof SknockError` catches them all, and `code` says
 * what went wrong.
 */
export class SknockError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SknockError';
    this.code = code;
  }
}

/** True when `err` is any sKnock error, optionally with one given code. */
export function isSknockError(err: unknown, code?: string): err is SknockError {
  return err instanceof SknockError && (code === undefined || err.code === code);
}

