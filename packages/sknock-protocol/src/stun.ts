import { formatIpv4, formatIpv6, parseIpAddress } from './address.js';
import { SknockProtocolError } from './errors/protocol-error.js';
import { ByteReader } from './byte-reader.js';
import type { IpFamily } from './types.js';

/**
 * STUN Binding (RFC 8489), the part a client needs to learn its public address: the request
 * it sends and the response it reads. Pure bytes, no I/O (the client package sends it).
 *
 * Message (big-endian; one message per UDP datagram):
 *
 * | offset | bytes | field |
 * | --- | --- | --- |
 * | 0 | 2 | type: top two bits 0; Binding request `0x0001`, success response `0x0101`, error response `0x0111` |
 * | 2 | 2 | length of the attributes, a multiple of 4 (the header's 20 bytes not counted) |
 * | 4 | 4 | magic cookie `0x2112A442` |
 * | 8 | 12 | transaction id, random, chosen by the client and echoed by the server |
 * | 20 | … | attributes |
 *
 * Attribute: type (2), length (2) of the value, the value, then 0–3 padding bytes up to a
 * multiple of 4 (not counted in the length). Types below `0x8000` are comprehension-required:
 * a response carrying one this module does not know is refused (RFC 8489 §14). The ones read:
 *
 * | type | name | value |
 * | --- | --- | --- |
 * | `0x0020` | XOR-MAPPED-ADDRESS | 0 (1), family (1: `0x01` IPv4, `0x02` IPv6), port XOR the cookie's top 16 bits (2), address XOR the cookie (IPv4, 4) or XOR cookie ‖ transaction id (IPv6, 16) |
 * | `0x0009` | ERROR-CODE | 0 (2), class 3–6 in the low 3 bits (1), number 0–99 (1), reason phrase UTF-8 |
 * | `0x8028` | FINGERPRINT | CRC-32 of the message before it, XOR `0x5354554E`; the last attribute when present, checked |
 *
 * Known and skipped: MAPPED-ADDRESS (the pre-XOR form that NAT helpers rewrite, not used),
 * MESSAGE-INTEGRITY(-SHA256), USERNAME, USERHASH, REALM, NONCE, PASSWORD-ALGORITHM(S),
 * UNKNOWN-ATTRIBUTES; any comprehension-optional type (`0x8000`–`0xFFFF`, e.g. SOFTWARE).
 * Attributes after MESSAGE-INTEGRITY other than FINGERPRINT are ignored (§14.5); of a repeated
 * attribute the first counts (§14).
 *
 * Every read goes through the bounds-checked `ByteReader`; anything wrong throws a
 * `SknockProtocolError` with code `ERR_SKNOCK_MALFORMED_STUN`, nothing else.
 */

export const STUN_MAGIC_COOKIE = 0x2112a442;
export const STUN_HEADER_LENGTH = 20;
export const STUN_TRANSACTION_ID_LENGTH = 12;
/** RFC 8489 §9: STUN over UDP and TCP. */
export const STUN_DEFAULT_PORT = 3478;

const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const BINDING_ERROR = 0x0111;

const ATTR_MAPPED_ADDRESS = 0x0001;
const ATTR_USERNAME = 0x0006;
const ATTR_MESSAGE_INTEGRITY = 0x0008;
const ATTR_ERROR_CODE = 0x0009;
const ATTR_UNKNOWN_ATTRIBUTES = 0x000a;
const ATTR_REALM = 0x0014;
const ATTR_NONCE = 0x0015;
const ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001c;
const ATTR_PASSWORD_ALGORITHM = 0x001d;
const ATTR_USERHASH = 0x001e;
const ATTR_XOR_MAPPED_ADDRESS = 0x0020;
const ATTR_PASSWORD_ALGORITHMS = 0x8002;
const ATTR_FINGERPRINT = 0x8028;
const COMPREHENSION_OPTIONAL = 0x8000;
const FINGERPRINT_XOR = 0x5354554e;
const FAMILY_IPV4 = 0x01;
const FAMILY_IPV6 = 0x02;
/** Longest reason phrase kept (RFC 8489 §14.8: under 128 characters). */
const MAX_REASON_CHARS = 128;

