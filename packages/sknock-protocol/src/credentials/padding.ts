/**
 * PKCS#7 block padding (RFC 5652 §6.3, the same as RFC 8018 §6.1.1 step 4) for the one
 * cipher written here (RC2); node:crypto pads its own ciphers.
 */

/** A copy of `data` with 1 to `blockLength` bytes of padding, each holding the pad length. */
export function addPkcs7Padding(data: Uint8Array, blockLength: number): Uint8Array {
  const pad = blockLength - (data.length % blockLength);
  const out = new Uint8Array(data.length + pad);
  out.set(data);
  out.fill(pad, data.length);
  return out;
}

/** `data` without its padding, or `undefined` when the padding is not well formed. */
export function removePkcs7Padding(data: Uint8Array, blockLength: number): Uint8Array | undefined {
  if (data.length === 0 || data.length % blockLength !== 0) return undefined;
  const pad = data[data.length - 1] as number;
  if (pad < 1 || pad > blockLength) return undefined;
  let bad = 0;
  for (let i = data.length - pad; i < data.length; i++) bad |= (data[i] as number) ^ pad;
  return bad === 0 ? data.subarray(0, data.length - pad) : undefined;
}
