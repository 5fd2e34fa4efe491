import {
  FRAME_OVERHEAD_IPV4,
  FRAME_OVERHEAD_IPV6,
  inspectKnockDatagram,
  KNOCK_MIN_DATAGRAM_LENGTH,
  type KnockDatagram,
} from '@sknock/protocol';
import { reject } from './reject.js';
import type { PipelineSettings, StepResult } from './types.js';

/**
 * Step 1: size, magic and version — no cryptography is spent on anything that fails here,
 * and no `Error` is built: the datagram is split once (`inspectKnockDatagram`, which returns
 * what is wrong as a value), and the rejects of a wrong magic byte or a newer version are
 * shared constants. The length counts as an original server counts it (PROTOCOL.md "One UDP
 * datagram"): the whole Ethernet frame, 42 bytes more than the datagram over IPv4 and 62 over
 * IPv6.
 */

const BAD_MAGIC = Object.freeze(reject('bad-magic', 'not a knock: the first byte is not 0x61'));
const BAD_VERSION = Object.freeze(reject('bad-version', 'knock version is newer than 1.0.0'));

export function checkSize(
  datagram: Uint8Array,
  family: 4 | 6,
  settings: Pick<PipelineSettings, 'knockPacketMinLength' | 'recvBuffer'>,
): StepResult<KnockDatagram> {
  const frame = datagram.length + (family === 4 ? FRAME_OVERHEAD_IPV4 : FRAME_OVERHEAD_IPV6);
  if (frame < settings.knockPacketMinLength) {
    return reject('too-short', `${datagram.length}-byte datagram (${frame}-byte frame) is under KNOCKPACKET_MIN_LENGTH ${settings.knockPacketMinLength}`);
  }
  if (datagram.length > settings.recvBuffer) {
    return reject('too-long', `${datagram.length}-byte datagram is over RECV_BUFFER ${settings.recvBuffer}`);
  }
  const parsed = inspectKnockDatagram(datagram);
  switch (parsed) {
    case 'bad-magic':
      return BAD_MAGIC;
    case 'unsupported-version':
      return BAD_VERSION;
    case 'packet-length':
      return reject('too-short', `${datagram.length}-byte datagram: a knock has at least ${KNOCK_MIN_DATAGRAM_LENGTH}`);
    case 'not-blocks':
      return reject('bad-length', `${datagram.length}-byte datagram: ciphertext is not whole AES blocks`);
    default:
      return parsed;
  }
}
