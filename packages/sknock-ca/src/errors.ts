import { SknockError } from '@sknock/protocol/errors';

/**
 * The CA's one error class (a `SknockError`, docs/ERRORS.md) and the union of its codes. Callers `switch (err.code)`;
 * messages are for people and may change, codes never do.
 */

export type SknockCaErrorCode =
  /** An option or argument is missing, of the wrong type or out of range; the message names it. */
  | 'ERR_SKNOCK_CA_INVALID_ARGUMENT'
  /** A `tcp/22`-style grant (or a grant object) is malformed. */
  | 'ERR_SKNOCK_CA_INVALID_GRANT'
  /** notBefore/notAfter are inverted, or the certificate would outlive its CA. */
  | 'ERR_SKNOCK_CA_INVALID_VALIDITY'
  /** The client certificate would make a knock datagram larger than 1232 bytes. */
  | 'ERR_SKNOCK_CA_CERTIFICATE_TOO_LARGE'
  /** A CSR does not parse, or its self-signature does not verify. */
  | 'ERR_SKNOCK_CA_INVALID_CSR'
  /** A key (CA key, CSR key) is not EC P-256, or does not match its certificate. */
  | 'ERR_SKNOCK_CA_UNSUPPORTED_KEY'
  /** A CA certificate is not a CA certificate, or does not parse. */
  | 'ERR_SKNOCK_CA_INVALID_CA'
  /** `init` found a CA already in the folder. */
  | 'ERR_SKNOCK_CA_EXISTS'
  /** The folder holds no CA (`init` it first). */
  | 'ERR_SKNOCK_CA_NOT_FOUND'
  /** The folder's index or CRL number file is unreadable. */
  | 'ERR_SKNOCK_CA_CORRUPT_STORE'
  /** Another `sknock-ca` holds the folder's lock. */
  | 'ERR_SKNOCK_CA_LOCKED'
  /** An output file exists already (pass `force` to replace it). */
  | 'ERR_SKNOCK_CA_FILE_EXISTS'
  /** No certificate with this serial was issued by this CA. */
  | 'ERR_SKNOCK_CA_UNKNOWN_SERIAL'
  /** The certificate is revoked already. */
  | 'ERR_SKNOCK_CA_ALREADY_REVOKED'
  /** The certificate was not issued by this CA. */
  | 'ERR_SKNOCK_CA_FOREIGN_CERTIFICATE'
  /** No passphrase could be had (no option, no terminal, an encrypted key without one), or the two entries differ. */
  | 'ERR_SKNOCK_CA_PASSPHRASE'
  /** The encrypted CA key does not open with the passphrase given. */
  | 'ERR_SKNOCK_CA_BAD_PASSPHRASE'
  /**
   * A certificate would be valid past 2049 (GeneralizedTime dates), which sKnock 1.0.0
   * servers cannot read, while it was asked for in the form they read (`legacy`).
   */
  | 'ERR_SKNOCK_CA_AFTER_2049'
  /** Writing PKCS#12 failed (the protocol package's encoder refused). */
  | 'ERR_SKNOCK_CA_PKCS12'
  /** Reading or writing a file failed; the message names the path. */
  | 'ERR_SKNOCK_CA_IO';

/** Codes of the warnings issuing functions return (`warnings` of their result): the certificate was made. */
export type SknockCaWarningCode =
  /** The certificate is valid past 2049 (GeneralizedTime dates), which sKnock 1.0.0 cannot read. */
  'WARN_SKNOCK_CA_AFTER_2049';

/** Something about a certificate just made that its holder should know. */
export interface SknockCaWarning {
  readonly code: SknockCaWarningCode;
  readonly message: string;
}

export class SknockCaError extends SknockError {
  declare readonly code: SknockCaErrorCode;

  constructor(code: SknockCaErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'SknockCaError';
  }
}

/** True when `err` is a CA error, optionally with one given code. */
export function isSknockCaError(err: unknown, code?: SknockCaErrorCode): err is SknockCaError {
  return err instanceof SknockCaError && (code === undefined || err.code === code);
}

/** `ERR_SKNOCK_CA_INVALID_ARGUMENT` with `message`. */
export function invalidArgument(message: string): SknockCaError {
  return new SknockCaError('ERR_SKNOCK_CA_INVALID_ARGUMENT', message);
}
