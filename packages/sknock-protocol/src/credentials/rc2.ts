import { BLOCK_64 } from './constants.js';
import { addPkcs7Padding, removePkcs7Padding } from './padding.js';

/**
 * RC2 (RFC 2268) with CBC and PKCS#7 padding, encrypt and decrypt. Node's OpenSSL 3 keeps
 * RC2 in its legacy provider only, and the legacy PKCS#12 certificate bag (RFC 7292
 * `pbeWithSHAAnd40BitRC2-CBC`) needs it, so it is written out here. It is slow by modern
 * standards but decrypts a few kilobytes in well under a millisecond.
 */

/** RFC 2268 §2: PITABLE, a permutation of 0..255 based on the digits of pi (rows of 16). */
const PITABLE = Uint8Array.from(
  (
    'd9 78 f9 c4 19 dd b5 ed 28 e9 fd 79 4a a0 d8 9d ' +
    'c6 7e 37 83 2b 76 53 8e 62 4c 64 88 44 8b fb a2 ' +
    '17 9a 59 f5 87 b3 4f 13 61 45 6d 8d 09 81 7d 32 ' +
    'bd 8f 40 eb 86 b7 7b 0b f0 95 21 22 5c 6b 4e 82 ' +
    '54 d6 65 93 ce 60 b2 1c 73 56 c0 14 a7 8c f1 dc ' +
    '12 75 ca 1f 3b be e4 d1 42 3d d4 30 a3 3c b6 26 ' +
    '6f bf 0e da 46 69 07 57 27 f2 1d 9b bc 94 43 03 ' +
    'f8 11 c7 f6 90 ef 3e e7 06 c3 d5 2f c8 66 1e d7 ' +
    '08 e8 ea de 80 52 ee f7 84 aa 72 ac 35 4d 6a 2a ' +
    '96 1a d2 71 5a 15 49 74 4b 9f d0 5e 04 18 a4 ec ' +
    'c2 e0 41 6e 0f 51 cb cc 24 91 af 50 a1 f4 70 39 ' +
    '99 7c 3a 85 23 b8 b4 7a fc 02 36 5b 25 55 97 31 ' +
    '2d 5d fa 98 e3 8a 92 ae 05 df 29 10 67 6c ba c9 ' +
    'd3 00 e6 cf e1 9e a8 2c 63 16 01 3f 58 e2 89 a9 ' +
    '0d 38 34 1b ab 33 ff b0 bb 48 0c 5f b9 b1 cd 2e ' +
    'c5 f3 db 47 e5 a5 9c 77 0a a6 20 68 fe 7f c1 ad'
  )
    .split(' ')
    .map((h) => parseInt(h, 16)),
);

/** RFC 2268 §3.1: the rotation amounts s[0..3] of the mixing round. */
const ROTATE = [1, 2, 3, 5] as const;

/** RFC 2268: keys are 1 to 128 bytes; the effective key length is 1 to 1024 bits. */
const MAX_KEY_LENGTH = 128;
const MAX_EFFECTIVE_BITS = 1024;

/** RFC 2268 §2: the 64 expanded key words K[0..63] of a key `key` with `effectiveBits` effective bits. */
export function rc2ExpandKey(key: Uint8Array, effectiveBits: number): Uint16Array {
  const t = key.length;
  if (t < 1 || t > MAX_KEY_LENGTH) throw new RangeError(`RC2 key must be 1 to ${MAX_KEY_LENGTH} bytes, not ${t}`);
  if (!Number.isInteger(effectiveBits) || effectiveBits < 1 || effectiveBits > MAX_EFFECTIVE_BITS) {
    throw new RangeError(`RC2 effective key bits must be 1 to ${MAX_EFFECTIVE_BITS}, not ${effectiveBits}`);
  }
  const l = new Uint8Array(128);
  l.set(key);
  const t8 = Math.ceil(effectiveBits / 8);
  const tm = 0xff >> (8 * t8 - effectiveBits);
  for (let i = t; i < 128; i++) l[i] = PITABLE[((l[i - 1] as number) + (l[i - t] as number)) & 0xff] as number;
  l[128 - t8] = PITABLE[(l[128 - t8] as number) & tm] as number;
  for (let i = 127 - t8; i >= 0; i--) l[i] = PITABLE[(l[i + 1] as number) ^ (l[i + t8] as number)] as number;
  const k = new Uint16Array(64);
  for (let i = 0; i < 64; i++) k[i] = (l[2 * i] as number) | ((l[2 * i + 1] as number) << 8);
  l.fill(0);
  return k;
}

