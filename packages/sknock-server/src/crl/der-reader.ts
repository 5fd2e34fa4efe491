import { SknockCrlError } from './errors.js';

/**
 * A bounds-checked reader of DER (ITU-T X.690 §8, §10) TLVs over a Uint8Array: enough of DER
 * to walk an X.509 CRL and certificate. Single-byte tags only (X.509 uses no others);
 * definite lengths only (DER, X.690 §10.1). Every read is checked against the end of its
 * enclosing element; a violation throws `SknockCrlError` ERR_SKNOCK_CRL_MALFORMED.
 */

export interface Tlv {
  readonly tag: number;
  /** Offset of the tag byte. */
  readonly start: number;
  /** Offset of the first content byte. */
  readonly contentStart: number;
  /** Offset just past the content. */
  readonly end: number;
}

/** X.690 §8.1.2: universal tags used here; context tags are 0xa0 | n (constructed). */
export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
  CONTEXT_0: 0xa0,
  CONTEXT_3: 0xa3,
} as const;

function malformed(what: string): never {
  throw new SknockCrlError('ERR_SKNOCK_CRL_MALFORMED', `malformed DER: ${what}`);
}

export class DerReader {
  readonly bytes: Uint8Array;
  #pos: number;
  readonly #end: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    if (start < 0 || end > bytes.length || start > end) malformed('reader range out of bounds');
    this.bytes = bytes;
    this.#pos = start;
    this.#end = end;
  }

  get atEnd(): boolean {
    return this.#pos >= this.#end;
  }

  get position(): number {
    return this.#pos;
  }

  /** Tag of the next element, or -1 at the end. */
  peekTag(): number {
    return this.#pos < this.#end ? (this.bytes[this.#pos] as number) : -1;
  }

  /** Reads the next TLV header and skips past its content. */
  next(expectedTag?: number, what = 'element'): Tlv {
    const start = this.#pos;
    if (start >= this.#end) malformed(`${what} missing`);
    const tag = this.bytes[start] as number;
    if ((tag & 0x1f) === 0x1f) malformed(`${what}: multi-byte tag`);
    if (expectedTag !== undefined && tag !== expectedTag) {
      malformed(`${what}: tag 0x${tag.toString(16)} where 0x${expectedTag.toString(16)} was expected`);
    }
    let p = start + 1;
    if (p >= this.#end) malformed(`${what}: length missing`);
    const first = this.bytes[p++] as number;
    let length: number;
    if (first < 0x80) {
      length = first;
    } else {
      const count = first & 0x7f;
      if (count === 0) malformed(`${what}: indefinite length`);
      if (count > 4) malformed(`${what}: length too large`);
      if (p + count > this.#end) malformed(`${what}: length runs past its container`);
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + (this.bytes[p++] as number);
    }
    const contentStart = p;
    const end = contentStart + length;
    if (end > this.#end) malformed(`${what}: content runs past its container`);
    this.#pos = end;
    return { tag, start, contentStart, end };
  }

  /** A reader over the content of a constructed element. */
  static inside(bytes: Uint8Array, tlv: Tlv): DerReader {
    return new DerReader(bytes, tlv.contentStart, tlv.end);
  }

  /** Reads the next element, which must be a constructed one with `tag`, and returns a reader inside it. */
  enter(tag: number, what: string): DerReader {
    return DerReader.inside(this.bytes, this.next(tag, what));
  }

  /** Throws unless the element is fully read. */
  expectEnd(what: string): void {
    if (!this.atEnd) malformed(`${what}: unexpected data after its last field`);
  }
}

/** Content bytes of a TLV. */
export function contentOf(bytes: Uint8Array, tlv: Tlv): Uint8Array {
  return bytes.subarray(tlv.contentStart, tlv.end);
}

/** Whole encoding (tag, length, content) of a TLV. */
export function encodingOf(bytes: Uint8Array, tlv: Tlv): Uint8Array {
  return bytes.subarray(tlv.start, tlv.end);
}

/** X.690 §8.19: an OBJECT IDENTIFIER's content as dotted text. */
export function decodeOid(content: Uint8Array): string {
  if (content.length === 0) malformed('empty OBJECT IDENTIFIER');
  const arcs: number[] = [];
  let value = 0;
  for (let i = 0; i < content.length; i++) {
    const b = content[i] as number;
    if (value === 0 && b === 0x80) malformed('OBJECT IDENTIFIER arc with a leading 0x80');
    value = value * 128 + (b & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER) malformed('OBJECT IDENTIFIER arc too large');
    if ((b & 0x80) === 0) {
      if (arcs.length === 0) {
        const first = value < 40 ? 0 : value < 80 ? 1 : 2;
        arcs.push(first, value - first * 40);
      } else {
        arcs.push(value);
      }
      value = 0;
    } else if (i === content.length - 1) {
      malformed('OBJECT IDENTIFIER ends inside an arc');
    }
  }
  return arcs.join('.');
}

/** RFC 5280 §4.1.2.5: UTCTime `YYMMDDHHMMSSZ` (YY < 50 → 20YY) or GeneralizedTime `YYYYMMDDHHMMSSZ`. */
export function decodeTime(bytes: Uint8Array, tlv: Tlv, what: string): Date {
  const text = Buffer.from(contentOf(bytes, tlv)).toString('latin1');
  let m: RegExpExecArray | null;
  let year: number;
  if (tlv.tag === TAG.UTC_TIME) {
    m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    if (!m) malformed(`${what}: bad UTCTime '${text}'`);
    const yy = Number(m[1]);
    year = yy < 50 ? 2000 + yy : 1900 + yy;
  } else if (tlv.tag === TAG.GENERALIZED_TIME) {
    m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z$/.exec(text);
    if (!m) malformed(`${what}: bad GeneralizedTime '${text}'`);
    year = Number(m[1]);
  } else {
    malformed(`${what}: not a time`);
  }
  const [month, day, hour, minute, second] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const date = new Date(ms);
  if (Number.isNaN(ms) || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    malformed(`${what}: impossible date '${text}'`);
  }
  return date;
}

/** True when the next element is a time (UTCTime or GeneralizedTime). */
export function isTimeTag(tag: number): boolean {
  return tag === TAG.UTC_TIME || tag === TAG.GENERALIZED_TIME;
}

/** X.690 §8.3: INTEGER content as an unsigned bigint (for CRL numbers, which RFC 5280 §5.2.3 keeps non-negative). */
export function integerToBigInt(content: Uint8Array, what: string): bigint {
  if (content.length === 0) malformed(`${what}: empty INTEGER`);
  if (((content[0] as number) & 0x80) !== 0) malformed(`${what}: negative INTEGER`);
  return BigInt(`0x${Buffer.from(content).toString('hex')}`);
}
