import 'reflect-metadata';
import { createPrivateKey, webcrypto, type KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { encodeGrantsSubjectAltName, encodePem, type PortGrant } from '@sknock/protocol';

/**
 * A tiny test PKI: a P-256 CA, a server certificate and client certificates carrying the
 * sKnock grant otherName in subjectAltName. Made with @peculiar/x509 on node's WebCrypto,
 * in memory, in a few milliseconds.
 */

const SUBTLE = webcrypto.subtle;
const ECDSA = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
const SAN_OID = '2.5.29.17';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export interface TestIdentity {
  readonly privateKey: KeyObject;
  /** DER. */
  readonly certificate: Uint8Array;
  readonly keyPem: string;
  readonly certificatePem: string;
  readonly cryptoKeys: webcrypto.CryptoKeyPair;
}

export interface IssueOptions {
  readonly name: string;
  readonly grants?: readonly PortGrant[];
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** Key type of the subject: P-256 (default) or RSA (to test refusals). */
  readonly keyType?: 'p256' | 'rsa';
}

async function newKeys(keyType: 'p256' | 'rsa' = 'p256'): Promise<webcrypto.CryptoKeyPair> {
  if (keyType === 'rsa') {
    return (await SUBTLE.generateKey(
      { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      true,
      ['sign', 'verify'],
    )) as webcrypto.CryptoKeyPair;
  }
  return (await SUBTLE.generateKey(ECDSA, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

async function identity(keys: webcrypto.CryptoKeyPair, cert: x509.X509Certificate): Promise<TestIdentity> {
  const pkcs8 = new Uint8Array(await SUBTLE.exportKey('pkcs8', keys.privateKey));
  const der = new Uint8Array(cert.rawData);
  return {
    privateKey: createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' }),
    certificate: der,
    keyPem: encodePem('PRIVATE KEY', pkcs8),
    certificatePem: encodePem('CERTIFICATE', der),
    cryptoKeys: keys,
  };
}

export class TestCa {
  private constructor(
    readonly ca: TestIdentity,
    private readonly caCert: x509.X509Certificate,
  ) {}

  static async create(name = 'sKnock Test CA'): Promise<TestCa> {
    const keys = await newKeys();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      name: `CN=${name}`,
      keys: keys as unknown as CryptoKeyPairLike,
      signingAlgorithm: SIGNING,
      notBefore: new Date(Date.now() - DAY_MS),
      notAfter: new Date(Date.now() + 30 * DAY_MS),
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ],
    });
    return new TestCa(await identity(keys, cert), cert);
  }

  /** A certificate for a new key, signed by this CA; with `grants`, the sKnock SAN. */
  async issue(options: IssueOptions): Promise<TestIdentity> {
    const keys = await newKeys(options.keyType);
    const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(false, undefined, true)];
    if (options.grants !== undefined) extensions.push(new x509.Extension(SAN_OID, false, encodeGrantsSubjectAltName(options.grants)));
    const cert = await x509.X509CertificateGenerator.create({
      subject: `CN=${options.name}`,
      issuer: this.caCert.subject,
      publicKey: keys.publicKey as unknown as CryptoKeyLike,
      signingKey: this.ca.cryptoKeys.privateKey as unknown as CryptoKeyLike,
      signingAlgorithm: SIGNING,
      notBefore: options.notBefore ?? new Date(Date.now() - DAY_MS),
      notAfter: options.notAfter ?? new Date(Date.now() + 30 * DAY_MS),
      extensions,
    });
    return identity(keys, cert);
  }
}

type CryptoKeyPairLike = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'];
type CryptoKeyLike = x509.X509CertificateCreateWithKeyParams['signingKey'];

export interface TestPki {
  readonly ca: TestCa;
  readonly server: TestIdentity;
  readonly client: TestIdentity;
}

/** A CA, a server certificate and a client certificate granting `grants`. */
export async function makeTestPki(grants: readonly PortGrant[]): Promise<TestPki> {
  const ca = await TestCa.create();
  const [server, client] = await Promise.all([ca.issue({ name: 'sKnock Test Server' }), ca.issue({ name: 'sKnock Test Client', grants })]);
  return { ca, server, client };
}
