import type { KeyObject } from 'node:crypto';
import { isSknockProtocolError, openKnockPacket, type OpenedKnock } from '@sknock/protocol';
import { reject } from './reject.js';
import type { KnockSource, Reject } from './types.js';

/**
 * Step 3: ECDH with the server's key, decrypt, and frame the signed request. The family of
 * the datagram (IPv4-mapped sources count as IPv4) says how the address field is read.
 * Every decryption failure looks the same (bad point, bad block, bad padding).
 */
export function checkDecrypt(datagram: Uint8Array, source: KnockSource, privateKey: KeyObject): OpenedKnock | Reject {
  try {
    return openKnockPacket(datagram, { privateKey }, { family: source.family });
  } catch (err) {
    if (isSknockProtocolError(err, 'ERR_SKNOCK_DECRYPT_FAILED')) return reject('decrypt-failed', 'knock does not decrypt');
    if (isSknockProtocolError(err, 'ERR_SKNOCK_MALFORMED_REQUEST')) return reject('malformed-request', err.message);
    if (isSknockProtocolError(err, 'ERR_SKNOCK_PACKET_LENGTH')) return reject('malformed-request', err.message);
    throw err;
  }
}
