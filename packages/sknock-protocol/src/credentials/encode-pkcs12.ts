import { createHash, KeyObject, X509Certificate } from 'node:crypto';
import { SknockProtocolError, isSknockProtocolError } from '../errors/protocol-error.js';
import { assertP256Key } from '../p256.js';
import { MAX_ITERATIONS } from './constants.js';
import { buildPkcs12 } from './pkcs12-encode.js';

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
  /** Iterations of every key derivation and of the MAC (default 2048, as OpenSSL). */
  readonly iterations?: number;
}

function invalid(message: string): SknockProtocolError {
  return new SknockProtocolError('ERR_SKNOCK_INVALID_ARGUMENT', message);
}

function parseCertificate(der: unknown, argument: string): X509Certificate {
  if (!(der instanceof Uint8Array)) throw invalid(`${argument} must be DER bytes (Uint8Array)`);
  try {
    return new X509Certificate(der);
  } catch (cause) {
    throw new SknockProtocolError('ERR_SKNOCK_INVALID_CERTIFICATE', `${argument} is not a readable X.509 certificate`, { cause });
  }
}

/**
 * A PKCS#12 file holding `privateKey`, `certificate` and `caCertificates`, encrypted and
 * MACed under `passphrase`: PBES2/AES-256/SHA-256 by default, the OpenSSL 1.x legacy form
 * with `legacy: true`. Both bags carry `localKeyId` (SHA-1 of the certificate, as OpenSSL
 * writes it) and `friendlyName` when given.
 */
export async function encodePkcs12(options: EncodePkcs12Options): Promise<Uint8Array> {
  if (typeof options !== 'object' || options === null) throw invalid('encodePkcs12: options must be an object');
  const { privateKey, certificate, caCertificates = [], passphrase, legacy = false, friendlyName, iterations } = options;
  if (!(privateKey instanceof KeyObject) || privateKey.type !== 'private') throw invalid('privateKey must be a private KeyObject');
  assertP256Key(privateKey, 'private', 'privateKey');
  const cert = parseCertificate(certificate, 'certificate');
  if (!Array.isArray(caCertificates)) throw invalid('caCertificates must be a list of DER certificates');
  caCertificates.forEach((c, i) => parseCertificate(c, `caCertificates[${i}]`));
  if (typeof passphrase !== 'string') throw invalid('passphrase must be a string');
  if (typeof legacy !== 'boolean') throw invalid('legacy must be a boolean');
  if (friendlyName !== undefined && typeof friendlyName !== 'string') throw invalid('friendlyName must be a string');
  if (iterations !== undefined && (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS)) {
    throw invalid(`iterations must be an integer from 1 to ${MAX_ITERATIONS}`);
  }
  if (!cert.checkPrivateKey(privateKey)) throw new SknockProtocolError('ERR_SKNOCK_KEY_MISMATCH', 'certificate does not belong to privateKey');
  try {
    return buildPkcs12({
      pkcs8: new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' })),
      certificate: Uint8Array.from(certificate),
      caCertificates: caCertificates.map((c) => Uint8Array.from(c)),
      passphrase,
      legacy,
      localKeyId: new Uint8Array(createHash('sha1').update(certificate).digest()),
      ...(friendlyName === undefined ? {} : { friendlyName }),
      ...(iterations === undefined ? {} : { iterations }),
    });
  } catch (err) {
    if (isSknockProtocolError(err)) throw err;
    throw new SknockProtocolError('ERR_SKNOCK_INVALID_ARGUMENT', 'encodePkcs12 could not encode these credentials', { cause: err });
  }
}
