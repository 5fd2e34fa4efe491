import { createECDH, type ECDH, KeyObject, X509Certificate } from 'node:crypto';
import { EC_POINT_UNCOMPRESSED_PREFIX, P256_PRIVATE_KEY_LENGTH } from './constants.js';
import { SknockProtocolError } from './errors.js';

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
