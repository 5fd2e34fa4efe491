import * as asn1js from 'asn1js';
import {
  DEFAULT_ITERATIONS,
  OID_CERT_BAG,
  OID_DATA,
  OID_ENCRYPTED_DATA,
  OID_FRIENDLY_NAME,
  OID_LOCAL_KEY_ID,
  OID_PKCS8_SHROUDED_KEY_BAG,
  OID_X509_CERTIFICATE,
  PFX_VERSION,
  ENCRYPTED_DATA_VERSION,
} from './constants.js';
import { encodeMacData } from './mac.js';
import { legacyEncrypt, pbes2Encrypt, type PbeEncrypted, type PbePassword } from './pbe.js';
import { bmpPassword } from './pkcs12-kdf.js';

/**
 * Writes a PKCS#12 file (RFC 7292) the way OpenSSL does: an AuthenticatedSafe of two
 * ContentInfos, the certificate bags encrypted as a whole (`encryptedData`), then one
 * `data` holding the pkcs8ShroudedKeyBag, and a MAC over it all.
 *
 * - modern (OpenSSL 3): PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC, HMAC-SHA-256 MAC;
 * - legacy (OpenSSL 1.x, sKnock 1.0.0): pbeWithSHAAnd40BitRC2-CBC certificates,
 *   pbeWithSHAAnd3-KeyTripleDES-CBC key, HMAC-SHA-1 MAC.
 *
 * The key bag and the end-entity certificate bag carry `localKeyId` (and `friendlyName`
 * when given); CA certificate bags carry no attributes, as with `openssl pkcs12 -export`.
 */

export interface Pkcs12Contents {
  /** PKCS#8 `PrivateKeyInfo`, DER. */
  readonly pkcs8: Uint8Array;
  readonly certificate: Uint8Array;
  readonly caCertificates: readonly Uint8Array[];
  readonly passphrase: string;
  readonly legacy: boolean;
  readonly localKeyId: Uint8Array;
  readonly friendlyName?: string;
  readonly iterations?: number;
}

function der(node: asn1js.BaseBlock): Uint8Array {
  return new Uint8Array(node.toBER());
}

function explicit0(...value: asn1js.BaseBlock[]): asn1js.Constructed {
  return new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value });
}

function oidNode(value: string): asn1js.ObjectIdentifier {
  return new asn1js.ObjectIdentifier({ value });
}

/** `SET OF PKCS12Attribute`, its members in DER order (X.690 §11.6). */
function attributes(localKeyId: Uint8Array, friendlyName: string | undefined): asn1js.Set {
  const members: asn1js.Sequence[] = [
    new asn1js.Sequence({ value: [oidNode(OID_LOCAL_KEY_ID), new asn1js.Set({ value: [new asn1js.OctetString({ valueHex: localKeyId })] })] }),
  ];
  if (friendlyName !== undefined) {
    members.push(new asn1js.Sequence({ value: [oidNode(OID_FRIENDLY_NAME), new asn1js.Set({ value: [new asn1js.BmpString({ value: friendlyName })] })] }));
  }
  const sorted = members.map((m) => ({ m, bytes: Buffer.from(m.toBER()) })).sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  return new asn1js.Set({ value: sorted.map((s) => s.m) });
}

function certBag(certificate: Uint8Array, attrs: asn1js.Set | undefined): asn1js.Sequence {
  const value: asn1js.BaseBlock[] = [
    oidNode(OID_CERT_BAG),
    explicit0(new asn1js.Sequence({ value: [oidNode(OID_X509_CERTIFICATE), explicit0(new asn1js.OctetString({ valueHex: certificate }))] })),
  ];
  if (attrs !== undefined) value.push(attrs);
  return new asn1js.Sequence({ value });
}

function shroudedKeyBag(encrypted: PbeEncrypted, attrs: asn1js.Set): asn1js.Sequence {
  return new asn1js.Sequence({
    value: [
      oidNode(OID_PKCS8_SHROUDED_KEY_BAG),
      explicit0(new asn1js.Sequence({ value: [encrypted.algorithm, new asn1js.OctetString({ valueHex: encrypted.ciphertext })] })),
      attrs,
    ],
  });
}

/** `ContentInfo` of type data around DER `content`. */
function dataContentInfo(content: Uint8Array): asn1js.Sequence {
  return new asn1js.Sequence({ value: [oidNode(OID_DATA), explicit0(new asn1js.OctetString({ valueHex: content }))] });
}

/** `ContentInfo` of type encryptedData (RFC 2315 §13) around an encrypted SafeContents. */
function encryptedContentInfo(encrypted: PbeEncrypted): asn1js.Sequence {
  const encryptedContentInfo = new asn1js.Sequence({
    value: [
      oidNode(OID_DATA),
      encrypted.algorithm,
      new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: encrypted.ciphertext }),
    ],
  });
  return new asn1js.Sequence({
    value: [
      oidNode(OID_ENCRYPTED_DATA),
      explicit0(new asn1js.Sequence({ value: [new asn1js.Integer({ value: ENCRYPTED_DATA_VERSION }), encryptedContentInfo] })),
    ],
  });
}

export function buildPkcs12(contents: Pkcs12Contents): Uint8Array {
  const iterations = contents.iterations ?? DEFAULT_ITERATIONS;
  const password: PbePassword = {
    utf8: new Uint8Array(Buffer.from(contents.passphrase, 'utf8')),
    bmp: bmpPassword(contents.passphrase),
  };
  const attrs = attributes(contents.localKeyId, contents.friendlyName);

  const certBags = [certBag(contents.certificate, attrs), ...contents.caCertificates.map((c) => certBag(c, undefined))];
  const certSafe = der(new asn1js.Sequence({ value: certBags }));
  const encryptedCerts = contents.legacy
    ? legacyEncrypt('rc2-40', certSafe, password, iterations)
    : pbes2Encrypt(certSafe, password, iterations);

  const encryptedKey = contents.legacy
    ? legacyEncrypt('des-ede3', contents.pkcs8, password, iterations)
    : pbes2Encrypt(contents.pkcs8, password, iterations);
  const keySafe = der(new asn1js.Sequence({ value: [shroudedKeyBag(encryptedKey, attrs)] }));

  const authSafe = der(new asn1js.Sequence({ value: [encryptedContentInfo(encryptedCerts), dataContentInfo(keySafe)] }));
  const mac = encodeMacData(contents.legacy ? 'sha1' : 'sha256', password.bmp, iterations, authSafe);
  return der(new asn1js.Sequence({ value: [new asn1js.Integer({ value: PFX_VERSION }), dataContentInfo(authSafe), mac] }));
}
