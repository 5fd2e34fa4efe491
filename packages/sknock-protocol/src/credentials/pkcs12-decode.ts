import { SknockProtocolError, isSknockProtocolError } from '../errors/protocol-error.js';
import {
  algorithmIdentifier,
  bmpString,
  encodingOf,
  explicit,
  implicitOctets,
  integer,
  malformed,
  octets,
  oid,
  parseBer,
  sequence,
  set,
  type Asn1Node,
} from './asn1-read.js';
import {
  ENCRYPTED_DATA_VERSION,
  MAX_SAFE_CONTENTS_DEPTH,
  OID_CERT_BAG,
  OID_DATA,
  OID_ENCRYPTED_DATA,
  OID_ENVELOPED_DATA,
  OID_FRIENDLY_NAME,
  OID_KEY_BAG,
  OID_LOCAL_KEY_ID,
  OID_PKCS8_SHROUDED_KEY_BAG,
  OID_SAFE_CONTENTS_BAG,
  OID_SIGNED_DATA,
  OID_X509_CERTIFICATE,
  PFX_VERSION,
} from './constants.js';
import { decodeMacData, verifyMac } from './mac.js';
import { pbeDecrypt, type PbePassword } from './pbe.js';
import { bmpPassword } from './pkcs12-kdf.js';

/**
 * Reads a PKCS#12 file (RFC 7292) in password integrity and password privacy mode:
 *
 *     PFX ::= SEQUENCE { version INTEGER {v3(3)}, authSafe ContentInfo, macData MacData OPTIONAL }
 *     AuthenticatedSafe ::= SEQUENCE OF ContentInfo   -- data, or encryptedData
 *     SafeContents ::= SEQUENCE OF SafeBag
 *     SafeBag ::= SEQUENCE { bagId OID, bagValue [0] EXPLICIT ANY, bagAttributes SET OF Attribute OPTIONAL }
 *
 * The MAC is checked first; then every bag is decrypted and the keys (PKCS#8 DER) and
 * X.509 certificates (DER) come out with their `localKeyId` and `friendlyName`. What the
 * keys are and which certificate goes with which key is for the caller.
 */

export interface Pkcs12Attributes {
  readonly localKeyId?: Uint8Array;
  readonly friendlyName?: string;
}

export interface Pkcs12KeyBag extends Pkcs12Attributes {
  /** PKCS#8 `PrivateKeyInfo`, DER as found. */
  readonly pkcs8: Uint8Array;
}

export interface Pkcs12CertificateBag extends Pkcs12Attributes {
  readonly der: Uint8Array;
}

export interface DecodedPkcs12 {
  readonly keys: readonly Pkcs12KeyBag[];
  readonly certificates: readonly Pkcs12CertificateBag[];
  /** Whether a MAC was present and verified. */
  readonly authenticated: boolean;
}

interface Collector {
  readonly password: PbePassword;
  /** With a verified MAC, a structure that does not parse is malformed; without, it may be a wrong password. */
  readonly authenticated: boolean;
  readonly keys: Pkcs12KeyBag[];
  readonly certificates: Pkcs12CertificateBag[];
}

/**
 * The BMPString passwords to try, in order (RFC 7292 appendix B.1). An empty password is
 * also tried as the absent one, and a non-ASCII one also in the form OpenSSL 1.x made of
 * it (each UTF-8 byte as one BMP character), as OpenSSL itself does.
 */
function bmpCandidates(passphrase: string): Uint8Array[] {
  const list = [bmpPassword(passphrase)];
  if (passphrase === '') list.push(bmpPassword(null));
  if (/[^\x00-\x7f]/.test(passphrase)) list.push(bmpPassword(Buffer.from(passphrase, 'utf8').toString('latin1')));
  return list;
}

