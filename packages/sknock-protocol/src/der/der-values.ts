import type { DerReader, Tlv } from './der-reader.js';
import { TAG } from './tags.js';

/**
 * Values inside DER elements (X.690 §8): OBJECT IDENTIFIER, INTEGER, BOOLEAN, BIT STRING
 * and the two X.509 times. Each takes the reader that returned the element, so a bad value
 * throws that reader's error.
 */

/** X.690 §8.19: an OBJECT IDENTIFIER's content as dotted text. */
export function decodeOid(r: DerReader, content: Uint8Array, what = 'OBJECT IDENTIFIER'): string {
  if (content.length === 0) throw r.error(`${what}: empty OBJECT IDENTIFIER`);
  let text = '';
  let value = 0;
  let first = true;
  for (let i = 0; i < content.length; i++) {
    const b = content[i] as number;
    if (value === 0 && b === 0x80) throw r.error(`${what}: OBJECT IDENTIFIER arc with a leading 0x80`);
    value = value * 128 + (b & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER) throw r.error(`${what}: OBJECT IDENTIFIER arc too large`);
    if ((b & 0x80) === 0) {
      if (first) {
        const arc = value < 40 ? 0 : value < 80 ? 1 : 2;
        text = `${arc}.${value - arc * 40}`;
        first = false;
      } else {
        text += `.${value}`;
      }
      value = 0;
    } else if (i === content.length - 1) {
      throw r.error(`${what}: OBJECT IDENTIFIER ends inside an arc`);
    }
  }
  return text;
}

/** The next element, an OBJECT IDENTIFIER, as dotted text. */
export function readOid(r: DerReader, what: string): string {
  return decodeOid(r, r.content(TAG.OID, what), what);
}

/** X.690 §8.3: INTEGER content as an unsigned bigint (serials, CRL numbers: RFC 5280 keeps them non-negative). */
export function decodeUnsigned(r: DerReader, content: Uint8Array, what: string): bigint {
  if (content.length === 0) throw r.error(`${what}: empty INTEGER`);
  if (((content[0] as number) & 0x80) !== 0) throw r.error(`${what}: negative INTEGER`);
  return BigInt(`0x${Buffer.from(content).toString('hex')}`);
}

/** The next element, an INTEGER in `[min, max]` (small: versions, iteration counts), as a number. */
export function readSmallInteger(r: DerReader, what: string, min: number, max: number): number {
  const value = decodeUnsigned(r, r.content(TAG.INTEGER, what), what);
  if (value < BigInt(min) || value > BigInt(max)) throw r.error(`${what}: ${value} is outside ${min}..${max}`);
  return Number(value);
}

/** X.690 §8.2 / §11.1: a DER BOOLEAN's content (one octet). */
export function decodeBoolean(r: DerReader, content: Uint8Array, what: string): boolean {
  if (content.length !== 1) throw r.error(`${what}: bad BOOLEAN`);
  return content[0] !== 0;
}

/** X.690 §8.6: a BIT STRING's content without its unused-bits octet, which must be 0 (signatures, keys). */
export function decodeWholeBitString(r: DerReader, content: Uint8Array, what: string): Uint8Array {
  if (content.length < 1 || content[0] !== 0) throw r.error(`${what}: BIT STRING with unused bits`);
  return content.subarray(1);
}

/** True for the tag of a UTCTime or a GeneralizedTime. */
export function isTimeTag(tag: number): boolean {
  return tag === TAG.UTC_TIME || tag === TAG.GENERALIZED_TIME;
}

/** RFC 5280 §4.1.2.5: UTCTime `YYMMDDHHMMSSZ` (YY < 50 → 20YY) or GeneralizedTime `YYYYMMDDHHMMSSZ`. */
export function decodeTime(r: DerReader, tlv: Tlv, what: string): Date {
  const text = Buffer.from(r.contentOf(tlv)).toString('latin1');
  let m: RegExpExecArray | null;
  let year: number;
  if (tlv.tag === TAG.UTC_TIME) {
    m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    if (!m) throw r.error(`${what}: bad UTCTime '${text}'`);
    const yy = Number(m[1]);
    year = yy < 50 ? 2000 + yy : 1900 + yy;
  } else if (tlv.tag === TAG.GENERALIZED_TIME) {
    m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z$/.exec(text);
    if (!m) throw r.error(`${what}: bad GeneralizedTime '${text}'`);
    year = Number(m[1]);
  } else {
    throw r.error(`${what}: not a time`);
  }
  const [month, day, hour, minute, second] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const date = new Date(ms);
  if (Number.isNaN(ms) || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    throw r.error(`${what}: impossible date '${text}'`);
  }
  return date;
}

/** The next element, a time, as a Date. */
export function readTime(r: DerReader, what: string): Date {
  const tlv = r.next(undefined, what);
  if (!isTimeTag(tlv.tag)) throw r.error(`${what}: not a time`);
  return decodeTime(r, tlv, what);
}

/** X.509 string types (X.520) as text: UTF8String, PrintableString, IA5String, TeletexString (Latin-1), BMPString. */
export function decodeString(tag: number, content: Uint8Array): string | undefined {
  const bytes = Buffer.from(content);
  switch (tag) {
    case TAG.UTF8_STRING:
      return bytes.toString('utf8');
    case TAG.PRINTABLE_STRING:
    case TAG.IA5_STRING:
    case TAG.TELETEX_STRING:
      return bytes.toString('latin1');
    case TAG.BMP_STRING:
      return bytes.length % 2 === 0 ? Buffer.from(bytes).swap16().toString('utf16le') : undefined;
    default:
      return undefined;
  }
}