/** Comprehension-required types this module understands (uses or may skip). */
const KNOWN_REQUIRED = new Set([
  ATTR_MAPPED_ADDRESS,
  ATTR_USERNAME,
  ATTR_MESSAGE_INTEGRITY,
  ATTR_ERROR_CODE,
  ATTR_UNKNOWN_ATTRIBUTES,
  ATTR_REALM,
  ATTR_NONCE,
  ATTR_MESSAGE_INTEGRITY_SHA256,
  ATTR_PASSWORD_ALGORITHM,
  ATTR_USERHASH,
  ATTR_XOR_MAPPED_ADDRESS,
]);

/** The transport address a server saw the request come from. */
export interface StunMappedAddress {
  readonly family: IpFamily;
  /** Canonical text (RFC 5952 for IPv6). */
  readonly address: string;
  readonly port: number;
}

export type StunBindingResponse =
  | { readonly kind: 'success'; readonly transactionId: Uint8Array; readonly mapped: StunMappedAddress }
  | {
      readonly kind: 'error';
      readonly transactionId: Uint8Array;
      /** 300–699 (class × 100 + number). */
      readonly code: number;
      /** The server's reason phrase, control characters replaced by `?`, at most 128 characters. */
      readonly reason: string;
    };

function malformed(message: string): SknockProtocolError {
  return new SknockProtocolError('ERR_SKNOCK_MALFORMED_STUN', `STUN message: ${message}`);
}

function checkTransactionId(transactionId: Uint8Array): void {
  if (!(transactionId instanceof Uint8Array) || transactionId.length !== STUN_TRANSACTION_ID_LENGTH) {
    throw new SknockProtocolError('ERR_SKNOCK_INVALID_ARGUMENT', `transactionId must be ${STUN_TRANSACTION_ID_LENGTH} bytes`);
  }
}

function header(type: number, attributesLength: number, transactionId: Uint8Array): Uint8Array {
  const out = new Uint8Array(STUN_HEADER_LENGTH + attributesLength);
  const view = new DataView(out.buffer);
  view.setUint16(0, type);
  view.setUint16(2, attributesLength);
  view.setUint32(4, STUN_MAGIC_COOKIE);
  out.set(transactionId, 8);
  return out;
}

/** A Binding request without attributes (20 bytes). */
export function encodeBindingRequest(transactionId: Uint8Array): Uint8Array {
  checkTransactionId(transactionId);
  return header(BINDING_REQUEST, 0, transactionId);
}

/** The cookie ‖ transaction id mask that XOR-MAPPED-ADDRESS applies. */
function xorMask(transactionId: Uint8Array): Uint8Array {
  const mask = new Uint8Array(16);
  new DataView(mask.buffer).setUint32(0, STUN_MAGIC_COOKIE);
  mask.set(transactionId, 4);
  return mask;
}

/**
 * A Binding success response carrying XOR-MAPPED-ADDRESS, or with `fingerprint` also
 * FINGERPRINT: what a STUN server sends (for responders and round-trip tests).
 */
