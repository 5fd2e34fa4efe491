import { TAG } from '../der/tags.js';
import { encodeBmpString, encodeExplicit, encodeOctetString, encodeOid, encodeSequence, encodeSetOf, encodeTlv, encodeUnsignedInteger } from '../der/der-writer.js';
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

/** `SET OF PKCS12Attribute`, its members in DER order (X.690 §11.6). */
function attributes(localKeyId: Uint8Array, friendlyName: string | undefined): Uint8Array {
  const members = [encodeSequence(encodeOid(OID_LOCAL_KEY_ID), encodeSetOf(encodeOctetString(localKeyId)))];
  if (friendlyName !== undefined) members.push(encodeSequence(encodeOid(OID_FRIENDLY_NAME), encodeSetOf(encodeBmpString(friendlyName))));
  return encodeSetOf(...members);
}

function certBag(certificate: Uint8Array, attrs: Uint8Array | undefined): Uint8Array {
  const bag = encodeExplicit(0, encodeSequence(encodeOid(OID_X509_CERTIFICATE), encodeExplicit(0, encodeOctetString(certificate))));
  return attrs === undefined ? encodeSequence(encodeOid(OID_CERT_BAG), bag) : encodeSequence(encodeOid(OID_CERT_BAG), bag, attrs);
}

function shroudedKeyBag(encrypted: PbeEncrypted, attrs: Uint8Array): Uint8Array {
  return encodeSequence(
    encodeOid(OID_PKCS8_SHROUDED_KEY_BAG),
    encodeExplicit(0, encodeSequence(encrypted.algorithm, encodeOctetString(encrypted.ciphertext))),
    attrs,
  );
}

/** `ContentInfo` of type data around DER `content`. */
function dataContentInfo(content: Uint8Array): Uint8Array {
  return encodeSequence(encodeOid(OID_DATA), encodeExplicit(0, encodeOctetString(content)));
}

/** `ContentInfo` of type encryptedData (RFC 2315 §13) around an encrypted SafeContents. */
function encryptedContentInfo(encrypted: PbeEncrypted): Uint8Array {
  // encryptedContent is `[0] IMPLICIT OCTET STRING`: primitive, context-specific 0.
  const info = encodeSequence(encodeOid(OID_DATA), encrypted.algorithm, encodeTlv(TAG.CONTEXT_PRIMITIVE_0, encrypted.ciphertext));
  return encodeSequence(encodeOid(OID_ENCRYPTED_DATA), encodeExplicit(0, encodeSequence(encodeUnsignedInteger(ENCRYPTED_DATA_VERSION), info)));
}

export function buildPkcs12(contents: Pkcs12Contents): Uint8Array {
  const iterations = contents.iterations ?? DEFAULT_ITERATIONS;
  const password: PbePassword = {
    utf8: new Uint8Array(Buffer.from(contents.passphrase, 'utf8')),
    bmp: bmpPassword(contents.passphrase),
  };
  const attrs = attributes(contents.localKeyId, contents.friendlyName);

  const certBags = [certBag(contents.certificate, attrs), ...contents.caCertificates.map((c) => certBag(c, undefined))];
  const certSafe = encodeSequence(...certBags);
  const encryptedCerts = contents.legacy
    ? legacyEncrypt('rc2-40', certSafe, password, iterations)
    : pbes2Encrypt(certSafe, password, iterations);

  const encryptedKey = contents.legacy
    ? legacyEncrypt('des-ede3', contents.pkcs8, password, iterations)
    : pbes2Encrypt(contents.pkcs8, password, iterations);
  const keySafe = encodeSequence(shroudedKeyBag(encryptedKey, attrs));

  const authSafe = encodeSequence(encryptedContentInfo(encryptedCerts), dataContentInfo(keySafe));
  const mac = encodeMacData(contents.legacy ? 'sha1' : 'sha256', password.bmp, iterations, authSafe);
  return encodeSequence(encodeUnsignedInteger(PFX_VERSION), dataContentInfo(authSafe), mac);
}
