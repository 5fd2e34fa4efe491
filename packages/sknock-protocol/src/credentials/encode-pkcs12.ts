import type { KeyObject } from 'node:crypto';
import { SknockProtocolError } from '../errors.js';

export interface EncodePkcs12Options {
  readonly privateKey: KeyObject;
  /** End-entity certificate, DER. */
  readonly certificate: Uint8Array;
  /** CA and intermediate certificates, DER. */
  readonly caCertificates?: readonly Uint8Array[];
  readonly passphrase: string;
  /**
   * `false` (default): PBES2 (PBKDF2-HMAC-SHA256 + AES-256-CBC) bags and a SHA-256 MAC, as
   * OpenSSL 3 writes. `true`: the legacy form OpenSSL 1.x wrote and sKnock 1.0.0 reads
   * (RC2-40 certificate bag, 3DES key bag, SHA-1 MAC).
   */
  readonly legacy?: boolean;
  /** friendlyName attribute of the key and certificate bags. */
  readonly friendlyName?: string;
}

/** STUB: replaced by the PKCS#12 work (issue 2). */
export async function encodePkcs12(_options: EncodePkcs12Options): Promise<Uint8Array> {
  throw new SknockProtocolError('ERR_SKNOCK_UNSUPPORTED_PKCS12', 'encodePkcs12: not implemented yet');
}
