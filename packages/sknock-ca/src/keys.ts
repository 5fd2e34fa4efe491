import { createHash, createPrivateKey, generateKeyPairSync, webcrypto, type KeyObject } from 'node:crypto';
import { isEncryptedPrivateKey } from './encrypted-key.js';
import { SknockCaError } from './errors.js';

/**
 * P-256 keys: made with node:crypto (0.13 ms a pair, against 0.25 ms through WebCrypto),
 * handed to `@peculiar/x509` as SPKI bytes (subjects) or as a WebCrypto signing key (the CA).
 */

const NODE_CURVE = 'prime256v1';
const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;

export interface P256KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** SubjectPublicKeyInfo, DER. */
  readonly spki: Uint8Array;
}

/** A fresh P-256 key pair. */
export function generateP256KeyPair(): P256KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: NODE_CURVE });
  return { privateKey, publicKey, spki: new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })) };
}

/** True when `key` is an EC P-256 key. */
export function isP256(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === NODE_CURVE;
}

/** Throws `ERR_SKNOCK_CA_UNSUPPORTED_KEY` naming `argument` unless `key` is P-256. */
export function assertP256(key: KeyObject, argument: string): void {
  if (!isP256(key)) {
    const what = key.asymmetricKeyType === 'ec' ? `EC ${key.asymmetricKeyDetails?.namedCurve ?? 'unknown curve'}` : String(key.asymmetricKeyType);
    throw new SknockCaError('ERR_SKNOCK_CA_UNSUPPORTED_KEY', `${argument} is a ${what} key; sKnock needs EC P-256 (prime256v1)`);
  }
}

/**
 * A private key from PEM text or DER bytes (PKCS#8 or SEC 1), checked to be P-256. An
 * encrypted key (`isEncryptedPrivateKey`) needs `passphrase`: without one it is
 * `ERR_SKNOCK_CA_PASSPHRASE`, with a wrong one `ERR_SKNOCK_CA_BAD_PASSPHRASE`. A passphrase
 * given for an unencrypted key is not used.
 */
export function readPrivateKey(input: Uint8Array | string, argument: string, passphrase?: string): KeyObject {
  if (isEncryptedPrivateKey(input)) return assertedP256(readEncrypted(input, argument, passphrase), argument);
  let key: KeyObject;
  try {
    if (typeof input === 'string') key = createPrivateKey(input);
    else if (Buffer.from(input.subarray(0, 64)).toString('latin1').includes('-----BEGIN')) key = createPrivateKey(Buffer.from(input).toString('latin1'));
    else {
      try {
        key = createPrivateKey({ key: Buffer.from(input), format: 'der', type: 'pkcs8' });
      } catch {
        key = createPrivateKey({ key: Buffer.from(input), format: 'der', type: 'sec1' });
      }
    }
  } catch (cause) {
    throw new SknockCaError('ERR_SKNOCK_CA_UNSUPPORTED_KEY', `${argument} is not a readable private key (PKCS#8 or SEC 1, PEM or DER)`, { cause });
  }
  return assertedP256(key, argument);
}

function assertedP256(key: KeyObject, argument: string): KeyObject {
  assertP256(key, argument);
  return key;
}

/** An encrypted key opened with `passphrase` (by OpenSSL, through node:crypto). */
function readEncrypted(input: Uint8Array | string, argument: string, passphrase: string | undefined): KeyObject {
  if (passphrase === undefined || passphrase === '') {
    throw new SknockCaError('ERR_SKNOCK_CA_PASSPHRASE', `${argument} is encrypted: its passphrase is needed`);
  }
  const pem = typeof input === 'string' || Buffer.from(input.subarray(0, 64)).toString('latin1').includes('-----BEGIN');
  try {
    return pem
      ? createPrivateKey({ key: typeof input === 'string' ? input : Buffer.from(input).toString('latin1'), format: 'pem', passphrase })
      : createPrivateKey({ key: Buffer.from(input), format: 'der', type: 'pkcs8', passphrase });
  } catch (cause) {
    // OpenSSL says "bad decrypt" for a wrong passphrase, and (rarely, when the padding
    // happens to check) that the decrypted bytes do not parse: both mean the same here.
    throw new SknockCaError('ERR_SKNOCK_CA_BAD_PASSPHRASE', `${argument} does not open with the passphrase given`, { cause });
  }
}

/** The SEC 1 uncompressed point (`04 ‖ X ‖ Y`) of a P-256 public or private key. */
export function publicPoint(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.concat([Buffer.of(4), Buffer.from(jwk.x as string, 'base64url'), Buffer.from(jwk.y as string, 'base64url')]);
}

/** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits. */
export function keyIdentifier(key: KeyObject): Uint8Array {
  return new Uint8Array(createHash('sha1').update(publicPoint(key)).digest());
}

// WebCrypto signing keys by KeyObject: importing PKCS#8 costs about as much as one signature.
const signingKeys = new WeakMap<KeyObject, Promise<webcrypto.CryptoKey>>();

/** The WebCrypto ECDSA signing key for a P-256 private KeyObject (cached). */
export function signingKeyFor(privateKey: KeyObject): Promise<webcrypto.CryptoKey> {
  let key = signingKeys.get(privateKey);
  if (key === undefined) {
    key = webcrypto.subtle.importKey('pkcs8', privateKey.export({ type: 'pkcs8', format: 'der' }), ECDSA_P256, false, ['sign']) as Promise<webcrypto.CryptoKey>;
    signingKeys.set(privateKey, key);
  }
  return key;
}
