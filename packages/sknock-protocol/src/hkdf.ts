import hkdf from 'futoin-hkdf';
import { AES_IV_LENGTH, AES_KEY_LENGTH, HKDF_INFO_IV, HKDF_INFO_KEY, HKDF_SALT_TEXT, SHA256_LENGTH } from './constants.js';

/**
 * The two HKDF-SHA256 outputs of PROTOCOL.md "Keys" (RFC 5869): one extract with the salt
 * `S` (as ASCII text), then one expand for the AES key and one for the IV. futoin-hkdf's
 * separate extract/expand does this in 12 µs against 22 µs for two `hkdfSync` calls
 * (docs/PROTOCOL-NOTES.md), and is byte-identical to it.
 */

const HASH = 'sha256'; // the digest name every runtime's node:crypto knows (Deno refuses 'SHA-256' for HMAC)
const HASH_LENGTH = SHA256_LENGTH;
const SALT = Buffer.from(HKDF_SALT_TEXT, 'ascii');
const INFO_KEY = Buffer.from(HKDF_INFO_KEY, 'ascii');
const INFO_IV = Buffer.from(HKDF_INFO_IV, 'ascii');

export interface KnockKeys {
  readonly key: Buffer;
  readonly iv: Buffer;
}

/** RFC 5869 HKDF with SHA-256: extract, then expand to `length` bytes. */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Buffer {
  const prk = hkdf.extract(HASH, HASH_LENGTH, Buffer.from(ikm), Buffer.from(salt));
  return hkdf.expand(HASH, HASH_LENGTH, prk, length, Buffer.from(info));
}

/** AES key and IV from the ECDH secret `Z`. */
export function deriveKnockKeys(sharedSecret: Uint8Array): KnockKeys {
  const prk = hkdf.extract(HASH, HASH_LENGTH, Buffer.from(sharedSecret.buffer, sharedSecret.byteOffset, sharedSecret.byteLength), SALT);
  return {
    key: hkdf.expand(HASH, HASH_LENGTH, prk, AES_KEY_LENGTH, INFO_KEY),
    iv: hkdf.expand(HASH, HASH_LENGTH, prk, AES_IV_LENGTH, INFO_IV),
  };
}
