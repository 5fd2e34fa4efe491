/**
 * Test-only PKI: CAs, intermediates, client certificates and CRLs made on the spot with
 * @peculiar/x509 over Node's WebCrypto. Small and explicit, for the config/CRL/trust tests.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { KeyObject, createPublicKey, webcrypto } from 'node:crypto';
import type { CertificateAuthority } from '@sknock/ca';

x509.cryptoProvider.set(webcrypto);

type CryptoKeyPair = webcrypto.CryptoKeyPair;
export type TestKeyType = 'P-256' | 'P-384' | 'RSA';

export interface TestCa {
  readonly name: string;
  /** DER. */
  readonly certificate: Uint8Array;
  readonly keys: CryptoKeyPair;
  readonly keyType: TestKeyType;
  readonly x509: x509.X509Certificate;
}

export interface TestCert {
  readonly certificate: Uint8Array;
  readonly privateKey: KeyObject;
  /** Serial as the generator was given it (lower-case hex). */
  readonly serial: string;
}

const DAY = 86_400_000;
const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
let serialCounter = 0x1000;

function signingAlgorithm(keyType: TestKeyType): webcrypto.Algorithm | webcrypto.EcdsaParams {
  return keyType === 'RSA' ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as webcrypto.Algorithm : { name: 'ECDSA', hash: keyType === 'P-384' ? 'SHA-384' : 'SHA-256' } as webcrypto.EcdsaParams;
}

export async function generateKeys(keyType: TestKeyType = 'P-256'): Promise<CryptoKeyPair> {
  const alg =
    keyType === 'RSA'
      ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 }
      : { name: 'ECDSA', namedCurve: keyType };
  return (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
}

/** A fresh serial: 8 bytes, first byte 0x01–0x7f so it stays positive. */
export function nextSerial(): string {
  serialCounter++;
  return `01${Date.now().toString(16).padStart(12, '0')}${serialCounter.toString(16).padStart(4, '0')}`.slice(0, 16);
}

export interface CaOptions {
  name?: string;
  keyType?: TestKeyType;
  notBefore?: Date;
  notAfter?: Date;
  /** Issue an intermediate CA signed by this CA instead of a self-signed root. */
  issuer?: TestCa;
  serial?: string;
}

export async function createTestCa(options: CaOptions = {}): Promise<TestCa> {
  const keyType = options.keyType ?? 'P-256';
  const name = options.name ?? 'Test CA';
  const keys = await generateKeys(keyType);
  const now = Date.now();
  const common = {
    serialNumber: options.serial ?? nextSerial(),
    notBefore: options.notBefore ?? new Date(now - DAY),
    notAfter: options.notAfter ?? new Date(now + 3650 * DAY),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ] as x509.Extension[],
  };
  let cert: x509.X509Certificate;
  if (options.issuer === undefined) {
    cert = await x509.X509CertificateGenerator.createSelfSigned({ ...common, name: `CN=${name}`, keys: keys, signingAlgorithm: signingAlgorithm(keyType) });
  } else {
    const issuer = options.issuer;
    common.extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey));
    cert = await x509.X509CertificateGenerator.create({
      ...common,
      subject: `CN=${name}`,
      issuer: issuer.x509.subject,
      publicKey: keys.publicKey,
      signingKey: issuer.keys.privateKey,
      signingAlgorithm: signingAlgorithm(issuer.keyType),
    });
  }
  return { name, certificate: new Uint8Array(cert.rawData), keys, keyType, x509: cert };
}

export interface CertOptions {
  name?: string;
  keyType?: TestKeyType;
  notBefore?: Date;
  notAfter?: Date;
  serial?: string;
  /** Extended key usages; default clientAuth; null leaves the extension out. */
  extendedKeyUsage?: string[] | null;
  /** Mark it a CA (basicConstraints CA:TRUE). */
  isCa?: boolean;
}

/** A client certificate issued by `ca` (or, with `ca` undefined, self-signed). */
export async function issueTestCertificate(ca: TestCa | undefined, options: CertOptions = {}): Promise<TestCert> {
  const keyType = options.keyType ?? 'P-256';
  const keys = await generateKeys(keyType);
  const now = Date.now();
  const serial = (options.serial ?? nextSerial()).toLowerCase();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(options.isCa ?? false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  const eku = options.extendedKeyUsage === undefined ? [EKU_CLIENT_AUTH] : options.extendedKeyUsage;
  if (eku !== null) extensions.push(new x509.ExtendedKeyUsageExtension(eku));
  const base = {
    serialNumber: serial,
    notBefore: options.notBefore ?? new Date(now - DAY),
    notAfter: options.notAfter ?? new Date(now + 365 * DAY),
    extensions,
  };
  const subject = `CN=${options.name ?? 'Test Client'}`;
  let cert: x509.X509Certificate;
  if (ca === undefined) {
    cert = await x509.X509CertificateGenerator.createSelfSigned({ ...base, name: subject, keys: keys, signingAlgorithm: signingAlgorithm(keyType) });
  } else {
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey));
    cert = await x509.X509CertificateGenerator.create({
      ...base,
      subject,
      issuer: ca.x509.subject,
      publicKey: keys.publicKey,
      signingKey: ca.keys.privateKey,
      signingAlgorithm: signingAlgorithm(ca.keyType),
    });
  }
  return { certificate: new Uint8Array(cert.rawData), privateKey: KeyObject.from(keys.privateKey), serial };
}

