import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { encodeNull, encodeOctetString, encodeOid, encodeSequence, encodeUnsignedInteger } from '../der/der-writer.js';
import { SknockProtocolError } from '../errors/protocol-error.js';
import { algorithmIdentifier, integer, octets, sequence, type Asn1Node } from './asn1-read.js';
import { DIGEST_BY_OID, KDF_ID_MAC, MAX_ITERATIONS, OID_PBMAC1, OID_SHA1, OID_SHA256, SALT_LENGTH } from './constants.js';
import { digestLength, isPkcs12KdfDigest, pkcs12Kdf, type Pkcs12KdfDigest } from './pkcs12-kdf.js';

/**
 * The PFX integrity check in password mode (RFC 7292 §5.1, appendix B.4): an HMAC over
 * the AuthenticatedSafe contents, keyed by the appendix B KDF (ID 3) with the MAC's own
 * digest. SHA-1 in files from OpenSSL 1.x, SHA-256 in files from OpenSSL 3.
 *
 *     MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER DEFAULT 1 }
 *     DigestInfo ::= SEQUENCE { digestAlgorithm AlgorithmIdentifier, digest OCTET STRING }
 */

export interface MacData {
  readonly digest: Pkcs12KdfDigest;
  readonly value: Uint8Array;
  readonly salt: Uint8Array;
  readonly iterations: number;
}

export function decodeMacData(node: Asn1Node, what = 'PFX macData'): MacData {
  const [digestInfo, saltNode, iterationNode] = sequence(node, what, 2, 3);
  const [algorithmNode, valueNode] = sequence(digestInfo, `${what} DigestInfo`, 2, 2);
  const algorithm = algorithmIdentifier(algorithmNode, `${what} digest algorithm`);
  const digest = DIGEST_BY_OID.get(algorithm.oid);
  if (digest === undefined || !isPkcs12KdfDigest(digest)) {
    const name = algorithm.oid === OID_PBMAC1 ? 'PBMAC1' : algorithm.oid;
    throw new SknockProtocolError('ERR_SKNOCK_UNSUPPORTED_PKCS12', `${what}: MAC algorithm ${name} is not implemented`);
  }
  const iterations = iterationNode === undefined ? 1 : integer(iterationNode, `${what} iterations`, 1, Number.MAX_SAFE_INTEGER);
  if (iterations > MAX_ITERATIONS) {
    throw new SknockProtocolError('ERR_SKNOCK_UNSUPPORTED_PKCS12', `${what}: ${iterations} iterations is above the limit of ${MAX_ITERATIONS}`);
  }
  return { digest, value: octets(valueNode, `${what} digest`), salt: octets(saltNode, `${what} salt`), iterations };
}

/** HMAC of `content` under the key the appendix B KDF derives from the BMPString `password`. */
export function computeMac(digest: Pkcs12KdfDigest, password: Uint8Array, salt: Uint8Array, iterations: number, content: Uint8Array): Uint8Array {
  const key = pkcs12Kdf(digest, password, salt, KDF_ID_MAC, iterations, digestLength(digest));
  const mac = createHmac(digest, key).update(content).digest();
  key.fill(0);
  return mac;
}

/** True when `mac` verifies over `content` with the BMPString `password`. */
export function verifyMac(mac: MacData, password: Uint8Array, content: Uint8Array): boolean {
  const expected = computeMac(mac.digest, password, mac.salt, mac.iterations, content);
  return expected.length === mac.value.length && timingSafeEqual(expected, mac.value);
}

/** A `MacData` element for `content`: SHA-256 (OpenSSL 3) or SHA-1 (legacy). */
export function encodeMacData(digest: 'sha1' | 'sha256', password: Uint8Array, iterations: number, content: Uint8Array): Uint8Array {
  const salt = randomBytes(SALT_LENGTH);
  const value = computeMac(digest, password, salt, iterations, content);
  const algorithm = encodeSequence(encodeOid(digest === 'sha1' ? OID_SHA1 : OID_SHA256), encodeNull());
  return encodeSequence(encodeSequence(algorithm, encodeOctetString(value)), encodeOctetString(salt), encodeUnsignedInteger(iterations));
}