export function encodeBindingSuccess(transactionId: Uint8Array, mapped: { readonly address: string; readonly port: number }, options: { readonly fingerprint?: boolean } = {}): Uint8Array {
  checkTransactionId(transactionId);
  const { family, bytes } = parseIpAddress(mapped.address, 'mapped.address');
  if (!Number.isInteger(mapped.port) || mapped.port < 0 || mapped.port > 0xffff) {
    throw new SknockProtocolError('ERR_SKNOCK_INVALID_ARGUMENT', 'mapped.port must be an integer from 0 to 65535');
  }
  const valueLength = 4 + bytes.length;
  const fingerprintLength = options.fingerprint === true ? 8 : 0;
  const out = header(BINDING_SUCCESS, 4 + valueLength + fingerprintLength, transactionId);
  const view = new DataView(out.buffer);
  view.setUint16(20, ATTR_XOR_MAPPED_ADDRESS);
  view.setUint16(22, valueLength);
  out[25] = family === 4 ? FAMILY_IPV4 : FAMILY_IPV6;
  view.setUint16(26, mapped.port ^ (STUN_MAGIC_COOKIE >>> 16));
  const mask = xorMask(transactionId);
  bytes.forEach((b, i) => {
    out[28 + i] = b ^ (mask[i] as number);
  });
  if (options.fingerprint === true) appendFingerprint(out);
  return out;
}

/** A Binding error response with ERROR-CODE `code` (300–699) and `reason`. */
export function encodeBindingError(transactionId: Uint8Array, code: number, reason: string): Uint8Array {
  checkTransactionId(transactionId);
  if (!Number.isInteger(code) || code < 300 || code > 699) throw new SknockProtocolError('ERR_SKNOCK_INVALID_ARGUMENT', 'code must be an integer from 300 to 699');
  const phrase = new TextEncoder().encode(reason);
  const valueLength = 4 + phrase.length;
  const padded = valueLength + ((4 - (valueLength % 4)) % 4);
  const out = header(BINDING_ERROR, 4 + padded, transactionId);
  const view = new DataView(out.buffer);
  view.setUint16(20, ATTR_ERROR_CODE);
  view.setUint16(22, valueLength);
  out[26] = Math.floor(code / 100);
  out[27] = code % 100;
  out.set(phrase, 28);
  return out;
}

function appendFingerprint(out: Uint8Array): void {
  const at = out.length - 8;
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint16(at, ATTR_FINGERPRINT);
  view.setUint16(at + 2, 4);
  view.setUint32(at + 4, (crc32(out.subarray(0, at)) ^ FINGERPRINT_XOR) >>> 0);
}

/**
 * Reads a Binding success or error response. The caller compares `transactionId` with the
 * one it sent (a response to another request is not malformed, only not its answer).
 */
export function decodeBindingResponse(bytes: Uint8Array): StunBindingResponse {
  if (!(bytes instanceof Uint8Array)) throw new SknockProtocolError('ERR_SKNOCK_INVALID_ARGUMENT', 'a STUN message must be a Uint8Array');
  const r = new ByteReader(bytes, 'ERR_SKNOCK_MALFORMED_STUN', 'STUN message');
  const type = r.u16('message type');
  const length = r.u16('message length');
  const cookie = r.u32('magic cookie');
  const transactionId = new Uint8Array(r.bytes(STUN_TRANSACTION_ID_LENGTH, 'transaction id'));
  if ((type & 0xc000) !== 0) throw malformed(`the first two bits are not 0 (type 0x${hex16(type)}): not STUN`);
  if (cookie !== STUN_MAGIC_COOKIE) throw malformed(`magic cookie 0x${cookie.toString(16).padStart(8, '0')}, not 0x2112a442 (an RFC 3489 server, or not STUN)`);
  if (length % 4 !== 0) throw malformed(`length ${length} is not a multiple of 4`);
  if (length !== r.remaining) throw malformed(`length says ${length} attribute bytes, the datagram holds ${r.remaining}`);
  if (type !== BINDING_SUCCESS && type !== BINDING_ERROR) throw malformed(`type 0x${hex16(type)} is not a Binding response`);

  let mapped: StunMappedAddress | undefined;
  let error: { code: number; reason: string } | undefined;
  let afterIntegrity = false;
  while (r.remaining > 0) {
    const start = r.offset;
    const attrType = r.u16('attribute type');
    const attrLength = r.u16('attribute length');
    const value = r.bytes(attrLength, `attribute 0x${hex16(attrType)}`);
    r.skip((4 - (attrLength % 4)) % 4, `padding of attribute 0x${hex16(attrType)}`);
    if (attrType === ATTR_FINGERPRINT) {
      if (r.remaining !== 0) throw malformed('FINGERPRINT is not the last attribute');
      if (attrLength !== 4) throw malformed(`FINGERPRINT is ${attrLength} bytes, not 4`);
      const want = (crc32(bytes.subarray(0, start)) ^ FINGERPRINT_XOR) >>> 0;
      const got = new DataView(value.buffer, value.byteOffset, 4).getUint32(0);
      if (got !== want) throw malformed('FINGERPRINT does not match the message');
      break;
    }
    if (attrType < COMPREHENSION_OPTIONAL && !KNOWN_REQUIRED.has(attrType)) throw malformed(`unknown comprehension-required attribute 0x${hex16(attrType)}`);
    if (afterIntegrity) continue;
    if (attrType === ATTR_MESSAGE_INTEGRITY || attrType === ATTR_MESSAGE_INTEGRITY_SHA256) afterIntegrity = true;
    else if (attrType === ATTR_XOR_MAPPED_ADDRESS && mapped === undefined) mapped = readXorMappedAddress(value, transactionId);
    else if (attrType === ATTR_ERROR_CODE && error === undefined) error = readErrorCode(value);
  }
  if (type === BINDING_ERROR) {
    if (error === undefined) throw malformed('an error response without ERROR-CODE');
    return { kind: 'error', transactionId, code: error.code, reason: error.reason };
  }
  if (mapped === undefined) throw malformed('a success response without XOR-MAPPED-ADDRESS');
  return { kind: 'success', transactionId, mapped };
}

