import type { ByteReader } from './reader.js';

/**
 * Just enough DER (ITU-T X.690 §8, §10) to walk a certificate to one extension and to
 * write the sKnock grant otherName. Reads go through `ByteReader`.
 */

export const TAG_BOOLEAN = 0x01;
export const TAG_INTEGER = 0x02;
export const TAG_BIT_STRING = 0x03;
export const TAG_OCTET_STRING = 0x04;
export const TAG_OID = 0x06;
export const TAG_UTF8_STRING = 0x0c;
export const TAG_SEQUENCE = 0x30;
/** `[0]` constructed: otherName in GeneralName, its EXPLICIT value, and the tbs version. */
export const TAG_CONTEXT_0 = 0xa0;
/** `[3]` constructed: tbsCertificate extensions. */
export const TAG_CONTEXT_3 = 0xa3;

export interface Tlv {
  readonly tag: number;
  /** Reader over the contents only. */
  readonly body: ByteReader;
  readonly length: number;
}

/** Reads one TLV (definite lengths only, as DER requires: X.690 §10.1). */
export function readTlv(r: ByteReader, what: string): Tlv {
  const tag = r.u8(`${what} tag`);
  if ((tag & 0x1f) === 0x1f) throw r.error(`${what}: multi-byte tags are not used here`);
  const first = r.u8(`${what} length`);
  let length: number;
  if (first < 0x80) {
    length = first;
  } else {
    const n = first & 0x7f;
    if (n === 0 || n > 3) throw r.error(`${what}: unsupported length form 0x${first.toString(16)}`);
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + r.u8(`${what} length`);
  }
  return { tag, length, body: r.sub(length, what) };
}

/** Reads one TLV and checks its tag. */
export function expectTlv(r: ByteReader, tag: number, what: string): Tlv {
  const tlv = readTlv(r, what);
  if (tlv.tag !== tag) {
    throw r.error(`${what}: expected tag 0x${tag.toString(16)}, found 0x${tlv.tag.toString(16)}`);
  }
  return tlv;
}

/** DER length octets (X.690 §8.1.3). */
function encodeLength(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
}

/** One DER TLV from a tag and its contents. */
export function encodeTlv(tag: number, ...contents: Uint8Array[]): Uint8Array {
  const total = contents.reduce((n, c) => n + c.length, 0);
  const head = [tag, ...encodeLength(total)];
  const out = new Uint8Array(head.length + total);
  out.set(head, 0);
  let o = head.length;
  for (const c of contents) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** Contents octets of an OBJECT IDENTIFIER (X.690 §8.19) from dotted text. */
export function encodeOidContents(oid: string): Uint8Array {
  const arcs = oid.split('.').map((a) => Number(a));
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a) || a < 0)) {
    throw new TypeError(`not an OID: ${oid}`);
  }
  const out: number[] = [(arcs[0] as number) * 40 + (arcs[1] as number)];
  for (const arc of arcs.slice(2)) {
    const groups: number[] = [];
    let v = arc;
    do {
      groups.unshift(v & 0x7f);
      v = Math.floor(v / 128);
    } while (v > 0);
    for (let i = 0; i < groups.length - 1; i++) groups[i] = (groups[i] as number) | 0x80;
    out.push(...groups);
  }
  return Uint8Array.from(out);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
