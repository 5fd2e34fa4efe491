/**
 * Copies of a knock an attacker on the path can make without any key, each keeping the
 * datagram's ephemeral point (or its mirror): for the replay-cache tests. AES-CBC lets a bit
 * flipped in ciphertext block i garble plaintext block i and flip the same bit of block
 * i + 1, so each change is aimed at one field of the signed request (PROTOCOL.md "Signed
 * request": the certificate from offset 24, the signature ending at 97 + c).
 */

const HEADER = 4;
const POINT = 65;
const BLOCK = 16;
/** P-256's field prime. */
const P = BigInt('0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff');

export interface TamperedCopies {
  /** The last block's padding broken: does not decrypt. */
  readonly padding: Buffer;
  /** Two blocks inside the signature changed: decrypts, the signature does not verify. */
  readonly signature: Buffer;
  /** Two blocks inside the certificate changed: decrypts, the certificate is not trusted. */
  readonly certificate: Buffer;
  /** The mirror point −P = (x, p − y), same ciphertext: decrypts to the same request. */
  readonly mirror: Buffer;
  /** The point's last bit flipped: the same X, a point off the curve. */
  readonly offCurve: Buffer;
  /** Version bytes 1.0.0 → 0.9.9 (older versions are read the same). */
  readonly version: Buffer;
  /** The datagram as it is. */
  readonly genuine: Buffer;
}

function flip(datagram: Uint8Array, at: number): Buffer {
  const copy = Buffer.from(datagram);
  copy[at] = (copy[at] as number) ^ 0x01;
  return copy;
}

/** `certificateLength`: the client certificate's DER length (it fixes where the fields are). */
export function tamperedCopies(datagram: Uint8Array, certificateLength: number): TamperedCopies {
  const ciphertextLength = datagram.length - HEADER - POINT;
  const lastSignatureByte = 97 + certificateLength - 1; // plaintext offset
  const block = (plaintextOffset: number): number => Math.floor(plaintextOffset / BLOCK);
  // Flipping the last byte of the next-to-last ciphertext block flips the last padding byte
  // k to k ^ 1, which is never valid padding after k − 1 bytes of k.
  const padding = flip(datagram, HEADER + ciphertextLength - BLOCK - 1);
  // The block before the signature's last one: garbled, and the last byte flipped.
  const sigBlock = block(lastSignatureByte) - 1;
  const signature = flip(datagram, HEADER + sigBlock * BLOCK + (lastSignatureByte % BLOCK));
  // Plaintext blocks 5 and 6 (offsets 80–111) lie inside any client certificate.
  const certificate = flip(datagram, HEADER + 5 * BLOCK);
  const mirror = Buffer.from(datagram);
  const yAt = datagram.length - 32;
  const y = BigInt(`0x${mirror.subarray(yAt).toString('hex')}`);
  Buffer.from((P - y).toString(16).padStart(64, '0'), 'hex').copy(mirror, yAt);
  const offCurve = flip(datagram, datagram.length - 1);
  const version = Buffer.from(datagram);
  version.set([0, 9, 9], 1);
  return { padding, signature, certificate, mirror, offCurve, version, genuine: Buffer.from(datagram) };
}
