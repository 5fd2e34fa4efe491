import { SknockProtocolError } from '../errors/protocol-error.js';
import { TAG } from './tags.js';

/**
 * The one DER writer (ITU-T X.690 §8, §10): definite lengths, minimal INTEGERs, the times of
 * RFC 5280 §4.1.2.5. Each function returns one complete TLV.
 */

function invalid(message: string): SknockProtocolError {
  return new SknockProtocolError('ERR_SKNOCK_INVALID_ARGUMENT', message);
}

/** X.690 §8.1.3: length octets, short form below 128, else long form. */
export function encodeLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const octets: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) octets.unshift(v & 0xff);
  return Uint8Array.from([0x80 | octets.length, ...octets]);
}

/** One TLV from a tag and its contents (joined). */
export function encodeTlv(tag: number, ...contents: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const c of contents) total += c.length;
  const length = encodeLength(total);
  const out = new Uint8Array(1 + length.length + total);
  out[0] = tag;
  out.set(length, 1);
  let o = 1 + length.length;
  for (const c of contents) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

export function encodeSequence(...items: readonly Uint8Array[]): Uint8Array {
  return encodeTlv(TAG.SEQUENCE, ...items);
}

/** X.690 §11.6: a SET OF, its elements sorted by their encodings. */
export function encodeSetOf(...items: readonly Uint8Array[]): Uint8Array {
  return encodeTlv(TAG.SET, ...[...items].sort((a, b) => Buffer.compare(a, b)));
}

/** Contents octets of an OBJECT IDENTIFIER (X.690 §8.19) from dotted text. */
export function encodeOidContents(oid: string): Uint8Array {
  const arcs = typeof oid === 'string' ? oid.split('.').map((a) => (/^\d+$/.test(a) ? Number(a) : Number.NaN)) : [];
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a)) || (arcs[0] as number) > 2 || ((arcs[0] as number) < 2 && (arcs[1] as number) > 39)) {
    throw invalid(`not an OBJECT IDENTIFIER: ${String(oid)}`);
  }
  const out: number[] = [];
  for (const arc of [(arcs[0] as number) * 40 + (arcs[1] as number), ...arcs.slice(2)]) {
    const groups = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) groups.unshift(0x80 | (v & 0x7f));
    out.push(...groups);
  }
  return Uint8Array.from(out);
}

export function encodeOid(oid: string): Uint8Array {
  return encodeTlv(TAG.OID, encodeOidContents(oid));
}

/** A non-negative INTEGER (X.690 §8.3), minimal octets, from a number, a bigint or unsigned big-endian bytes. */
export function encodeUnsignedInteger(value: number | bigint | Uint8Array): Uint8Array {
  let bytes: Uint8Array;
  if (value instanceof Uint8Array) {
    let i = 0;
    while (i < value.length - 1 && value[i] === 0) i++;
    bytes = value.length === 0 ? Uint8Array.of(0) : value.subarray(i);
  } else {
    const big = typeof value === 'bigint' ? value : Number.isSafeInteger(value) ? BigInt(value) : -1n;
    if (big < 0n) throw invalid(`not a non-negative integer: ${String(value)}`);
    const hex = big.toString(16);
    bytes = Buffer.from(hex.length % 2 === 1 ? `0${hex}` : hex, 'hex');
  }
  if (((bytes[0] as number) & 0x80) !== 0) return encodeTlv(TAG.INTEGER, Uint8Array.of(0), bytes);
  return encodeTlv(TAG.INTEGER, bytes);
}

export function encodeOctetString(bytes: Uint8Array): Uint8Array {
  return encodeTlv(TAG.OCTET_STRING, bytes);
}

/** A BIT STRING of whole octets (no unused bits). */
export function encodeBitString(bytes: Uint8Array): Uint8Array {
  return encodeTlv(TAG.BIT_STRING, Uint8Array.of(0), bytes);
}

export function encodeBoolean(value: boolean): Uint8Array {
  return Uint8Array.of(TAG.BOOLEAN, 1, value ? 0xff : 0x00);
}

export function encodeNull(): Uint8Array {
  return Uint8Array.of(TAG.NULL, 0);
}

export function encodeUtf8String(text: string): Uint8Array {
  return encodeTlv(TAG.UTF8_STRING, Buffer.from(text, 'utf8'));
}

/** A BMPString (UTF-16BE, X.690 §8.23.8). */
export function encodeBmpString(text: string): Uint8Array {
  return encodeTlv(TAG.BMP_STRING, Buffer.from(text, 'utf16le').swap16());
}

/**
 * RFC 5280 §4.1.2.5: UTCTime for the years 1950–2049, GeneralizedTime otherwise, in whole
 * seconds, always in Zulu.
 */
export function encodeTime(date: Date): Uint8Array {
  const ms = date instanceof Date ? date.getTime() : Number.NaN;
  if (!Number.isFinite(ms)) throw invalid('not a valid Date');
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const year = Number(iso.slice(0, 4));
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
  if (year >= 1950 && year < 2050) return encodeTlv(TAG.UTC_TIME, Buffer.from(`${digits.slice(2)}Z`, 'latin1'));
  return encodeTlv(TAG.GENERALIZED_TIME, Buffer.from(`${digits}Z`, 'latin1'));
}

/** `[n]` EXPLICIT (constructed, context-specific) around `contents`. */
export function encodeExplicit(n: number, ...contents: readonly Uint8Array[]): Uint8Array {
  return encodeTlv(0xa0 | n, ...contents);
}
