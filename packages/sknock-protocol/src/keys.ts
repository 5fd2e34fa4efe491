import { createECDH, createPublicKey, type ECDH, KeyObject, X509Certificate } from 'node:crypto';
import {
  EC_POINT_UNCOMPRESSED_PREFIX,
  EC_PUBLIC_KEY_OID,
  EPHEMERAL_PUBLIC_KEY_LENGTH,
  P256_CURVE_OID,
  P256_PRIVATE_KEY_LENGTH,
} from './constants.js';
import { TAG_BIT_STRING, TAG_CONTEXT_0, TAG_OID, TAG_SEQUENCE, bytesEqual, encodeOidContents, expectTlv, readTlv } from './der.js';
import { SknockProtocolError } from './errors.js';
import { ByteReader } from './reader.js';

/**
 * P-256 key handling for the hot paths. `createECDH` with the raw scalar takes the 65-byte
 * SEC 1 point as it is (82 µs per ECDH, against 196 µs through SPKI import and 311+ µs
 * through WebCrypto: ../shared/FACTS.md), so keys are turned into that form once and kept.
 */

export const CURVE = 'prime256v1';

const ecdhByKey = new WeakMap<KeyObject, ECDH>();

/** Throws unless `key` is an EC P-256 KeyObject of the given type. */
export function assertP256Key(key: unknown, type: 'private' | 'public', argument: string): asserts key is KeyObject {
  if (!(key instanceof KeyObject) || key.type !== type) {
    throw new SknockProtocolError('ERR_SKNOCK_UNSUPPORTED_KEY', `${argument} must be an EC P-256 ${type} KeyObject`);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== CURVE) {
    const what = key.asymmetricKeyType === 'ec' ? `curve ${key.asymmetricKeyDetails?.namedCurve}` : key.asymmetricKeyType;
    throw new SknockProtocolError('ERR_SKNOCK_UNSUPPORTED_KEY', `${argument} must be an EC P-256 key, not ${what}`);
  }
}

/** The 32-byte private scalar of a P-256 private key. */
export function privateScalar(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  const d = Buffer.from(jwk.d ?? '', 'base64url');
  if (d.length !== P256_PRIVATE_KEY_LENGTH) {
    throw new SknockProtocolError('ERR_SKNOCK_UNSUPPORTED_KEY', 'private key scalar is not 32 bytes');
  }
  return d;
}

/** An ECDH object holding `key`'s scalar, made once per KeyObject. */
export function ecdhFor(key: KeyObject): ECDH {
  let ecdh = ecdhByKey.get(key);
  if (ecdh === undefined) {
    assertP256Key(key, 'private', 'privateKey');
    ecdh = createECDH(CURVE);
    ecdh.setPrivateKey(privateScalar(key));
    ecdhByKey.set(key, ecdh);
  }
  return ecdh;
}

/** The SEC 1 uncompressed point (`0x04 ‖ X ‖ Y`) of a P-256 public key. */
export function publicPoint(key: KeyObject): Buffer {
  assertP256Key(key, 'public', 'publicKey');
  const jwk = key.export({ format: 'jwk' });
  return Buffer.concat([
    Buffer.of(EC_POINT_UNCOMPRESSED_PREFIX),
    Buffer.from(jwk.x ?? '', 'base64url'),
    Buffer.from(jwk.y ?? '', 'base64url'),
  ]);
}

/** The public key of a DER certificate (throws `ERR_SKNOCK_INVALID_CERTIFICATE`). */
export function certificatePublicKey(der: Uint8Array, argument = 'certificate'): KeyObject {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch (cause) {
    throw new SknockProtocolError('ERR_SKNOCK_INVALID_CERTIFICATE', `${argument} is not a readable X.509 certificate`, { cause });
  }
  return cert.publicKey;
}

const OID_EC_PUBLIC_KEY = encodeOidContents(EC_PUBLIC_KEY_OID);
const OID_PRIME256V1 = encodeOidContents(P256_CURVE_OID);

/**
 * The P-256 public key of a DER certificate, read straight from its
 * SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) and imported as a JWK: about 55 µs, against
 * about 120 µs to parse the whole certificate with `X509Certificate` and 150 µs to import
 * the SPKI. `null` when the certificate holds another kind of key, or does not parse.
 * The point is checked to be on the curve by the import. Only the key is read: whether
 * the certificate is trustworthy is the server's chain check.
 */
export function certificateP256Key(certificate: Uint8Array): KeyObject | null {
  try {
    const r = new ByteReader(certificate, 'ERR_SKNOCK_INVALID_CERTIFICATE', 'certificate');
    const tbs = expectTlv(expectTlv(r, TAG_SEQUENCE, 'Certificate').body, TAG_SEQUENCE, 'tbsCertificate').body;
    if (tbs.peek('version') === TAG_CONTEXT_0) readTlv(tbs, 'version');
    for (const field of ['serialNumber', 'signature', 'issuer', 'validity', 'subject']) readTlv(tbs, field);
    const spki = expectTlv(tbs, TAG_SEQUENCE, 'subjectPublicKeyInfo').body;
    const algorithm = expectTlv(spki, TAG_SEQUENCE, 'algorithm').body;
    const keyType = expectTlv(algorithm, TAG_OID, 'algorithm').body;
    if (!bytesEqual(keyType.bytes(keyType.remaining, 'algorithm'), OID_EC_PUBLIC_KEY)) return null;
    const curve = expectTlv(algorithm, TAG_OID, 'namedCurve').body;
    if (!bytesEqual(curve.bytes(curve.remaining, 'namedCurve'), OID_PRIME256V1)) return null;
    const bits = expectTlv(spki, TAG_BIT_STRING, 'subjectPublicKey').body;
    if (bits.u8('unused bits') !== 0 || bits.remaining !== EPHEMERAL_PUBLIC_KEY_LENGTH) return null;
    const point = bits.bytes(EPHEMERAL_PUBLIC_KEY_LENGTH, 'point');
    if (point[0] !== EC_POINT_UNCOMPRESSED_PREFIX) return null;
    return createPublicKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: Buffer.from(point.subarray(1, 33)).toString('base64url'),
        y: Buffer.from(point.subarray(33, 65)).toString('base64url'),
      },
      format: 'jwk',
    });
  } catch {
    return null;
  }
}
