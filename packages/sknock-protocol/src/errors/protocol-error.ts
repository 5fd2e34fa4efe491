import { SknockError } from './sknock-error.js';

/**
 * The protocol package's error class and the union of its codes. Callers `switch (err.code)`;
 * messages are for people and may change, codes never do. Every code starts with
 * `ERR_SKNOCK_` and means one thing across all packages: docs/ERRORS.md lists them.
 */

export type SknockProtocolErrorCode =
  /** An option or argument is missing or has the wrong type or range; the message names it. */
  | 'ERR_SKNOCK_INVALID_ARGUMENT'
  /** The datagram is shorter than any knock can be, or longer than a UDP datagram. */
  | 'ERR_SKNOCK_PACKET_LENGTH'
  /** Byte 0 is not `0x61`: this is not a knock. */
  | 'ERR_SKNOCK_BAD_MAGIC'
  /** The version is newer than 1.0.0. */
  | 'ERR_SKNOCK_UNSUPPORTED_VERSION'
  /** Decryption failed: bad point, bad block length or bad padding (one message for all). */
  | 'ERR_SKNOCK_DECRYPT_FAILED'
  /** The decrypted request does not frame: leading byte, signature length or slot. */
  | 'ERR_SKNOCK_MALFORMED_REQUEST'
  /** A certificate is not parseable DER/PEM X.509. */
  | 'ERR_SKNOCK_INVALID_CERTIFICATE'
  /** The client certificate would make the datagram larger than 1232 bytes. */
  | 'ERR_SKNOCK_CERTIFICATE_TOO_LARGE'
  /** A key is not an EC P-256 key (or not a key at all). */
  | 'ERR_SKNOCK_UNSUPPORTED_KEY'
  /** The private key does not belong to the certificate. */
  | 'ERR_SKNOCK_KEY_MISMATCH'
  /** The PKCS#12 MAC did not verify with this password (or a bag did not decrypt). */
  | 'ERR_SKNOCK_BAD_PASSPHRASE'
  /** The PKCS#12 file is truncated or is not PKCS#12. */
  | 'ERR_SKNOCK_MALFORMED_PKCS12'
  /** The PKCS#12 file (or PEM input) holds no private key. */
  | 'ERR_SKNOCK_MISSING_KEY'
  /** The PKCS#12 file (or PEM input) holds no certificate for the key. */
  | 'ERR_SKNOCK_MISSING_CERTIFICATE'
  /** The PKCS#12 file uses an algorithm this package does not implement. */
  | 'ERR_SKNOCK_UNSUPPORTED_PKCS12'
  /** The sKnock grant otherName or its string is malformed. */
  | 'ERR_SKNOCK_MALFORMED_GRANTS'
  /** A STUN message (`@sknock/protocol/stun`) is truncated, not a Binding response, or breaks RFC 8489. */
  | 'ERR_SKNOCK_MALFORMED_STUN'
  /** DER (`@sknock/protocol/der`) is truncated, has a wrong tag or a length past its container. */
  | 'ERR_SKNOCK_MALFORMED_DER';

export class SknockProtocolError extends SknockError {
  declare readonly code: SknockProtocolErrorCode;

  constructor(code: SknockProtocolErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'SknockProtocolError';
  }
}

/** True when `err` is a protocol error, optionally with one given code. */
export function isSknockProtocolError(
  err: unknown,
  code?: SknockProtocolErrorCode,
): err is SknockProtocolError {
  return err instanceof SknockProtocolError && (code === undefined || err.code === code);
}
