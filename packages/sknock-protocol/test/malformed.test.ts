import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { openKnockPacket, verifyKnockSignature, type SknockProtocolErrorCode } from '../src/index.js';
import { decodeSignedRequest, encodeSignedRequest } from '../src/signed-request.js';
import { KNOCK_MIN_DATAGRAM_LENGTH } from '../src/constants.js';
import { deriveKnockKeys } from '../src/hkdf.js';
import { ecdhFor } from '../src/p256.js';
import { hex } from './support/data.js';
import { golden, serverKey } from './support/golden.js';

const server = { privateKey: serverKey };
const packet = golden.packets[0]!;
const valid = hex(packet.datagramHex);
const plaintext = hex(packet.plaintextHex);

type Outcome = SknockProtocolErrorCode | 'opened-valid' | 'opened-invalid-signature';

function outcome(datagram: Uint8Array, family: 4 | 6 = 4): Outcome {
  try {
    const opened = openKnockPacket(datagram, server, { family });
    return verifyKnockSignature(opened) ? 'opened-valid' : 'opened-invalid-signature';
  } catch (err) {
    assert.equal((err as Error).name, 'SknockProtocolError', `untyped error: ${String(err)}`);
    return (err as { code: SknockProtocolErrorCode }).code;
  }
}

function flipped(bytes: Uint8Array, index: number, mask = 0x01): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[index] = (copy[index] as number) ^ mask;
  return copy;
}

test('the unmodified golden packet opens with a valid signature', () => {
  assert.equal(outcome(valid), 'opened-valid');
});

test('every truncation gives the error its length calls for', () => {
  for (let len = 0; len < valid.length; len++) {
    const expected: Outcome = len < KNOCK_MIN_DATAGRAM_LENGTH ? 'ERR_SKNOCK_PACKET_LENGTH' : 'ERR_SKNOCK_DECRYPT_FAILED';
    assert.equal(outcome(valid.subarray(0, len)), expected, `truncated to ${len} bytes`);
  }
});

test('extra bytes after the point are a decrypt failure, never an open', () => {
  for (const extra of [1, 15, 16, 17, 64]) {
    const longer = new Uint8Array(valid.length + extra);
    longer.set(valid);
    assert.equal(outcome(longer), 'ERR_SKNOCK_DECRYPT_FAILED', `${extra} extra bytes`);
  }
});

const table: Array<{ region: string; index: number; mask?: number; expected: Outcome }> = [
  { region: 'magic', index: 0, expected: 'ERR_SKNOCK_BAD_MAGIC' },
  { region: 'version major (newer)', index: 1, mask: 0x02, expected: 'ERR_SKNOCK_UNSUPPORTED_VERSION' },
  { region: 'version minor (newer)', index: 2, expected: 'ERR_SKNOCK_UNSUPPORTED_VERSION' },
  { region: 'version patch (newer)', index: 3, expected: 'ERR_SKNOCK_UNSUPPORTED_VERSION' },
  { region: 'version major (older: 0.0.0 is accepted)', index: 1, mask: 0x01, expected: 'opened-valid' },
  { region: 'first ciphertext block', index: 4, expected: 'ERR_SKNOCK_MALFORMED_REQUEST' },
  { region: 'next-to-last ciphertext block (corrupts the padding)', index: valid.length - 65 - 17, expected: 'ERR_SKNOCK_DECRYPT_FAILED' },
  { region: 'last ciphertext block', index: valid.length - 65 - 1, expected: 'ERR_SKNOCK_DECRYPT_FAILED' },
  { region: 'point prefix 0x04', index: valid.length - 65, expected: 'ERR_SKNOCK_DECRYPT_FAILED' },
  { region: 'point X', index: valid.length - 40, expected: 'ERR_SKNOCK_DECRYPT_FAILED' },
  { region: 'point Y', index: valid.length - 1, expected: 'ERR_SKNOCK_DECRYPT_FAILED' },
];

for (const row of table) {
  test(`flipping a bit in the ${row.region} gives ${row.expected}`, () => {
    assert.equal(outcome(flipped(valid, row.index, row.mask)), row.expected);
  });
}

