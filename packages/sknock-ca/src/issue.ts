import type { KeyObject } from 'node:crypto';
import { encodePkcs12, type PortGrant } from '@sknock/protocol';
import { checkCa, type CertificateAuthority } from './authority.js';
import { checkMinimumDatagramLength, signClientCertificate } from './client-certificate.js';
import { DEFAULT_CLIENT_VALIDITY_DAYS, DEFAULT_SERVER_VALIDITY_DAYS } from './constants.js';
import { after2049Warnings } from './after-2049.js';
import { SknockCaError, invalidArgument, type SknockCaWarning } from './errors.js';
import { checkGrants } from './grant-spec.js';
import { generateP256KeyPair, keyIdentifier } from './keys.js';
import { checkCommonName, commonNameSubject, serverAltName } from './names.js';
import { signCertificate } from './sign-certificate.js';
import { resolveValidity, type ValidityOptions } from './validity.js';
import { x509 } from './x509.js';

/** Issuing server and client certificates, each with a fresh P-256 key. */

/** Ask for a PKCS#12 file too (`encodePkcs12` of the protocol package). */
export interface Pkcs12Request {
  readonly passphrase: string;
  /** `true`: the legacy RC2/3DES/SHA-1 form sKnock 1.0.0 reads; default PBES2 (AES-256, SHA-256). */
  readonly legacy?: boolean;
  /** friendlyName of the bags; default the certificate's name. */
  readonly friendlyName?: string;
}

export interface IssueServerOptions extends ValidityOptions {
  /**
   * Validity past 2049 is meant: no `WARN_SKNOCK_CA_AFTER_2049`, and no
   * `ERR_SKNOCK_CA_AFTER_2049` with `pkcs12.legacy` (sKnock 1.0.0 cannot read such dates).
   */
  readonly allowAfter2049?: boolean;
  /** The server's commonName; a host name or IP address also becomes its subjectAltName. */
  readonly name: string;
  /** Also make a PKCS#12 file (key, certificate, CA certificate). */
  readonly pkcs12?: Pkcs12Request;
}

export interface IssueClientOptions extends ValidityOptions {
  /** As for `issueServerCertificate`. */
  readonly allowAfter2049?: boolean;
  /** The client's commonName, e.g. `alice`. */
  readonly name: string;
  /** Ports the certificate lets its holder open (repeats are dropped). */
  readonly grants: readonly PortGrant[];
  /**
   * Pad the certificate so that a knock is at least this many bytes. Default 758, the
   * shortest knock an sKnock 1.0.0 server sees over IPv4 (PROTOCOL.md "Sizes"); 0: no padding.
   */
  readonly minimumDatagramLength?: number;
  /** Also make a PKCS#12 file (key, certificate, CA certificate). */
  readonly pkcs12?: Pkcs12Request;
}

export interface IssuedCertificate {
  /** The new EC P-256 private key. */
  readonly privateKey: KeyObject;
  /** The certificate, DER. */
  readonly certificate: Uint8Array;
  /** Its serial, lowercase hex. */
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** PKCS#12 (key, certificate, CA certificate) when `pkcs12` was asked for. */
  readonly pfx?: Uint8Array;
  /** What the holder should know (`WARN_SKNOCK_CA_AFTER_2049`); usually none. */
  readonly warnings: readonly SknockCaWarning[];
}

export interface IssuedClientCertificate extends IssuedCertificate {
  readonly grants: readonly PortGrant[];
  /** Length of every knock datagram made with this certificate. */
  readonly datagramLength: number;
}

function checkOptions(options: unknown, what: string): void {
  if (options === null || typeof options !== 'object') throw invalidArgument(`${what} options must be an object`);
}

function checkPkcs12(request: Pkcs12Request | undefined): void {
  if (request === undefined) return;
  if (request === null || typeof request !== 'object') throw invalidArgument('pkcs12 must be an object { passphrase, legacy? }');
  if (typeof request.passphrase !== 'string' || request.passphrase === '') throw invalidArgument('pkcs12.passphrase must be a non-empty string');
  if (request.legacy !== undefined && typeof request.legacy !== 'boolean') throw invalidArgument('pkcs12.legacy must be a boolean');
}

