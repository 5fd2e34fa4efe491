import type { Credentials } from '../types.js';
import { SknockProtocolError, isSknockProtocolError } from '../errors/protocol-error.js';
import { MAX_PFX_LENGTH } from './constants.js';
import { loadPemCredentials } from './pem-credentials.js';
import { loadPkcs12Credentials } from './pkcs12-credentials.js';

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

function invalid(message: string): SknockProtocolError {
  return new SknockProtocolError('ERR_SKNOCK_INVALID_ARGUMENT', message);
}

function isBytesOrText(v: unknown): v is Uint8Array | string {
  return typeof v === 'string' || v instanceof Uint8Array;
}

/**
 * Loads an EC P-256 key and its certificate chain, from PKCS#12 (`{ pfx, passphrase }`)
 * or from PEM/DER (`{ key, certificate, ca?, passphrase? }`). The end-entity certificate
 * is the one that belongs to the key; the others come back as `caCertificates`.
 *
 * Every failure is a `SknockProtocolError`: `ERR_SKNOCK_INVALID_ARGUMENT`,
 * `…_BAD_PASSPHRASE`, `…_MALFORMED_PKCS12`, `…_UNSUPPORTED_PKCS12`, `…_MISSING_KEY`,
 * `…_MISSING_CERTIFICATE`, `…_UNSUPPORTED_KEY`, `…_KEY_MISMATCH`, `…_INVALID_CERTIFICATE`.
 */
export async function loadCredentials(options: LoadCredentialsOptions): Promise<Credentials> {
  if (typeof options !== 'object' || options === null) throw invalid('loadCredentials: options must be an object');
  const o = options as unknown as Record<string, unknown>;
  if (o['pfx'] !== undefined) {
    if (o['key'] !== undefined || o['certificate'] !== undefined) throw invalid('loadCredentials: give pfx, or key and certificate, not both');
    const pfx = o['pfx'];
    if (!(pfx instanceof Uint8Array)) throw invalid('pfx must be a Uint8Array holding the PKCS#12 file');
    if (typeof o['passphrase'] !== 'string') throw invalid('passphrase must be a string (the PKCS#12 password)');
    if (pfx.length > MAX_PFX_LENGTH) throw new SknockProtocolError('ERR_SKNOCK_MALFORMED_PKCS12', `pfx is ${pfx.length} bytes, more than any credential file (${MAX_PFX_LENGTH})`);
    return guarded('ERR_SKNOCK_MALFORMED_PKCS12', 'pfx could not be read', () => loadPkcs12Credentials(pfx, o['passphrase'] as string));
  }
  if (o['key'] === undefined) throw invalid('loadCredentials: options need pfx and passphrase, or key and certificate');
  const { key, certificate, ca, passphrase } = o;
  if (!isBytesOrText(key)) throw invalid('key must be PEM text or DER bytes');
  if (!isBytesOrText(certificate)) throw invalid('certificate must be PEM text or DER bytes');
  if (ca !== undefined && !isBytesOrText(ca) && !(Array.isArray(ca) && ca.every(isBytesOrText))) {
    throw invalid('ca must be PEM text, DER bytes, or a list of them');
  }
  if (passphrase !== undefined && typeof passphrase !== 'string') throw invalid('passphrase must be a string');
  return guarded('ERR_SKNOCK_INVALID_ARGUMENT', 'key or certificate could not be read', () =>
    loadPemCredentials({ key, certificate, ca: ca as PemCredentialOptions['ca'], passphrase: passphrase as string | undefined }),
  );
}

/** Runs `load`; anything but a protocol error (a bug, or a dependency's surprise) becomes one. */
function guarded(code: 'ERR_SKNOCK_MALFORMED_PKCS12' | 'ERR_SKNOCK_INVALID_ARGUMENT', message: string, load: () => Credentials): Credentials {
  try {
    return load();
  } catch (err) {
    if (isSknockProtocolError(err)) throw err;
    throw new SknockProtocolError(code, message, { cause: err });
  }
}
