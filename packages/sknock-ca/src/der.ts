import { SknockCaError } from './errors.js';

/**
 * The little DER (X.690) this CA reads and writes by hand: TLV headers with definite
 * lengths, for splicing an extension into a certificate it has just made.
 */

export interface TlvHeader {
  readonly tag: number;
  /** Offset of the TLV. */
  readonly offset: number;
  /** Length of tag + length octets. */
  readonly headerLength: number;
  /** Length of the contents. */
  readonly length: number;
  /** Offset just past the contents. */
  readonly end: number;
}

function broken(what: string): SknockCaError {
  return new SknockCaError('ERR_SKNOCK_CA_INVALID_ARGUMENT', `malformed DER: ${what}`);
}

/** The TLV header at `offset` (single-octet tags, definite lengths up to 4 octets). */
export function readTlvHeader(der: Uint8Array, offset: number): TlvHeader {
  if (offset + 2 > der.length) throw broken('truncated header');
  const tag = der[offset] as number;
  const first = der[offset + 1] as number;
  let length = first;
  let headerLength = 2;
  if (first >= 0x80) {
    const n = first & 0x7f;
    if (n === 0 || n > 4 || offset + 2 + n > der.length) throw broken('bad length octets');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + (der[offset + 2 + i] as number);
    headerLength += n;
  }
  const end = offset + headerLength + length;
  if (end > der.length) throw broken('contents run past the end');
  return { tag, offset, headerLength, length, end };
}

/** Tag, definite length, contents. */
export function encodeTlv(tag: number, ...contents: Uint8Array[]): Uint8Array {
  const length = contents.reduce((n, c) => n + c.length, 0);
  let header: number[];
  if (length < 0x80) header = [tag, length];
  else {
    const octets: number[] = [];
    for (let n = length; n > 0; n = Math.floor(n / 256)) octets.unshift(n % 256);
    header = [tag, 0x80 | octets.length, ...octets];
  }
  const out = new Uint8Array(header.length + length);
  out.set(header, 0);
  let at = header.length;
  for (const c of contents) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** An OBJECT IDENTIFIER TLV (X.690 §8.19) from dotted text. */
export function encodeOid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map(Number);
  const [first = 0, second = 0, ...rest] = arcs;
  const octets: number[] = [];
  for (const arc of [first * 40 + second, ...rest]) {
    const base128: number[] = [arc & 0x7f];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) base128.unshift(0x80 | (n & 0x7f));
    octets.push(...base128);
  }
  return encodeTlv(0x06, Uint8Array.from(octets));
}

/** A non-negative INTEGER TLV (X.690 §8.3), minimal octets. */
export function encodeUnsigned(value: number): Uint8Array {
  const octets: number[] = [];
  for (let n = value; n > 0; n = Math.floor(n / 256)) octets.unshift(n % 256);
  if (octets.length === 0 || (octets[0] as number) >= 0x80) octets.unshift(0);
  return encodeTlv(0x02, Uint8Array.from(octets));
}