export function decodePkcs12(pfx: Uint8Array, passphrase: string): DecodedPkcs12 {
  const root = parseBer(pfx, 'PKCS#12 file');
  const [versionNode, authSafeNode, macNode] = sequence(root, 'PFX', 2, 3);
  const version = integer(versionNode, 'PFX version', 0, 0xffff);
  if (version !== PFX_VERSION) {
    throw new SknockProtocolError('ERR_SKNOCK_UNSUPPORTED_PKCS12', `PFX version ${version} is not implemented (only ${PFX_VERSION})`);
  }
  const [typeNode, contentNode] = sequence(authSafeNode, 'PFX authSafe', 2, 2);
  const type = oid(typeNode, 'PFX authSafe contentType');
  if (type === OID_SIGNED_DATA) {
    throw new SknockProtocolError('ERR_SKNOCK_UNSUPPORTED_PKCS12', 'PKCS#12 public-key integrity mode (signedData) is not implemented');
  }
  if (type !== OID_DATA) throw malformed('PFX authSafe', `content type ${type} is not data`);
  const content = octets(explicit(contentNode, 0, 'PFX authSafe content'), 'PFX authSafe content');

  const utf8 = new Uint8Array(Buffer.from(passphrase, 'utf8'));
  const candidates = bmpCandidates(passphrase);
  let bmp = candidates[0] as Uint8Array;
  let authenticated = false;
  if (macNode !== undefined) {
    const mac = decodeMacData(macNode);
    const match = candidates.find((candidate) => verifyMac(mac, candidate, content));
    if (match === undefined) {
      throw new SknockProtocolError('ERR_SKNOCK_BAD_PASSPHRASE', 'PKCS#12 MAC does not verify: wrong passphrase, or the file was altered');
    }
    bmp = match;
    authenticated = true;
  }

  const collector: Collector = { password: { utf8, bmp }, authenticated, keys: [], certificates: [] };
  const safes = sequence(parseBer(content, 'AuthenticatedSafe'), 'AuthenticatedSafe');
  safes.forEach((safe, i) => readContentInfo(safe, collector, `AuthenticatedSafe[${i}]`));
  return { keys: collector.keys, certificates: collector.certificates, authenticated };
}

/** One ContentInfo of the AuthenticatedSafe: plain `data` or password-encrypted `encryptedData`. */
function readContentInfo(node: Asn1Node, collector: Collector, what: string): void {
  const [typeNode, contentNode] = sequence(node, what, 1, 2);
  const type = oid(typeNode, `${what} contentType`);
  if (contentNode === undefined) return;
  const content = explicit(contentNode, 0, `${what} content`);
  if (type === OID_DATA) {
    readSafeContents(octets(content, `${what} data`), collector, 0, what);
  } else if (type === OID_ENCRYPTED_DATA) {
    // EncryptedData ::= SEQUENCE { version, EncryptedContentInfo, unprotectedAttrs [1] OPTIONAL }
    // EncryptedContentInfo ::= SEQUENCE { contentType, contentEncryptionAlgorithm, encryptedContent [0] IMPLICIT OPTIONAL }
    const [versionNode, infoNode] = sequence(content, `${what} EncryptedData`, 2, 3);
    // RFC 2315 §13 writes version 0; RFC 5652 §8 allows 2 with unprotected attributes.
    integer(versionNode, `${what} EncryptedData version`, ENCRYPTED_DATA_VERSION, 2);
    const [, algorithmNode, encryptedNode] = sequence(infoNode, `${what} EncryptedContentInfo`, 2, 3);
    if (encryptedNode === undefined) return;
    const algorithm = algorithmIdentifier(algorithmNode, `${what} encryption algorithm`);
    const ciphertext = implicitOctets(encryptedNode, 0, `${what} encryptedContent`);
    const plaintext = pbeDecrypt(algorithm, ciphertext, collector.password, `${what} (encrypted bags)`);
    unlessAuthenticated(collector, what, () => readSafeContents(plaintext, collector, 0, what));
  } else if (type === OID_ENVELOPED_DATA) {
    throw new SknockProtocolError('ERR_SKNOCK_UNSUPPORTED_PKCS12', 'PKCS#12 public-key privacy mode (envelopedData) is not implemented');
  } else {
    throw new SknockProtocolError('ERR_SKNOCK_UNSUPPORTED_PKCS12', `${what}: content type ${type} is not implemented`);
  }
}

/**
 * Runs `read` over decrypted bytes. Without a verified MAC, decrypted bytes that do not
 * parse are most likely the output of a wrong password whose padding happened to fit.
 */
