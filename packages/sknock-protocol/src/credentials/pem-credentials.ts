import { createPrivateKey, type KeyObject } from 'node:crypto';
import { DerReader } from '../der/der-reader.js';
import { TAG } from '../der/tags.js';
import { readCertificates } from '../x509/read-certificates.js';
import { SknockProtocolError } from '../errors/protocol-error.js';
import { decodePem, looksLikePem } from '../pem.js';
import type { Credentials } from '../types.js';
import { parseCertificates, selectCredentials, type CertificateInput } from './select-credentials.js';

/**
 * `Credentials` from a private key and certificates given as PEM text or DER bytes. The
 * key may be PKCS#8, SEC 1 (`EC PRIVATE KEY`, also with the traditional OpenSSL
 * encryption headers) or encrypted PKCS#8; node:crypto reads them all.
 */

export interface PemInput {
  readonly key: Uint8Array | string;
  readonly certificate: Uint8Array | string;
  readonly ca?: Uint8Array | string | readonly (Uint8Array | string)[];
  readonly passphrase?: string;
}

/** RFC 7468 §10–11 and OpenSSL's traditional labels. */
const KEY_BLOCK = /-----BEGIN ((?:ENCRYPTED |EC |RSA |DSA )?PRIVATE KEY)-----[\s\S]*?-----END \1-----/;
const CERTIFICATE_LABELS = new Set(['CERTIFICATE', 'X509 CERTIFICATE', 'TRUSTED CERTIFICATE']);

function badPassphrase(message: string, cause?: unknown): SknockProtocolError {
  return new SknockProtocolError('ERR_SKNOCK_BAD_PASSPHRASE', message, cause === undefined ? undefined : { cause });
}

function unreadableKey(cause: unknown): SknockProtocolError {
  return new SknockProtocolError('ERR_SKNOCK_UNSUPPORTED_KEY', 'key is not a private key node:crypto can read (PKCS#8 or SEC 1, PEM or DER)', { cause });
}

function readPemKey(text: string, passphrase: string | undefined): KeyObject {
  const block = KEY_BLOCK.exec(text);
  if (block === null) throw new SknockProtocolError('ERR_SKNOCK_MISSING_KEY', 'key holds no PEM PRIVATE KEY block');
  const encrypted = block[1] === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,\s*ENCRYPTED/.test(block[0]);
  if (encrypted && passphrase === undefined) throw badPassphrase('key is encrypted and no passphrase was given');
  try {
    return createPrivateKey({ key: block[0], format: 'pem', ...(encrypted ? { passphrase: passphrase as string } : {}) });
  } catch (cause) {
    throw encrypted ? badPassphrase('key did not decrypt: wrong passphrase', cause) : unreadableKey(cause);
  }
}

/** True when `der` has the shape of `EncryptedPrivateKeyInfo` (RFC 5958 §3). */
function isEncryptedPrivateKeyInfo(der: Uint8Array): boolean {
  try {
    const outer = new DerReader(der, 'ERR_SKNOCK_MALFORMED_DER', 0, der.length, 'ber');
    const info = outer.enter(TAG.SEQUENCE, 'EncryptedPrivateKeyInfo');
    if (!outer.atEnd) return false;
    info.next(TAG.SEQUENCE, 'encryptionAlgorithm');
    const data = info.next(undefined, 'encryptedData');
    return (data.tag === TAG.OCTET_STRING || data.tag === (TAG.OCTET_STRING | 0x20)) && info.atEnd;
  } catch {
    return false;
  }
}

function readDerKey(der: Buffer, passphrase: string | undefined): KeyObject {
  if (der.length === 0) throw new SknockProtocolError('ERR_SKNOCK_MISSING_KEY', 'key is empty');
  let firstError: unknown;
  for (const type of ['pkcs8', 'sec1'] as const) {
    try {
      return createPrivateKey({ key: der, format: 'der', type });
    } catch (cause) {
      firstError ??= cause;
    }
  }
  if (!isEncryptedPrivateKeyInfo(der)) throw unreadableKey(firstError);
  if (passphrase === undefined) throw badPassphrase('key is encrypted PKCS#8 and no passphrase was given');
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8', passphrase });
  } catch (cause) {
    throw badPassphrase('key did not decrypt: wrong passphrase', cause);
  }
}

export function readPrivateKey(input: Uint8Array | string, passphrase: string | undefined): KeyObject {
  if (typeof input === 'string') return readPemKey(input, passphrase);
  if (looksLikePem(input)) return readPemKey(Buffer.from(input).toString('latin1'), passphrase);
  return readDerKey(Buffer.from(input.buffer, input.byteOffset, input.byteLength), passphrase);
}

/** The certificates of the `certificate` option: empty or PEM without a certificate is a missing certificate. */
function readCertificateOption(input: Uint8Array | string): CertificateInput[] {
  const pem = !looksLikePem(input) ? undefined : typeof input === 'string' ? input : Buffer.from(input).toString('latin1');
  const none =
    pem === undefined
      ? (typeof input === 'string' ? input.trim() : input).length === 0
      : !decodePem(pem).some((b) => CERTIFICATE_LABELS.has(b.label));
  if (none) throw new SknockProtocolError('ERR_SKNOCK_MISSING_CERTIFICATE', 'certificate holds no certificate');
  const ders = readCertificates(input, 'certificate');
  return ders.map((der, i) => ({ der, label: ders.length === 1 ? 'certificate' : `certificate[${i}]` }));
}

function readCaOption(ca: PemInput['ca']): Uint8Array[] {
  if (ca === undefined) return [];
  if (typeof ca === 'string' || ca instanceof Uint8Array) return readCertificates(ca, 'ca');
  return ca.flatMap((item, i) => readCertificates(item, `ca[${i}]`));
}

export function loadPemCredentials(input: PemInput): Credentials {
  const key = readPrivateKey(input.key, input.passphrase);
  const certificates = readCertificateOption(input.certificate);
  const parsed = parseCertificates(certificates, 'ERR_SKNOCK_INVALID_CERTIFICATE');
  return selectCredentials('key and certificate', [key], certificates, parsed, readCaOption(input.ca));
}
