import { SknockProtocolError, type SknockProtocolErrorCode } from '../errors/protocol-error.js';
import type { SknockError } from '../errors/sknock-error.js';

/**
 * The one bounds-checked DER reader (ITU-T X.690 §8, §10) of the sKnock packages, over a
 * `Uint8Array`. Single-octet tags (X.509, CRLs, PKCS#12 and the grant otherName use no
 * others) and definite lengths (DER, X.690 §10.1); in `ber` mode also the indefinite
 * lengths of BER (X.690 §8.1.3.6), which PKCS#12 files from other tools use, nested at
 * most 32 deep. Every read is checked against the end of its
 * enclosing element; a violation throws the error the caller chose (by default a
 * `SknockProtocolError` with `ERR_SKNOCK_MALFORMED_DER`), so a truncated certificate
 * reports `ERR_SKNOCK_INVALID_CERTIFICATE` and a truncated CRL `ERR_SKNOCK_CRL_MALFORMED`.
 * Offsets are into the bytes the reader was made over, so `encodingOf` and `contentOf`
 * are views, never copies.
 */

export interface Tlv {
  readonly tag: number;
  /** Offset of the tag octet. */
  readonly start: number;
  /** Offset of the first content octet. */
  readonly contentStart: number;
  /** Offset just past the content (before the end-of-contents octets of an indefinite length). */
  readonly contentEnd: number;
  /** Offset just past the element. */
  readonly end: number;
}

/** `der`: definite lengths only; `ber`: indefinite lengths of constructed elements too. */
export type DerMode = 'der' | 'ber';

/** Makes the error a malformed element throws; `message` says what and where. */
export type DerFailure = (message: string) => SknockError;

/** What a reader throws: a protocol error code, or a function making any sKnock error. */
export type DerFailureSpec = SknockProtocolErrorCode | DerFailure;

/** Longest length field read (4 octets: 4 GiB, far beyond any input this reads). */
const MAX_LENGTH_OCTETS = 4;
/** Deepest nesting of indefinite-length elements read in `ber` mode. */
const MAX_INDEFINITE_DEPTH = 32;
/** X.690 §8.1.2.5: the constructed bit of an identifier octet. */
const CONSTRUCTED = 0x20;

function failureOf(spec: DerFailureSpec): DerFailure {
  return typeof spec === 'function' ? spec : (message) => new SknockProtocolError(spec, message);
}

export class DerReader {
  /** The bytes every offset refers to. */
  readonly bytes: Uint8Array;
  readonly mode: DerMode;
  readonly #fail: DerFailure;
  #pos: number;
  readonly #end: number;
  readonly #depth: number;

  constructor(bytes: Uint8Array, fail: DerFailureSpec = 'ERR_SKNOCK_MALFORMED_DER', start = 0, end = bytes?.length ?? 0, mode: DerMode = 'der', depth = 0) {
    this.#fail = failureOf(fail);
    this.mode = mode;
    this.#depth = depth;
    if (!(bytes instanceof Uint8Array)) throw this.#fail('DER input is not a byte array');
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > bytes.length || start > end) {
      throw this.#fail('reader range out of bounds');
    }
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

  /** The error this reader throws, with `message`. */
  error(message: string): SknockError {
    return this.#fail(message);
  }

  /** Reads the next TLV header, checks its tag when one is given, and skips past its content. */
  next(expectedTag?: number, what = 'element'): Tlv {
    const bytes = this.bytes;
    const start = this.#pos;
    if (start >= this.#end) throw this.#fail(`${what} missing`);
    const tag = bytes[start] as number;
    if ((tag & 0x1f) === 0x1f) throw this.#fail(`${what}: multi-byte tag`);
    if (expectedTag !== undefined && tag !== expectedTag) {
      throw this.#fail(`${what}: tag 0x${tag.toString(16)} where 0x${expectedTag.toString(16)} was expected`);
    }
    let p = start + 1;
    if (p >= this.#end) throw this.#fail(`${what}: length missing`);
    const first = bytes[p++] as number;
    let length = first;
    if (first >= 0x80) {
      const count = first & 0x7f;
      if (count === 0) return this.#indefinite(tag, start, p, what);
      if (count > MAX_LENGTH_OCTETS) throw this.#fail(`${what}: length too large`);
      if (p + count > this.#end) throw this.#fail(`${what}: length runs past its container`);
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + (bytes[p++] as number);
    }
    const end = p + length;
    if (end > this.#end) throw this.#fail(`${what}: content runs past its container`);
    this.#pos = end;
    return { tag, start, contentStart: p, contentEnd: end, end };
  }

  /** BER: a constructed element whose content runs to the end-of-contents octets `00 00`. */
  #indefinite(tag: number, start: number, contentStart: number, what: string): Tlv {
    if (this.mode !== 'ber') throw this.#fail(`${what}: indefinite length`);
    if ((tag & CONSTRUCTED) === 0) throw this.#fail(`${what}: indefinite length of a primitive element`);
    if (this.#depth >= MAX_INDEFINITE_DEPTH) throw this.#fail(`${what}: indefinite lengths nested deeper than ${MAX_INDEFINITE_DEPTH}`);
    const inner = new DerReader(this.bytes, this.#fail, contentStart, this.#end, 'ber', this.#depth + 1);
    for (;;) {
      const at = inner.#pos;
      if (at + 2 <= this.#end && this.bytes[at] === 0 && this.bytes[at + 1] === 0) {
        this.#pos = at + 2;
        return { tag, start, contentStart, contentEnd: at, end: at + 2 };
      }
      if (inner.atEnd) throw this.#fail(`${what}: no end-of-contents before the end of its container`);
      inner.next(undefined, `${what} element`);
    }
  }

  /** A reader (same error and mode) over the content of `tlv`, which this reader returned. */
  inside(tlv: Tlv): DerReader {
    return new DerReader(this.bytes, this.#fail, tlv.contentStart, tlv.contentEnd, this.mode, this.#depth);
  }

  /** Reads the next element, which must have `tag`, and returns a reader over its content. */
  enter(tag: number, what: string): DerReader {
    return this.inside(this.next(tag, what));
  }

  /** The content of the next element, which must have `tag` (a view). */
  content(tag: number, what: string): Uint8Array {
    const tlv = this.next(tag, what);
    return this.bytes.subarray(tlv.contentStart, tlv.contentEnd);
  }

  /** Content octets of `tlv` (a view). */
  contentOf(tlv: Tlv): Uint8Array {
    return this.bytes.subarray(tlv.contentStart, tlv.contentEnd);
  }

  /** Whole encoding (tag, length, content) of `tlv` (a view). */
  encodingOf(tlv: Tlv): Uint8Array {
    return this.bytes.subarray(tlv.start, tlv.end);
  }

  /** The rest of this reader's range (a view), which it then has read. */
  rest(): Uint8Array {
    const out = this.bytes.subarray(this.#pos, this.#end);
    this.#pos = this.#end;
    return out;
  }

  /** Throws unless the element is fully read. */
  expectEnd(what: string): void {
    if (!this.atEnd) throw this.#fail(`${what}: unexpected data after its last field`);
  }
}
