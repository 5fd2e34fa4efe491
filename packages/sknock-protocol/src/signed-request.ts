import { decodeAddressField, encodeAddressField } from './address.js';
import {
  PROTOCOL_BYTE_TCP,
  PROTOCOL_BYTE_UDP,
  REQUEST_ADDRESS_LENGTH,
  REQUEST_LEADING_BYTE,
  REQUEST_MIN_LENGTH,
  REQUEST_OFFSET_CERTIFICATE,
  REQUEST_TRAILER_LENGTH,
  SIGNATURE_MIN_LENGTH,
  SIGNATURE_SLOT_LENGTH,
} from './constants.js';
import { SknockProtocolError } from './errors/protocol-error.js';
import { ByteReader } from './byte-reader.js';
import type { IpFamily, KnockProtocol, SignedRequest } from './types.js';

/**
 * The signed request, the plaintext of a knock (PROTOCOL.md "Signed request").
 *
 * | offset    | size | field                                               |
 * | --------- | ---- | --------------------------------------------------- |
 * | 0         | 1    | 0x00                                                |
 * | 1         | 1    | protocol: 0x01 TCP, 0x00 UDP (non-zero reads as TCP) |
 * | 2         | 2    | port, big-endian                                    |
 * | 4         | 16   | client address (IPv4 + 12 zero bytes, or IPv6)      |
 * | 20        | 4    | timestamp, Unix seconds, big-endian unsigned        |
 * | 24        | c    | client certificate, DER                             |
 * | 24+c      | 1    | L, signature length                                 |
 * | 25+c      | 72−L | zero bytes                                          |
 * | 97+c−L    | L    | ECDSA P-256/SHA-256 signature (DER) over [0, 24+c)  |
 *
 * Exact length: 97 + c.
 */

/** Length of the signed request for a certificate of `certificateLength` bytes. */
export function signedRequestLength(certificateLength: number): number {
  return REQUEST_OFFSET_CERTIFICATE + certificateLength + REQUEST_TRAILER_LENGTH;
}

export interface SignedRequestFields {
  readonly protocol: KnockProtocol;
  readonly port: number;
  readonly address: string;
  readonly timestamp: number;
  readonly certificate: Uint8Array;
}

/** Bytes `[0, 24 + c)`: what the client signs. */
export function encodeSignedPart(fields: SignedRequestFields): Uint8Array {
  const c = fields.certificate.length;
  const out = new Uint8Array(REQUEST_OFFSET_CERTIFICATE + c);
  const view = new DataView(out.buffer);
  out[0] = REQUEST_LEADING_BYTE;
  out[1] = fields.protocol === 'tcp' ? PROTOCOL_BYTE_TCP : PROTOCOL_BYTE_UDP;
  view.setUint16(2, fields.port, false);
  out.set(encodeAddressField(fields.address), 4);
  view.setUint32(20, fields.timestamp, false);
  out.set(fields.certificate, REQUEST_OFFSET_CERTIFICATE);
  return out;
}

/** The whole signed request from its signed part and the signature over it. */
export function encodeSignedRequest(signedPart: Uint8Array, signature: Uint8Array): Uint8Array {
  if (signature.length < SIGNATURE_MIN_LENGTH || signature.length > SIGNATURE_SLOT_LENGTH) {
    throw new SknockProtocolError(
      'ERR_SKNOCK_INVALID_ARGUMENT',
      `signature must be ${SIGNATURE_MIN_LENGTH} to ${SIGNATURE_SLOT_LENGTH} bytes, got ${signature.length}`,
    );
  }
  const out = new Uint8Array(signedPart.length + REQUEST_TRAILER_LENGTH);
  out.set(signedPart, 0);
  out[signedPart.length] = signature.length;
  out.set(signature, out.length - signature.length);
  return out;
}

export interface DecodedSignedRequest extends SignedRequest {
  readonly protocolByte: number;
}

/** Frames a decrypted request; `family` (the datagram's IP version) says how to read the address. */
export function decodeSignedRequest(plaintext: Uint8Array, family: IpFamily): DecodedSignedRequest {
  const what = 'signed request';
  if (plaintext.length < REQUEST_MIN_LENGTH) {
    throw new SknockProtocolError(
      'ERR_SKNOCK_MALFORMED_REQUEST',
      `${what}: ${plaintext.length} bytes, shorter than the ${REQUEST_MIN_LENGTH} of an empty one`,
    );
  }
  const r = new ByteReader(plaintext, 'ERR_SKNOCK_MALFORMED_REQUEST', what);
  const leading = r.u8('leading byte');
  if (leading !== REQUEST_LEADING_BYTE) throw r.error(`${what}: leading byte is 0x${leading.toString(16)}, not 0x00`);
  const protocolByte = r.u8('protocol');
  const port = r.u16('port');
  const addressField = r.bytes(REQUEST_ADDRESS_LENGTH, 'address');
  const timestamp = r.u32('timestamp');
  const certificateLength = plaintext.length - REQUEST_MIN_LENGTH;
  if (certificateLength === 0) throw r.error(`${what}: no certificate`);
  const certificate = r.bytes(certificateLength, 'certificate');
  const signedBytes = plaintext.subarray(0, r.offset);
  const signatureLength = r.u8('signature length');
  if (signatureLength < SIGNATURE_MIN_LENGTH || signatureLength > SIGNATURE_SLOT_LENGTH) {
    throw r.error(`${what}: signature length ${signatureLength} outside ${SIGNATURE_MIN_LENGTH}–${SIGNATURE_SLOT_LENGTH}`);
  }
  const pad = r.bytes(SIGNATURE_SLOT_LENGTH - signatureLength, 'signature padding');
  if (pad.some((b) => b !== 0)) throw r.error(`${what}: bytes between signature length and signature are not zero`);
  const signature = r.bytes(signatureLength, 'signature');
  return {
    protocolByte,
    protocol: protocolByte === PROTOCOL_BYTE_UDP ? 'udp' : 'tcp',
    port,
    address: decodeAddressField(addressField, family),
    timestamp,
    certificate,
    signature,
    signedBytes,
  };
}