function readXorMappedAddress(value: Uint8Array, transactionId: Uint8Array): StunMappedAddress {
  const r = new ByteReader(value, 'ERR_SKNOCK_MALFORMED_STUN', 'XOR-MAPPED-ADDRESS');
  r.u8('reserved byte');
  const family = r.u8('address family');
  const port = r.u16('port') ^ (STUN_MAGIC_COOKIE >>> 16);
  const size = family === FAMILY_IPV4 ? 4 : family === FAMILY_IPV6 ? 16 : 0;
  if (size === 0) throw malformed(`XOR-MAPPED-ADDRESS family 0x${family.toString(16).padStart(2, '0')} is neither IPv4 (0x01) nor IPv6 (0x02)`);
  if (r.remaining !== size) throw malformed(`XOR-MAPPED-ADDRESS for IPv${size === 4 ? 4 : 6} is ${value.length} bytes, not ${4 + size}`);
  const mask = xorMask(transactionId);
  const address = Uint8Array.from(r.bytes(size, 'address'), (b, i) => b ^ (mask[i] as number));
  return size === 4 ? { family: 4, address: formatIpv4(address), port } : { family: 6, address: formatIpv6(address), port };
}

function readErrorCode(value: Uint8Array): { code: number; reason: string } {
  const r = new ByteReader(value, 'ERR_SKNOCK_MALFORMED_STUN', 'ERROR-CODE');
  r.u16('reserved bits');
  const errorClass = r.u8('class') & 0x07;
  const number = r.u8('number');
  if (errorClass < 3 || errorClass > 6 || number > 99) throw malformed(`ERROR-CODE class ${errorClass} number ${number} is not a code from 300 to 699`);
  const phrase = new TextDecoder('utf-8', { fatal: false }).decode(r.bytes(r.remaining, 'reason phrase'));
  // eslint-disable-next-line no-control-regex
  const reason = [...phrase.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?')].slice(0, MAX_REASON_CHARS).join('');
  return { code: errorClass * 100 + number, reason };
}

function hex16(n: number): string {
  return n.toString(16).padStart(4, '0');
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (ISO-HDLC, the one of zlib and Ethernet), as FINGERPRINT uses it. */
function crc32(data: Uint8Array): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of data) crc = (crcTable[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