/** RFC 2268 §3: encrypts the 8-byte block at `src[so]` into `dst[doff]` (may be the same place). */
export function rc2EncryptBlock(k: Uint16Array, src: Uint8Array, so: number, dst: Uint8Array, doff: number): void {
  let r0 = (src[so] as number) | ((src[so + 1] as number) << 8);
  let r1 = (src[so + 2] as number) | ((src[so + 3] as number) << 8);
  let r2 = (src[so + 4] as number) | ((src[so + 5] as number) << 8);
  let r3 = (src[so + 6] as number) | ((src[so + 7] as number) << 8);
  let j = 0;
  for (let round = 0; round < 16; round++) {
    // §3.1 mixing round: R[i] += K[j] + (R[i-1] & R[i-2]) + (~R[i-1] & R[i-3]); R[i] <<<= s[i].
    r0 = (r0 + (k[j++] as number) + (r3 & r2) + (~r3 & r1)) & 0xffff;
    r0 = ((r0 << ROTATE[0]) | (r0 >>> (16 - ROTATE[0]))) & 0xffff;
    r1 = (r1 + (k[j++] as number) + (r0 & r3) + (~r0 & r2)) & 0xffff;
    r1 = ((r1 << ROTATE[1]) | (r1 >>> (16 - ROTATE[1]))) & 0xffff;
    r2 = (r2 + (k[j++] as number) + (r1 & r0) + (~r1 & r3)) & 0xffff;
    r2 = ((r2 << ROTATE[2]) | (r2 >>> (16 - ROTATE[2]))) & 0xffff;
    r3 = (r3 + (k[j++] as number) + (r2 & r1) + (~r2 & r0)) & 0xffff;
    r3 = ((r3 << ROTATE[3]) | (r3 >>> (16 - ROTATE[3]))) & 0xffff;
    // §3.4: five mixing rounds, a mashing round, six mixing rounds, a mashing round, five mixing rounds.
    if (round === 4 || round === 10) {
      // §3.2 mashing round: R[i] += K[R[i-1] & 63].
      r0 = (r0 + (k[r3 & 63] as number)) & 0xffff;
      r1 = (r1 + (k[r0 & 63] as number)) & 0xffff;
      r2 = (r2 + (k[r1 & 63] as number)) & 0xffff;
      r3 = (r3 + (k[r2 & 63] as number)) & 0xffff;
    }
  }
  writeBlock(dst, doff, r0, r1, r2, r3);
}

