import { SknockProtocolError, type SknockProtocolErrorCode } from './errors/protocol-error.js';

/**
 * The bounds-checked reader of the fixed-layout wire structures (datagram, signed request,
 * STUN) over a `Uint8Array`; DER goes through `DerReader` (der/der-reader.ts). Reading past
 * the end throws a `SknockProtocolError` with the code and label the caller chose, so a
 * truncated structure reports what it is.
 */
export class ByteReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #code: SknockProtocolErrorCode;
  readonly #what: string;
  #offset: number;
  readonly #end: number;

  constructor(bytes: Uint8Array, code: SknockProtocolErrorCode, what: string, start = 0, end = bytes.length) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#code = code;
    this.#what = what;
    this.#offset = start;
    this.#end = end;
  }

  get offset(): number {
    return this.#offset;
  }

  get remaining(): number {
    return this.#end - this.#offset;
  }

  /** Throws unless `n` more bytes are there. */
  need(n: number, field: string): void {
    if (n < 0 || this.#offset + n > this.#end) {
      throw this.error(`${this.#what}: ${field} needs ${n} bytes at offset ${this.#offset}, ${this.remaining} left`);
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.#bytes[this.#offset++] as number;
  }

  u16(field: string): number {
    this.need(2, field);
    const v = this.#view.getUint16(this.#offset, false);
    this.#offset += 2;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const v = this.#view.getUint32(this.#offset, false);
    this.#offset += 4;
    return v;
  }

  /** A view (not a copy) of the next `n` bytes. */
  bytes(n: number, field: string): Uint8Array {
    this.need(n, field);
    const v = this.#bytes.subarray(this.#offset, this.#offset + n);
    this.#offset += n;
    return v;
  }

  /** A reader over the next `n` bytes, with the same error code; advances past them. */
  sub(n: number, what: string): ByteReader {
    this.need(n, what);
    const r = new ByteReader(this.#bytes, this.#code, what, this.#offset, this.#offset + n);
    this.#offset += n;
    return r;
  }

  skip(n: number, field: string): void {
    this.need(n, field);
    this.#offset += n;
  }

  peek(field: string): number {
    this.need(1, field);
    return this.#bytes[this.#offset] as number;
  }

  error(message: string): SknockProtocolError {
    return new SknockProtocolError(this.#code, message);
  }
}
