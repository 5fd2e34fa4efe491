import type { KeyObject } from 'node:crypto';
import { isSknockProtocolError, openKnockDatagram, type KnockDatagram, type KnockKeys, type OpenedKnock } from '@sknock/protocol';
import { seenKeysFor, type ReplayCache } from './replay-cache.js';
import { reject } from './reject.js';
import type { KeyAgreement, KnockSource, StepResult } from './types.js';

/**
 * Step 3: ECDH with the server's key, decrypt, and frame the signed request.
 *
 * `checkKeys` finds the AES key and IV of the datagram's point: remembered in the replay
 * cache's seen tier from an earlier datagram with that key (that point or its mirror), or
 * one ECDH (a point that is not on the curve is remembered at once; keys, once the knock
 * turns out to be refused). `checkDecrypt` decrypts and frames with them the datagram step 1
 * split; the
 * family of the datagram (IPv4-mapped sources count as IPv4) says how the address field is
 * read. Every decryption failure looks the same (bad point, bad block, bad padding).
 */

const DECRYPT_FAILED = 'knock does not decrypt';

/** The keys of a datagram's point, and whether they just cost an ECDH (and are not remembered yet). */
export interface PointKeys {
  readonly keys: KnockKeys;
  readonly fresh: boolean;
}

export function checkKeys(
  cache: ReplayCache,
  keyId: string,
  y: string,
  ephemeralPublicKey: Uint8Array,
  privateKey: KeyObject,
  agree: KeyAgreement,
  nowMs: number,
  lifetimeMs: number,
): StepResult<PointKeys> {
  const seen = cache.seenPoint(keyId, nowMs, lifetimeMs);
  const known = seen === undefined ? undefined : seenKeysFor(seen, y);
  if (known === 'off-curve') return reject('decrypt-failed', DECRYPT_FAILED);
  if (known !== undefined) return { keys: known, fresh: false };
  try {
    // Remembered by the caller only if the knock is then refused: an accepted knock's key
    // refuses every later datagram with it anyway.
    return { keys: agree(ephemeralPublicKey, privateKey), fresh: true };
  } catch (err) {
    if (!isSknockProtocolError(err, 'ERR_SKNOCK_DECRYPT_FAILED')) throw err;
    cache.rememberKeys(keyId, y, null, nowMs, lifetimeMs);
    return reject('decrypt-failed', DECRYPT_FAILED);
  }
}

/** Decrypts and frames the datagram step 1 split (it is not parsed again). */
export function checkDecrypt(datagram: KnockDatagram, source: KnockSource, keys: KnockKeys): StepResult<OpenedKnock> {
  try {
    return openKnockDatagram(datagram, keys, source.family);
  } catch (err) {
    if (isSknockProtocolError(err, 'ERR_SKNOCK_DECRYPT_FAILED')) return reject('decrypt-failed', DECRYPT_FAILED);
    if (isSknockProtocolError(err, 'ERR_SKNOCK_MALFORMED_REQUEST')) return reject('malformed-request', err.message);
    if (isSknockProtocolError(err, 'ERR_SKNOCK_PACKET_LENGTH')) return reject('malformed-request', err.message);
    throw err;
  }
}
