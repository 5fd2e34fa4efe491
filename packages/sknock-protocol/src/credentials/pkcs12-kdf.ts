import { hash } from 'node:crypto';

/**
 * The PKCS#12 password-based key derivation (RFC 7292 appendix B.2), which derives the
 * keys and IVs of the legacy `pbeWithSHAAnd…` schemes and the key of the PFX MAC (even
 * when the MAC is HMAC-SHA-256, as OpenSSL 3 writes it). node:crypto does not expose it.
 * The password is the BMPString form from `bmpPassword`.
 */

export type Pkcs12KdfDigest = 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';

/** Output length u and block length v, in bytes, of each digest (FIPS 180-4). */
const DIGEST_SIZES: Readonly<Record<Pkcs12KdfDigest, { readonly u: number; readonly v: number }>> = {
  sha1: { u: 20, v: 64 },
  sha224: { u: 28, v: 64 },
  sha256: { u: 32, v: 64 },
  sha384: { u: 48, v: 128 },
  sha512: { u: 64, v: 128 },
};

export function isPkcs12KdfDigest(name: string): name is Pkcs12KdfDigest {
  return Object.hasOwn(DIGEST_SIZES, name);
}

/** Output length of `digest` in bytes. */
export function digestLength(digest: Pkcs12KdfDigest): number {
  return DIGEST_SIZES[digest].u;
}

/**
 * RFC 7292 appendix B.1: the password as a BMPString (UTF-16 big-endian) with a two-byte
 * zero terminator. `''` gives just the terminator, as OpenSSL does; pass `null` for the
 * absent password (zero bytes).
 */
export function bmpPassword(passphrase: string | null): Uint8Array {
  if (passphrase === null) return new Uint8Array(0);
  const out = new Uint8Array(2 * passphrase.length + 2);
  for (let i = 0; i < passphrase.length; i++) {
    const c = passphrase.charCodeAt(i);
    out[2 * i] = c >>> 8;
    out[2 * i + 1] = c & 0xff;
  }
  return out;
}

/** `src` repeated to fill a whole number of `v`-byte blocks (RFC 7292 appendix B.2 steps 2–3). */
function stretch(src: Uint8Array, v: number): Uint8Array {
  if (src.length === 0) return src;
  const out = new Uint8Array(v * Math.ceil(src.length / v));
  for (let i = 0; i < out.length; i++) out[i] = src[i % src.length] as number;
  return out;
}

/**
 * RFC 7292 appendix B.2: `length` bytes of key material of kind `id` (1 key, 2 IV, 3 MAC
 * key) from the BMPString `password`, `salt` and `iterations`.
 */
export function pkcs12Kdf(
  digest: Pkcs12KdfDigest,
  password: Uint8Array,
  salt: Uint8Array,
  id: number,
  iterations: number,
  length: number,
): Uint8Array {
  const { u, v } = DIGEST_SIZES[digest];
  if (!Number.isInteger(iterations) || iterations < 1) throw new RangeError('PKCS#12 KDF iterations must be a positive integer');
  // Steps 1–4: D = ID repeated to v bytes; I = S ‖ P, each stretched to whole blocks.
  const d = new Uint8Array(v).fill(id);
  const s = stretch(salt, v);
  const p = stretch(password, v);
  const i = new Uint8Array(s.length + p.length);
  i.set(s);
  i.set(p, s.length);
  const dI = new Uint8Array(v + i.length);
  dI.set(d);
  const out = new Uint8Array(Math.ceil(length / u) * u);
  const b = new Uint8Array(v);
  for (let block = 0, o = 0; o < length; block++, o += u) {
    // Step 6a: A = H^r(D ‖ I).
    dI.set(i, v);
    let a: Uint8Array = hash(digest, dI, 'buffer');
    for (let r = 1; r < iterations; r++) a = hash(digest, a, 'buffer');
    out.set(a, o);
    if (o + u >= length) break;
    // Step 6b–c: B = A repeated to v bytes; every v-byte block I_j = (I_j + B + 1) mod 2^(8v).
    for (let k = 0; k < v; k++) b[k] = a[k % u] as number;
    for (let j = 0; j < i.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = (i[j + k] as number) + (b[k] as number) + carry;
        i[j + k] = sum & 0xff;
        carry = sum >>> 8;
      }
    }
  }
  return out.subarray(0, length);
}
