import {
  FRAME_OVERHEAD_IPV4,
  FRAME_OVERHEAD_IPV6,
  isSknockProtocolError,
  parseKnockDatagram,
  type KnockDatagram,
} from '@sknock/protocol';
import { reject } from './reject.js';
import type { PipelineSettings, Reject } from './types.js';

/**
 * Step 1: size, magic and version — no cryptography is spent on anything that fails here.
 * The length counts as an original server counts it (PROTOCOL.md "One UDP datagram"): the
 * whole Ethernet frame, 42 bytes more than the datagram over IPv4 and 62 over IPv6.
 */
export function checkSize(
  datagram: Uint8Array,
  family: 4 | 6,
  settings: Pick<PipelineSettings, 'knockPacketMinLength' | 'recvBuffer'>,
): KnockDatagram | Reject {
  const frame = datagram.length + (family === 4 ? FRAME_OVERHEAD_IPV4 : FRAME_OVERHEAD_IPV6);
  if (frame < settings.knockPacketMinLength) {
    return reject('too-short', `${datagram.length}-byte datagram (${frame}-byte frame) is under KNOCKPACKET_MIN_LENGTH ${settings.knockPacketMinLength}`);
  }
  if (datagram.length > settings.recvBuffer) {
    return reject('too-long', `${datagram.length}-byte datagram is over RECV_BUFFER ${settings.recvBuffer}`);
  }
  try {
    return parseKnockDatagram(datagram);
  } catch (err) {
    if (isSknockProtocolError(err, 'ERR_SKNOCK_BAD_MAGIC')) return reject('bad-magic', err.message);
    if (isSknockProtocolError(err, 'ERR_SKNOCK_UNSUPPORTED_VERSION')) return reject('bad-version', err.message);
    if (isSknockProtocolError(err, 'ERR_SKNOCK_PACKET_LENGTH')) return reject('too-short', err.message);
    if (isSknockProtocolError(err)) return reject('bad-length', `${datagram.length}-byte datagram: ciphertext is not whole AES blocks`);
    throw err;
  }
}