/** PKCS#12 of key + certificate + CA certificate, through the protocol package's encoder. */
export async function makePkcs12(
  ca: CertificateAuthority,
  privateKey: KeyObject,
  certificate: Uint8Array,
  request: Pkcs12Request,
  name: string,
): Promise<Uint8Array> {
  try {
    return await encodePkcs12({
      privateKey,
      certificate,
      caCertificates: [ca.certificate],
      passphrase: request.passphrase,
      legacy: request.legacy ?? false,
      friendlyName: request.friendlyName ?? name,
    });
  } catch (cause) {
    throw new SknockCaError('ERR_SKNOCK_CA_PKCS12', `could not write the PKCS#12 file: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/**
 * A server certificate: P-256 key, keyUsage digitalSignature + keyAgreement (the key
 * decrypts knocks by ECDH), extKeyUsage serverAuth, subjectAltName for a host name or address.
 */
export async function issueServerCertificate(ca: CertificateAuthority, options: IssueServerOptions): Promise<IssuedCertificate> {
  checkCa(ca);
  checkOptions(options, 'issueServerCertificate');
  const name = checkCommonName(options.name, 'name');
  checkPkcs12(options.pkcs12);
  const validity = resolveValidity(options, DEFAULT_SERVER_VALIDITY_DAYS, ca.notAfter);
  const warnings = after2049Warnings(validity, 'the server certificate', { legacy: options.pkcs12?.legacy, allowAfter2049: options.allowAfter2049 });
  const keys = generateP256KeyPair();
  const altName = serverAltName(name);
  const extensions: x509.Extension[] = [
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
    ...(altName === undefined ? [] : [altName]),
    new x509.SubjectKeyIdentifierExtension(Buffer.from(keyIdentifier(keys.publicKey)).toString('hex')),
  ];
  const { certificate, serial } = await signCertificate(ca, { subject: commonNameSubject(name), publicKey: keys.spki, validity, extensions });
  const issued = { privateKey: keys.privateKey, certificate, serial, ...validity, warnings };
  if (options.pkcs12 === undefined) return issued;
  return { ...issued, pfx: await makePkcs12(ca, keys.privateKey, certificate, options.pkcs12, name) };
}

/**
 * A client certificate: P-256 key, keyUsage digitalSignature, extKeyUsage clientAuth, the
 * grants in subjectAltName. Refused (`ERR_SKNOCK_CA_CERTIFICATE_TOO_LARGE`) when a knock
 * carrying it would exceed 1232 bytes.
 */
export async function issueClientCertificate(ca: CertificateAuthority, options: IssueClientOptions): Promise<IssuedClientCertificate> {
  checkCa(ca);
  checkOptions(options, 'issueClientCertificate');
  const name = checkCommonName(options.name, 'name');
  const grants = checkGrants(options.grants);
  const minimumDatagramLength = checkMinimumDatagramLength(options.minimumDatagramLength);
  checkPkcs12(options.pkcs12);
  const validity = resolveValidity(options, DEFAULT_CLIENT_VALIDITY_DAYS, ca.notAfter);
  const warnings = after2049Warnings(validity, 'the client certificate', { legacy: options.pkcs12?.legacy, allowAfter2049: options.allowAfter2049 });
  const keys = generateP256KeyPair();
  const signed = await signClientCertificate(ca, {
    subject: commonNameSubject(name),
    publicKey: keys.spki,
    grants,
    validity,
    minimumDatagramLength,
  });
  const issued = { privateKey: keys.privateKey, ...signed, grants, ...validity, warnings };
  if (options.pkcs12 === undefined) return issued;
  return { ...issued, pfx: await makePkcs12(ca, keys.privateKey, signed.certificate, options.pkcs12, name) };
}