function unlessAuthenticated(collector: Collector, what: string, read: () => void): void {
  try {
    read();
  } catch (err) {
    if (!collector.authenticated && isSknockProtocolError(err, 'ERR_SKNOCK_MALFORMED_PKCS12')) {
      throw new SknockProtocolError('ERR_SKNOCK_BAD_PASSPHRASE', `${what} did not decrypt to bags: wrong passphrase`, { cause: err });
    }
    throw err;
  }
}

function readSafeContents(bytes: Uint8Array, collector: Collector, depth: number, what: string): void {
  const bags = sequence(parseBer(bytes, `${what} SafeContents`), `${what} SafeContents`);
  bags.forEach((bag, i) => readSafeBag(bag, collector, depth, `${what} bag ${i}`));
}

function readSafeBag(node: Asn1Node, collector: Collector, depth: number, what: string): void {
  const [idNode, valueNode, attributesNode] = sequence(node, what, 2, 3);
  const bagId = oid(idNode, `${what} bagId`);
  const value = explicit(valueNode, 0, `${what} bagValue`);
  const attributes = attributesNode === undefined ? {} : readAttributes(attributesNode, what);
  switch (bagId) {
    case OID_KEY_BAG:
      sequence(value, `${what} PrivateKeyInfo`, 3);
      collector.keys.push({ ...attributes, pkcs8: encodingOf(value) });
      break;
    case OID_PKCS8_SHROUDED_KEY_BAG: {
      // EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm, encryptedData OCTET STRING }
      const [algorithmNode, dataNode] = sequence(value, `${what} EncryptedPrivateKeyInfo`, 2, 2);
      const algorithm = algorithmIdentifier(algorithmNode, `${what} encryption algorithm`);
      const pkcs8 = pbeDecrypt(algorithm, octets(dataNode, `${what} encryptedData`), collector.password, `${what} (private key)`);
      unlessAuthenticated(collector, what, () => sequence(parseBer(pkcs8, `${what} PrivateKeyInfo`), `${what} PrivateKeyInfo`, 3));
      collector.keys.push({ ...attributes, pkcs8 });
      break;
    }
    case OID_CERT_BAG: {
      // CertBag ::= SEQUENCE { certId OID, certValue [0] EXPLICIT ANY }
      const [certIdNode, certValueNode] = sequence(value, `${what} CertBag`, 2, 2);
      if (oid(certIdNode, `${what} certId`) !== OID_X509_CERTIFICATE) return; // SDSI certificates: not for us
      collector.certificates.push({ ...attributes, der: octets(explicit(certValueNode, 0, `${what} certValue`), `${what} certValue`) });
      break;
    }
    case OID_SAFE_CONTENTS_BAG:
      if (depth >= MAX_SAFE_CONTENTS_DEPTH) throw malformed(what, 'safeContentsBag nests too deep');
      sequence(value, `${what} SafeContents`).forEach((bag, i) => readSafeBag(bag, collector, depth + 1, `${what}.${i}`));
      break;
    default:
      // CRL and secret bags carry nothing a knock needs.
      break;
  }
}

/** RFC 7292 §4.2: `PKCS12Attribute ::= SEQUENCE { attrId OID, attrValues SET OF ANY }`. */
function readAttributes(node: Asn1Node, what: string): Pkcs12Attributes {
  let localKeyId: Uint8Array | undefined;
  let friendlyName: string | undefined;
  for (const attribute of set(node, `${what} bagAttributes`)) {
    const [idNode, valuesNode] = sequence(attribute, `${what} attribute`, 2, 2);
    const id = oid(idNode, `${what} attribute id`);
    const [first] = set(valuesNode, `${what} attribute values`);
    if (first === undefined) continue;
    if (id === OID_LOCAL_KEY_ID) localKeyId = octets(first, `${what} localKeyId`);
    else if (id === OID_FRIENDLY_NAME) friendlyName = bmpString(first, `${what} friendlyName`);
  }
  return {
    ...(localKeyId === undefined ? {} : { localKeyId }),
    ...(friendlyName === undefined ? {} : { friendlyName }),
  };
}
