import {
  AES_BLOCK_LENGTH,
  EPHEMERAL_PUBLIC_KEY_LENGTH,
  KNOCK_HEADER_LENGTH,
  KNOCK_MAGIC,
  KNOCK_MIN_DATAGRAM_LENGTH,
  KNOCK_VERSION,
  REQUEST_MIN_LENGTH,
  UDP_MAX_PAYLOAD_LENGTH,
} from './constants.js';
import { decryptFailed } from './ecies.js';
import { SknockProtocolError } from './errors/protocol-error.js';
import { ByteReader } from './byte-reader.js';
import type { KnockVersion } from './types.js';

/**
 * The knock datagram (PROTOCOL.md "One UDP datagram").
 *
 * | offset | size | field                                                   |
 * | ------ | ---- | ------------------------------------------------------- |
 * | 0      | 1    | magic 0x61 (`a`)                                        |
 * | 1      | 3    | version major, minor, patch = 1, 0, 0                   |
 * | 4      | n    | AES-128-CBC ciphertext of the signed request (n % 16 = 0) |
 * | 4+n    | 65   | ephemeral P-256 public key, SEC 1 uncompressed          |
 *
 * Exact length: 4 + n + 65.
 */

export interface KnockDatagram {
  readonly version: KnockVersion;
  readonly ciphertext: Uint8Array;
  readonly ephemeralPublicKey: Uint8Array;
}

/** Datagram length for a certificate of `c` bytes (PROTOCOL.md "Sizes"). */
export function knockDatagramLength(certificateLength: number): number {
  const plaintext = REQUEST_MIN_LENGTH + certificateLength;
  return KNOCK_HEADER_LENGTH + AES_BLOCK_LENGTH * (Math.floor(plaintext / AES_BLOCK_LENGTH) + 1) + EPHEMERAL_PUBLIC_KEY_LENGTH;
}

/** `a <= b` as version tuples. */
function versionAtMost(a: KnockVersion, b: KnockVersion): boolean {
  for (let i = 0; i < 3; i++) {
    if ((a[i] as number) !== (b[i] as number)) return (a[i] as number) < (b[i] as number);
  }
  return true;
}

/**
 * Why `inspectKnockDatagram` found a datagram is no knock, as a value (no `Error` is built:
 * a server meets junk at line rate). `parseKnockDatagram` throws the matching error.
 */
export type KnockDatagramFault =
  /** The first byte is not 0x61. */
  | 'bad-magic'
  /** A version newer than 1.0.0. */
  | 'unsupported-version'
  /** Shorter or longer than any knock. */
  | 'packet-length'
  /** The ciphertext is not whole AES blocks. */
  | 'not-blocks';

/**
 * Splits a datagram without any cryptography and without throwing: magic, version (1.0.0 or
 * older), length, block alignment. Returns the parts, or what is wrong as a
 * `KnockDatagramFault` string. The cheap first stage of a server.
 */
export function inspectKnockDatagram(datagram: Uint8Array): KnockDatagram | KnockDatagramFault {
  const n = datagram.length;
  if (n < 1) return 'packet-length';
  if (datagram[0] !== KNOCK_MAGIC) return 'bad-magic';
  if (n < KNOCK_HEADER_LENGTH) return 'packet-length';
  const version = [datagram[1] as number, datagram[2] as number, datagram[3] as number] as const;
  if (!versionAtMost(version, KNOCK_VERSION)) return 'unsupported-version';
  if (n < KNOCK_MIN_DATAGRAM_LENGTH || n > UDP_MAX_PAYLOAD_LENGTH) return 'packet-length';
  const ciphertextLength = n - KNOCK_HEADER_LENGTH - EPHEMERAL_PUBLIC_KEY_LENGTH;
  if (ciphertextLength % AES_BLOCK_LENGTH !== 0) return 'not-blocks';
  // Every bound was checked above: the reader cannot run short here.
  const r = new ByteReader(datagram, 'ERR_SKNOCK_PACKET_LENGTH', 'datagram');
  r.skip(KNOCK_HEADER_LENGTH, 'header');
  return { version, ciphertext: r.bytes(ciphertextLength, 'ciphertext'), ephemeralPublicKey: r.bytes(EPHEMERAL_PUBLIC_KEY_LENGTH, 'ephemeral public key') };
}

/**
 * Splits a datagram without any cryptography (as `inspectKnockDatagram`), throwing
 * `SknockProtocolError` for one that is no knock. The first stage of `openKnockPacket`.
 */
export function parseKnockDatagram(datagram: Uint8Array): KnockDatagram {
  if (!(datagram instanceof Uint8Array)) {
    throw new SknockProtocolError('ERR_SKNOCK_INVALID_ARGUMENT', 'datagram must be a Uint8Array');
  }
  const parsed = inspectKnockDatagram(datagram);
  if (typeof parsed !== 'string') return parsed;
  switch (parsed) {
    case 'bad-magic':
      throw new SknockProtocolError('ERR_SKNOCK_BAD_MAGIC', `not a knock: first byte is 0x${(datagram[0] as number).toString(16).padStart(2, '0')}, not 0x61`);
    case 'unsupported-version':
      throw new SknockProtocolError('ERR_SKNOCK_UNSUPPORTED_VERSION', `knock version ${[...datagram.subarray(1, 4)].join('.')} is newer than ${KNOCK_VERSION.join('.')}`);
    case 'not-blocks':
      throw decryptFailed();
    case 'packet-length':
      // Shorter than the header: the reader says where it ran short.
      if (datagram.length < KNOCK_HEADER_LENGTH) new ByteReader(datagram, 'ERR_SKNOCK_PACKET_LENGTH', 'datagram').need(KNOCK_HEADER_LENGTH, 'header');
      throw new SknockProtocolError(
        'ERR_SKNOCK_PACKET_LENGTH',
        `datagram of ${datagram.length} bytes: a knock has ${KNOCK_MIN_DATAGRAM_LENGTH} to ${UDP_MAX_PAYLOAD_LENGTH}`,
      );
  }
}

/** Joins header, ciphertext and point into one datagram (always version 1.0.0). */
export function encodeKnockDatagram(ciphertext: Uint8Array, ephemeralPublicKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(KNOCK_HEADER_LENGTH + ciphertext.length + EPHEMERAL_PUBLIC_KEY_LENGTH);
  out[0] = KNOCK_MAGIC;
  out.set(KNOCK_VERSION, 1);
  out.set(ciphertext, KNOCK_HEADER_LENGTH);
  out.set(ephemeralPublicKey, KNOCK_HEADER_LENGTH + ciphertext.length);
  return out;
}
