import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { AES_BLOCK_LENGTH, P256_PRIVATE_KEY_LENGTH } from './constants.js';
import { SknockProtocolError } from './errors/protocol-error.js';
import { deriveKnockKeys, type KnockKeys } from './hkdf.js';
import { createP256Ecdh, ecdhFor, isUncompressedPoint } from './p256.js';

/**
 * ECIES of PROTOCOL.md "Keys": P-256 ECDH between an ephemeral key and the server's key,
 * HKDF-SHA256 for the AES-128 key and IV, AES-128-CBC with PKCS#7 padding.
 */

const CIPHER = 'aes-128-cbc';

/** The one message of every decryption failure (style rule 4: a crypto stage fails one way). */
export const DECRYPT_FAILED_MESSAGE = 'knock does not decrypt';

export function decryptFailed(cause?: unknown): SknockProtocolError {
  return new SknockProtocolError('ERR_SKNOCK_DECRYPT_FAILED', DECRYPT_FAILED_MESSAGE, cause === undefined ? undefined : { cause });
}

export interface Sealed {
  readonly ciphertext: Buffer;
  /** SEC 1 uncompressed ephemeral point. */
  readonly ephemeralPublicKey: Buffer;
}

/**
 * Encrypts `plaintext` to the server's point. `ephemeralPrivateKey` (32 bytes) fixes the
 * ephemeral key, for test vectors only; by default a fresh one is made.
 */
export function seal(plaintext: Uint8Array, serverPoint: Uint8Array, ephemeralPrivateKey?: Uint8Array): Sealed {
  const ecdh = createP256Ecdh();
  if (ephemeralPrivateKey === undefined) {
    ecdh.generateKeys();
  } else {
    if (ephemeralPrivateKey.length !== P256_PRIVATE_KEY_LENGTH) {
      throw new SknockProtocolError('ERR_SKNOCK_INVALID_ARGUMENT', 'ephemeralPrivateKey must be 32 bytes');
    }
    ecdh.setPrivateKey(ephemeralPrivateKey);
  }
  const z = ecdh.computeSecret(serverPoint);
  const { key, iv } = deriveKnockKeys(z);
  const cipher = createCipheriv(CIPHER, key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { ciphertext, ephemeralPublicKey: ecdh.getPublicKey() };
}

/**
 * The AES key and IV of a knock sealed with `ephemeralPublicKey`: ECDH with the server's key,
 * then HKDF — the public-key work of opening a knock, apart from the decryption so that a
 * server can keep it per point (a datagram repeating a point then costs one AES decryption).
 * Every failure (not a point on the curve, a wrong length or prefix) is
 * `ERR_SKNOCK_DECRYPT_FAILED`.
 */
export function unsealKeys(ephemeralPublicKey: Uint8Array, serverPrivateKey: KeyObject): KnockKeys {
  const ecdh = ecdhFor(serverPrivateKey);
  if (!isUncompressedPoint(ephemeralPublicKey)) {
    throw decryptFailed();
  }
  try {
    return deriveKnockKeys(ecdh.computeSecret(ephemeralPublicKey));
  } catch (cause) {
    throw decryptFailed(cause);
  }
}

/** Decrypts with a key and IV from `unsealKeys`; every failure is `ERR_SKNOCK_DECRYPT_FAILED`. */
export function unsealWith(ciphertext: Uint8Array, keys: KnockKeys): Buffer {
  if (ciphertext.length === 0 || ciphertext.length % AES_BLOCK_LENGTH !== 0) throw decryptFailed();
  try {
    const decipher = createDecipheriv(CIPHER, keys.key, keys.iv);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch (cause) {
    throw decryptFailed(cause);
  }
}
