import { createECDH, createPublicKey, generateKeyPairSync, type ECDH, KeyObject } from 'node:crypto';
import { EC_POINT_UNCOMPRESSED_PREFIX, EPHEMERAL_PUBLIC_KEY_LENGTH, P256_PRIVATE_KEY_LENGTH } from './constants.js';
import { SknockProtocolError } from './errors/protocol-error.js';

/**
 * `@sknock/protocol/p256`: the one P-256 key check and the point/key helpers of the sKnock
 * packages (sKnock signs with ECDSA P-256 and encrypts to a P-256 key; nothing else).
 *
 * For the hot paths: `createECDH` with the raw scalar takes the 65-byte SEC 1 point as it
 * is (82 µs per ECDH, against 196 µs through SPKI import and 311+ µs through WebCrypto; see
 * docs/PROTOCOL-NOTES.md "Measured costs"), so keys are turned into that form once and kept.
 */

/** The curve's name to node:crypto and OpenSSL. */
export const P256_CURVE = 'prime256v1';
/** The curve's name in JWK (RFC 7518 §6.2.1.1) and WebCrypto. */
export const P256_JWK_CURVE = 'P-256';
/** SEC 1 v2 §2.3.3: length of an uncompressed point, `0x04 ‖ X ‖ Y`. */
export const P256_POINT_LENGTH = EPHEMERAL_PUBLIC_KEY_LENGTH;
/** SEC 2 §2.4.2: length of a coordinate and of the private scalar. */
export const P256_COORDINATE_LENGTH = P256_PRIVATE_KEY_LENGTH;

const ecdhByKey = new WeakMap<KeyObject, ECDH>();

/** True when `key` is an EC P-256 KeyObject (of `type`, when given). The one P-256 check. */
export function isP256Key(key: unknown, type?: 'private' | 'public'): boolean {
  return (
    key instanceof KeyObject &&
    (type === undefined ? key.type !== 'secret' : key.type === type) &&
    key.asymmetricKeyType === 'ec' &&
    key.asymmetricKeyDetails?.namedCurve === P256_CURVE
  );
}

/** What kind of key `key` is, for messages: `an EC key on secp384r1`, `an RSA key of 2048 bits`. */
export function describeKey(key: unknown): string {
  if (!(key instanceof KeyObject)) return 'not a KeyObject';
  if (key.type === 'secret') return 'a secret key';
  if (key.asymmetricKeyType === 'ec') return `an EC key on ${key.asymmetricKeyDetails?.namedCurve ?? 'an unnamed curve'}`;
  if (key.asymmetricKeyType === 'rsa') return `an RSA key of ${key.asymmetricKeyDetails?.modulusLength ?? '?'} bits`;
  return `a${/^[aeiou]/.test(key.asymmetricKeyType ?? '') ? 'n' : ''} ${key.asymmetricKeyType ?? 'unknown'} key`;
}

/** Throws `ERR_SKNOCK_UNSUPPORTED_KEY` unless `key` is an EC P-256 KeyObject of the given type. */
export function assertP256Key(key: unknown, type: 'private' | 'public', argument: string): asserts key is KeyObject {
  if (isP256Key(key, type)) return;
  if (!(key instanceof KeyObject) || key.type !== type) {
    throw new SknockProtocolError('ERR_SKNOCK_UNSUPPORTED_KEY', `${argument} must be an EC P-256 ${type} KeyObject`);
  }
  const what = key.asymmetricKeyType === 'ec' ? `curve ${key.asymmetricKeyDetails?.namedCurve}` : key.asymmetricKeyType;
  throw new SknockProtocolError('ERR_SKNOCK_UNSUPPORTED_KEY', `${argument} must be an EC P-256 key, not ${what}`);
}

/** A fresh P-256 key pair. */
export function generateP256KeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: P256_CURVE });
}

/** The 32-byte private scalar of a P-256 private key. */
export function privateScalar(key: KeyObject): Buffer {
  assertP256Key(key, 'private', 'privateKey');
  const jwk = key.export({ format: 'jwk' });
  const d = Buffer.from(jwk.d ?? '', 'base64url');
  if (d.length !== P256_COORDINATE_LENGTH) {
    throw new SknockProtocolError('ERR_SKNOCK_UNSUPPORTED_KEY', 'private key scalar is not 32 bytes');
  }
  return d;
}

/** An ECDH object for P-256 (a fresh key pair unless given one). */
export function createP256Ecdh(): ECDH {
  return createECDH(P256_CURVE);
}

/** An ECDH object holding `key`'s scalar, made once per KeyObject. */
export function ecdhFor(key: KeyObject): ECDH {
  let ecdh = ecdhByKey.get(key);
  if (ecdh === undefined) {
    ecdh = createP256Ecdh();
    ecdh.setPrivateKey(privateScalar(key));
    ecdhByKey.set(key, ecdh);
  }
  return ecdh;
}

/** The SEC 1 uncompressed point (`0x04 ‖ X ‖ Y`) of a P-256 public key (or of a private key's public half). */
export function publicPoint(key: KeyObject): Buffer {
  const pub = key instanceof KeyObject && key.type === 'private' ? createPublicKey(key) : key;
  assertP256Key(pub, 'public', 'publicKey');
  const jwk = pub.export({ format: 'jwk' });
  return Buffer.concat([Buffer.of(EC_POINT_UNCOMPRESSED_PREFIX), Buffer.from(jwk.x ?? '', 'base64url'), Buffer.from(jwk.y ?? '', 'base64url')]);
}

/** True when `bytes` has the form of an uncompressed P-256 point: 65 bytes starting `0x04` (not whether it is on the curve). */
export function isUncompressedPoint(bytes: Uint8Array): boolean {
  return bytes.length === P256_POINT_LENGTH && bytes[0] === EC_POINT_UNCOMPRESSED_PREFIX;
}

/**
 * The public key of an uncompressed P-256 point, imported as a JWK (about 55 µs), which
 * checks that the point is on the curve; `null` when it is not a P-256 point.
 */
export function p256KeyFromPoint(point: Uint8Array): KeyObject | null {
  if (!isUncompressedPoint(point)) return null;
  try {
    return createPublicKey({
      key: {
        kty: 'EC',
        crv: P256_JWK_CURVE,
        x: Buffer.from(point.subarray(1, 1 + P256_COORDINATE_LENGTH)).toString('base64url'),
        y: Buffer.from(point.subarray(1 + P256_COORDINATE_LENGTH)).toString('base64url'),
      },
      format: 'jwk',
    });
  } catch {
    return null;
  }
}

/** SEC 2 §2.4.2: P-256's field prime p. */
export const P256_FIELD_PRIME = BigInt('0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff');

/**
 * True when two Y coordinates (32 bytes each, big-endian) are `y` and `p − y`: the two
 * points of one X on the curve, ±P, which give the same ECDH secret.
 */
export function isMirrorY(a: Uint8Array, b: Uint8Array): boolean {
  const big = (y: Uint8Array): bigint => BigInt(`0x${Buffer.from(y.buffer, y.byteOffset, y.byteLength).toString('hex') || '0'}`);
  return big(a) + big(b) === P256_FIELD_PRIME;
}