/** RFC 2268 §4: decrypts the 8-byte block at `src[so]` into `dst[doff]` (may be the same place). */
export function rc2DecryptBlock(k: Uint16Array, src: Uint8Array, so: number, dst: Uint8Array, doff: number): void {
  let r0 = (src[so] as number) | ((src[so + 1] as number) << 8);
  let r1 = (src[so + 2] as number) | ((src[so + 3] as number) << 8);
  let r2 = (src[so + 4] as number) | ((src[so + 5] as number) << 8);
  let r3 = (src[so + 6] as number) | ((src[so + 7] as number) << 8);
  let j = 63;
  for (let round = 15; round >= 0; round--) {
    // §4.1 r-mixing round, i = 3 down to 0: R[i] >>>= s[i]; R[i] -= K[j] + (R[i-1] & R[i-2]) + (~R[i-1] & R[i-3]).
    r3 = ((r3 >>> ROTATE[3]) | (r3 << (16 - ROTATE[3]))) & 0xffff;
    r3 = (r3 - (k[j--] as number) - (r2 & r1) - (~r2 & r0)) & 0xffff;
    r2 = ((r2 >>> ROTATE[2]) | (r2 << (16 - ROTATE[2]))) & 0xffff;
    r2 = (r2 - (k[j--] as number) - (r1 & r0) - (~r1 & r3)) & 0xffff;
    r1 = ((r1 >>> ROTATE[1]) | (r1 << (16 - ROTATE[1]))) & 0xffff;
    r1 = (r1 - (k[j--] as number) - (r0 & r3) - (~r0 & r2)) & 0xffff;
    r0 = ((r0 >>> ROTATE[0]) | (r0 << (16 - ROTATE[0]))) & 0xffff;
    r0 = (r0 - (k[j--] as number) - (r3 & r2) - (~r3 & r1)) & 0xffff;
    // §4.3: the mirror of §3.4, r-mashing after the 5th and 11th r-mixing rounds.
    if (round === 11 || round === 5) {
      // §4.2 r-mashing round, i = 3 down to 0: R[i] -= K[R[i-1] & 63].
      r3 = (r3 - (k[r2 & 63] as number)) & 0xffff;
      r2 = (r2 - (k[r1 & 63] as number)) & 0xffff;
      r1 = (r1 - (k[r0 & 63] as number)) & 0xffff;
      r0 = (r0 - (k[r3 & 63] as number)) & 0xffff;
    }
  }
  writeBlock(dst, doff, r0, r1, r2, r3);
}

function writeBlock(dst: Uint8Array, o: number, r0: number, r1: number, r2: number, r3: number): void {
  dst[o] = r0 & 0xff;
  dst[o + 1] = r0 >>> 8;
  dst[o + 2] = r1 & 0xff;
  dst[o + 3] = r1 >>> 8;
  dst[o + 4] = r2 & 0xff;
  dst[o + 5] = r2 >>> 8;
  dst[o + 6] = r3 & 0xff;
  dst[o + 7] = r3 >>> 8;
}

/** RC2-CBC encryption with PKCS#7 padding (RFC 8018 §6.1.1 step 4). */
export function rc2CbcEncrypt(key: Uint8Array, effectiveBits: number, iv: Uint8Array, plaintext: Uint8Array): Uint8Array {
  if (iv.length !== BLOCK_64) throw new RangeError(`RC2-CBC IV must be ${BLOCK_64} bytes`);
  const k = rc2ExpandKey(key, effectiveBits);
  const out = addPkcs7Padding(plaintext, BLOCK_64);
  const chain = Uint8Array.from(iv);
  for (let o = 0; o < out.length; o += BLOCK_64) {
    for (let i = 0; i < BLOCK_64; i++) out[o + i] = (out[o + i] as number) ^ (chain[i] as number);
    rc2EncryptBlock(k, out, o, out, o);
    chain.set(out.subarray(o, o + BLOCK_64));
  }
  k.fill(0);
  return out;
}

/**
 * RC2-CBC decryption and PKCS#7 unpadding. Returns `undefined` when the length is not a
 * whole number of blocks or the padding is wrong, which for a password-based scheme
 * usually means a wrong password.
 */
export function rc2CbcDecrypt(
  key: Uint8Array,
  effectiveBits: number,
  iv: Uint8Array,
  ciphertext: Uint8Array,
): Uint8Array | undefined {
  if (iv.length !== BLOCK_64) throw new RangeError(`RC2-CBC IV must be ${BLOCK_64} bytes`);
  if (ciphertext.length === 0 || ciphertext.length % BLOCK_64 !== 0) return undefined;
  const k = rc2ExpandKey(key, effectiveBits);
  const out = new Uint8Array(ciphertext.length);
  for (let o = 0; o < ciphertext.length; o += BLOCK_64) {
    rc2DecryptBlock(k, ciphertext, o, out, o);
    const prev = o === 0 ? iv : ciphertext.subarray(o - BLOCK_64, o);
    for (let i = 0; i < BLOCK_64; i++) out[o + i] = (out[o + i] as number) ^ (prev[i] as number);
  }
  k.fill(0);
  return removePkcs7Padding(out, BLOCK_64);
}