test('no single flipped bit anywhere in the ciphertext yields a valid knock', () => {
  const seen = new Set<Outcome>();
  for (let i = 4; i < valid.length - 65; i++) {
    const o = outcome(flipped(valid, i, 1 << (i % 8)));
    assert.notEqual(o, 'opened-valid', `byte ${i}`);
    seen.add(o);
  }
  // A middle block garbles the certificate or signature: the packet still frames but fails.
  assert.ok(seen.has('opened-invalid-signature') || seen.has('ERR_SKNOCK_MALFORMED_REQUEST'));
});

test('a knock sealed with bad PKCS#7 padding is a decrypt failure', () => {
  const { ephemeralPublicKey } = { ephemeralPublicKey: valid.subarray(valid.length - 65) };
  const z = ecdhFor(serverKey).computeSecret(ephemeralPublicKey);
  const { key, iv } = deriveKnockKeys(z);
  const block = Buffer.alloc(16 * Math.ceil(plaintext.length / 16) + 16, 0);
  Buffer.from(plaintext).copy(block);
  block[block.length - 1] = 0x11; // padding length 17: invalid
  const c = createCipheriv('aes-128-cbc', key, iv).setAutoPadding(false);
  const ct = Buffer.concat([c.update(block), c.final()]);
  const datagram = Buffer.concat([valid.subarray(0, 4), ct, ephemeralPublicKey]);
  assert.equal(outcome(datagram), 'ERR_SKNOCK_DECRYPT_FAILED');
});

test('points that are not on the curve, or the point at infinity, are decrypt failures', () => {
  const body = valid.subarray(0, valid.length - 65);
  const bad = [
    Buffer.concat([Buffer.of(4), Buffer.alloc(64, 0)]),
    Buffer.concat([Buffer.of(4), Buffer.alloc(64, 0xff)]),
    Buffer.concat([Buffer.of(2), Buffer.alloc(64, 1)]),
  ];
  for (const point of bad) assert.equal(outcome(Buffer.concat([body, point])), 'ERR_SKNOCK_DECRYPT_FAILED');
});

test('every decrypt failure has the same message', () => {
  const messages = new Set<string>();
  for (const d of [flipped(valid, valid.length - 1), valid.subarray(0, valid.length - 1), flipped(valid, valid.length - 66)]) {
    try {
      openKnockPacket(d, server, { family: 4 });
    } catch (err) {
      messages.add((err as Error).message);
    }
  }
  assert.equal(messages.size, 1);
});

// The signed request on its own (after decryption).
const certLen = plaintext.length - 97;
const sigLen = plaintext[plaintext.length - 73] as number;
const requestTable: Array<{ what: string; make: () => Uint8Array }> = [
  { what: 'leading byte not zero', make: () => flipped(plaintext, 0) },
  { what: 'shorter than an empty request', make: () => plaintext.subarray(0, 96) },
  { what: 'no certificate', make: () => encodeSignedRequest(plaintext.subarray(0, 24), plaintext.subarray(plaintext.length - sigLen)) },
  { what: 'signature length 0', make: () => { const p = new Uint8Array(plaintext); p[24 + certLen] = 0; return p; } },
  { what: 'signature length 73', make: () => { const p = new Uint8Array(plaintext); p[24 + certLen] = 73; return p; } },
  { what: 'signature length 7', make: () => { const p = new Uint8Array(plaintext); p[24 + certLen] = 7; return p; } },
  { what: 'non-zero byte in the signature slot padding', make: () => {
      const p = new Uint8Array(plaintext); p[24 + certLen] = sigLen - 1; return p; // shifts the slot: a non-zero byte lands in padding
    } },
];

for (const row of requestTable) {
  test(`signed request: ${row.what} → ERR_SKNOCK_MALFORMED_REQUEST`, () => {
    assert.throws(() => decodeSignedRequest(row.make(), 4), { code: 'ERR_SKNOCK_MALFORMED_REQUEST' });
  });
}

test('openKnockPacket checks its options', () => {
  assert.throws(() => openKnockPacket(valid, server, { family: 5 as 4 }), { code: 'ERR_SKNOCK_INVALID_ARGUMENT', message: /family/ });
  assert.throws(() => openKnockPacket(valid, {} as never, { family: 4 }), { code: 'ERR_SKNOCK_UNSUPPORTED_KEY' });
  assert.throws(() => openKnockPacket('x' as never, server, { family: 4 }), { code: 'ERR_SKNOCK_INVALID_ARGUMENT' });
});