export { EKU_CLIENT_AUTH, EKU_SERVER_AUTH };

export interface CrlOptions {
  /** Serials (hex) to revoke. */
  revoked?: string[];
  thisUpdate?: Date;
  /** Default thisUpdate + 7 days; null leaves nextUpdate out. */
  nextUpdate?: Date | null;
  /** CRL number (extension 2.5.29.20); undefined leaves it out. */
  crlNumber?: bigint | number;
  /** Further CRL extensions: [oid, critical, DER value]. */
  extensions?: [string, boolean, Uint8Array][];
  /** Sign with this CA's key instead (the issuer field still names `ca`): a forged CRL. */
  signer?: TestCa;
  /** Authority key identifier (keyIdentifier) to write; undefined leaves the extension out. */
  authorityKeyId?: Uint8Array;
}

/** DER INTEGER of a non-negative bigint. */
export function derInteger(n: bigint): Uint8Array {
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  if (parseInt(hex.slice(0, 2), 16) & 0x80) hex = `00${hex}`;
  const body = Buffer.from(hex, 'hex');
  return new Uint8Array([0x02, body.length, ...body]);
}

/** A CRL signed by `ca`, DER. */
export async function createTestCrl(ca: TestCa, options: CrlOptions = {}): Promise<Uint8Array> {
  const thisUpdate = options.thisUpdate ?? new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
  const nextUpdate = options.nextUpdate === null ? undefined : (options.nextUpdate ?? new Date(thisUpdate.getTime() + 7 * DAY));
  const extensions: x509.Extension[] = [];
  if (options.crlNumber !== undefined) extensions.push(new x509.Extension('2.5.29.20', false, derInteger(BigInt(options.crlNumber))));
  for (const [oid, critical, value] of options.extensions ?? []) extensions.push(new x509.Extension(oid, critical, value));
  if (options.authorityKeyId !== undefined) {
    const id = options.authorityKeyId;
    extensions.push(new x509.Extension('2.5.29.35', false, new Uint8Array([0x30, id.length + 2, 0x80, id.length, ...id])));
  }
  const signer = options.signer ?? ca;
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.x509.subject,
    thisUpdate,
    ...(nextUpdate !== undefined ? { nextUpdate } : {}),
    entries: (options.revoked ?? []).map((serialNumber) => ({ serialNumber, revocationDate: new Date(thisUpdate.getTime() - 1000) })),
    extensions,
    signingKey: signer.keys.privateKey,
    signingAlgorithm: signingAlgorithm(signer.keyType),
  });
  return new Uint8Array(crl.rawData);
}

/** A CA of the sknock-ca library (`createCa`) as a TestCa, to issue intermediates or odd certificates under it. */
export async function testCaFromAuthority(ca: { readonly name: string; readonly privateKey: KeyObject; readonly certificate: Uint8Array }): Promise<TestCa> {
  const cert = new x509.X509Certificate(ca.certificate);
  const alg = { name: 'ECDSA', namedCurve: 'P-256' };
  const privateKey = await webcrypto.subtle.importKey('pkcs8', ca.privateKey.export({ format: 'der', type: 'pkcs8' }), alg, true, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', createPublicKey(ca.privateKey).export({ format: 'der', type: 'spki' }), alg, true, ['verify']);
  return { name: ca.name, certificate: ca.certificate, keys: { privateKey, publicKey }, keyType: 'P-256', x509: cert };
}

/**
 * A TestCa (an intermediate made by `createTestCa({ issuer })`, say) as a CA of the sknock-ca
 * library, so that `issueClientCertificate` can issue sKnock client certificates (with their
 * grants) under it.
 */
export function authorityFromTestCa(ca: TestCa): CertificateAuthority {
  const ski = ca.x509.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski === null) throw new Error(`test CA ${ca.name} has no subject key identifier`);
  return {
    name: ca.name,
    privateKey: KeyObject.from(ca.keys.privateKey),
    certificate: ca.certificate,
    keyIdentifier: new Uint8Array(Buffer.from(ski.keyId, 'hex')),
    serial: ca.x509.serialNumber.toLowerCase(),
    notBefore: ca.x509.notBefore,
    notAfter: ca.x509.notAfter,
  };
}
