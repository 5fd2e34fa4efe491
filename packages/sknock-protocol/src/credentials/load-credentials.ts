import type { Credentials } from '../types.js';
import { SknockProtocolError } from '../errors.js';

/** Load from a PKCS#12 file (legacy RC2/3DES/SHA-1 MAC, or PBES2/AES/SHA-256 MAC). */
export interface Pkcs12CredentialOptions {
  readonly pfx: Uint8Array;
  readonly passphrase: string;
}

/** Load from a private key and certificate, PEM text or DER bytes. */
export interface PemCredentialOptions {
  /** PKCS#8 or SEC 1 EC private key, PEM or DER (encrypted PKCS#8 needs `passphrase`). */
  readonly key: Uint8Array | string;
  /** The certificate; PEM may hold the whole chain (end-entity first). */
  readonly certificate: Uint8Array | string;
  /** Further certificates (CA, intermediates): PEM (one or many) or DER, or a list of them. */
  readonly ca?: Uint8Array | string | readonly (Uint8Array | string)[];
  readonly passphrase?: string;
}

export type LoadCredentialsOptions = Pkcs12CredentialOptions | PemCredentialOptions;

/** STUB: replaced by the PKCS#12 work (issue 2). */
export async function loadCredentials(_options: LoadCredentialsOptions): Promise<Credentials> {
  throw new SknockProtocolError('ERR_SKNOCK_UNSUPPORTED_PKCS12', 'loadCredentials: not implemented yet');
}
