import { X509Certificate, type KeyObject } from 'node:crypto';
import { readCertificate } from '@sknock/protocol';
import { DEFAULT_CA_VALIDITY_DAYS } from './constants.js';
import { SknockCaError, invalidArgument } from './errors.js';
import { assertP256, generateP256KeyPair, keyIdentifier, readPrivateKey, signingKeyFor } from './keys.js';
import { checkCommonName, commonNameSubject } from './names.js';
import { randomSerial, serialToEvenHex } from './serial.js';
import { resolveValidity, type ValidityOptions } from './validity.js';
import { x509 } from './x509.js';

/**
 * The certificate authority itself: a P-256 key and a self-signed CA certificate
 * (basicConstraints CA, critical; keyUsage keyCertSign + cRLSign; subject key identifier).
 */

/** An in-memory CA: what every issuing function takes first. */
export interface CertificateAuthority {
  /** The CA's commonName (its whole subject DN when it has none). */
  readonly name: string;
  /** The CA's EC P-256 private key. */
  readonly privateKey: KeyObject;
  /** The CA certificate, DER. */
  readonly certificate: Uint8Array;
  /** Its subject key identifier: the authority key identifier of everything it signs. */
  readonly keyIdentifier: Uint8Array;
  /** The CA certificate's serial, lowercase hex. */
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export interface CreateCaOptions extends Pick<ValidityOptions, 'validityDays'> {
  /** The CA's commonName, e.g. `Example Knock CA` (1–64 characters). */
  readonly name: string;
}

export interface LoadCaOptions {
  /**
   * The CA private key: PKCS#8 or SEC 1, PEM text or DER bytes; unencrypted, or encrypted
   * (PKCS#8 `ENCRYPTED PRIVATE KEY`, as `sknock-ca init` writes it) with `passphrase`.
   */
  readonly key: Uint8Array | string;
  /** The passphrase of an encrypted `key` (`ERR_SKNOCK_CA_PASSPHRASE` without, `ERR_SKNOCK_CA_BAD_PASSPHRASE` when wrong). */
  readonly passphrase?: string;
  /** The CA certificate: PEM text or DER bytes. */
  readonly certificate: Uint8Array | string;
}

export const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** Makes a new CA: fresh P-256 key, self-signed certificate. */
export async function createCa(options: CreateCaOptions): Promise<CertificateAuthority> {
  if (options === null || typeof options !== 'object') throw invalidArgument('createCa options must be an object');
  const name = checkCommonName(options.name, 'name');
  const { notBefore, notAfter } = resolveValidity({ validityDays: options.validityDays }, DEFAULT_CA_VALIDITY_DAYS);
  const keys = generateP256KeyPair();
  const keyId = keyIdentifier(keys.publicKey);
  const subject = commonNameSubject(name);
  const serial = randomSerial();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialToEvenHex(serial),
    subject,
    issuer: subject,
    notBefore,
    notAfter,
    publicKey: keys.spki,
    signingKey: await signingKeyFor(keys.privateKey),
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.SubjectKeyIdentifierExtension(Buffer.from(keyId).toString('hex')),
    ],
  });
  return { name, privateKey: keys.privateKey, certificate: new Uint8Array(cert.rawData), keyIdentifier: keyId, serial, notBefore, notAfter };
}

/** What a CA certificate says of its CA: everything of a `CertificateAuthority` but the key. */
export type CaCertificateInfo = Omit<CertificateAuthority, 'privateKey'>;

/** A CA certificate (PEM text or DER bytes), checked to be a P-256 CA certificate. */
export function readCaCertificate(certificate: Uint8Array | string): CaCertificateInfo {
  let der: Uint8Array;
  let node: X509Certificate;
  try {
    der = readCertificate(certificate, 'CA certificate');
    node = new X509Certificate(der);
  } catch (cause) {
    throw new SknockCaError('ERR_SKNOCK_CA_INVALID_CA', 'the CA certificate is not a readable X.509 certificate', { cause });
  }
  if (!node.ca) throw new SknockCaError('ERR_SKNOCK_CA_INVALID_CA', `the certificate of ${node.subject} is not a CA certificate (basicConstraints CA is not set)`);
  assertP256(node.publicKey, 'the CA certificate key');
  const cert = new x509.X509Certificate(der);
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  const cn = cert.subjectName.getField('CN')[0];
  return {
    name: cn ?? cert.subject,
    certificate: der,
    keyIdentifier: ski === null ? keyIdentifier(node.publicKey) : new Uint8Array(Buffer.from(ski.keyId, 'hex')),
    serial: cert.serialNumber.toLowerCase().replace(/^0+(?=.)/, ''),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  };
}

/** A CA from its key and certificate (as a `sknock-ca` folder keeps them), checked to match. */
export async function loadCa(options: LoadCaOptions): Promise<CertificateAuthority> {
  if (options === null || typeof options !== 'object') throw invalidArgument('loadCa options must be an object');
  if (options.passphrase !== undefined && typeof options.passphrase !== 'string') throw invalidArgument('loadCa passphrase must be a string');
  const info = readCaCertificate(options.certificate);
  const privateKey = readPrivateKey(options.key, 'the CA key', options.passphrase);
  return withKey(info, privateKey);
}

/** `info` with its private key, checked to belong to its certificate. */
export function withKey(info: CaCertificateInfo, privateKey: KeyObject): CertificateAuthority {
  if (!new X509Certificate(info.certificate).checkPrivateKey(privateKey)) {
    throw new SknockCaError('ERR_SKNOCK_CA_UNSUPPORTED_KEY', 'the CA key does not belong to the CA certificate');
  }
  return { ...info, privateKey };
}

/** Checks that `ca` looks like a `CertificateAuthority` (argument validation at the boundary). */
export function checkCa(ca: unknown): CertificateAuthority {
  const c = ca as Partial<CertificateAuthority> | null;
  if (c === null || typeof c !== 'object' || !(c.certificate instanceof Uint8Array) || c.privateKey === undefined || !(c.keyIdentifier instanceof Uint8Array)) {
    throw invalidArgument('ca must be a CertificateAuthority from createCa() or loadCa()');
  }
  if (!(c.notAfter instanceof Date)) throw invalidArgument('ca.notAfter must be a Date');
  return c as CertificateAuthority;
}
