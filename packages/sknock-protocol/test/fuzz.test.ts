import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodePem,
  inspectKnockDatagram,
  isSknockProtocolError,
  openKnockPacket,
  parseGrantString,
  parseIpAddress,
  parseKnockDatagram,
  readCertificate,
  readCertificates,
} from '../src/index.js';
import { decodeSignedRequest } from '../src/signed-request.js';
import { golden, serverKey } from './support/golden.js';

// Every decoder meets arbitrary input; only SknockProtocolError may come out.
function onlyTyped(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    assert.equal((err as Error)?.name, 'SknockProtocolError', `untyped error: ${String(err)}`);
    assert.match((err as { code: string }).code, /^ERR_SKNOCK_/);
  }
}

const server = { privateKey: serverKey };
const runs = { numRuns: 400 };

test('parseKnockDatagram: arbitrary bytes', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 1600 }), (b) => onlyTyped(() => parseKnockDatagram(b))), runs);
});

test('inspectKnockDatagram never throws and agrees with parseKnockDatagram on every input', () => {
  const codeOf = { 'bad-magic': 'ERR_SKNOCK_BAD_MAGIC', 'unsupported-version': 'ERR_SKNOCK_UNSUPPORTED_VERSION', 'packet-length': 'ERR_SKNOCK_PACKET_LENGTH', 'not-blocks': 'ERR_SKNOCK_DECRYPT_FAILED' } as const;
  const knockLike = fc.tuple(fc.uint8Array({ maxLength: 1600 }), fc.constantFrom(0x61, 0x62), fc.constantFrom(0, 1, 2)).map(([b, magic, major]) => {
    if (b.length > 0) b[0] = magic;
    if (b.length > 1) b[1] = major;
    return b;
  });
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 1600 }), knockLike), (b) => {
      const inspected = inspectKnockDatagram(b);
      let parsed: unknown;
      try {
        parsed = parseKnockDatagram(b);
      } catch (err) {
        assert.ok(typeof inspected === 'string', `parse threw ${String(err)} where inspect split the datagram`);
        assert.ok(isSknockProtocolError(err, codeOf[inspected]), `${inspected} but parse threw ${String(err)}`);
        return;
      }
      assert.deepEqual(inspected, parsed);
    }),
    runs,
  );
  for (const packet of golden.packets) {
    const datagram = Buffer.from(packet.datagramHex, 'hex');
    const inspected = inspectKnockDatagram(datagram);
    assert.ok(typeof inspected !== 'string', `${packet.name}: ${String(inspected)}`);
    assert.deepEqual(inspected, parseKnockDatagram(datagram));
    assert.deepEqual(inspected.version, packet.version);
  }
});

test('openKnockPacket: arbitrary bytes, and knock-shaped bytes that reach the crypto stage', () => {
  const knockShaped = fc
    .tuple(fc.integer({ min: 7, max: 80 }), fc.uint8Array({ minLength: 1300, maxLength: 1300 }), fc.boolean())
    .map(([blocks, body, goodPrefix]) => {
      const d = body.subarray(0, 4 + blocks * 16 + 65);
      d.set([0x61, 1, 0, 0], 0);
      if (goodPrefix) d[d.length - 65] = 4;
      return d;
    });
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 1600 }), knockShaped), fc.constantFrom(4 as const, 6 as const), (b, family) =>
      onlyTyped(() => openKnockPacket(b, server, { family })),
    ),
    runs,
  );
});

test('openKnockPacket: golden packets with random bytes overwritten', () => {
  const packets = golden.packets.map((p) => new Uint8Array(Buffer.from(p.datagramHex, 'hex')));
  fc.assert(
    fc.property(fc.constantFrom(...packets), fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 4 }), (p, at, patch) => {
      const copy = new Uint8Array(p);
      copy.set(patch.subarray(0, copy.length - (at % copy.length)), at % copy.length);
      onlyTyped(() => openKnockPacket(copy, server, { family: 4 }));
    }),
    runs,
  );
});

test('decodeSignedRequest: arbitrary plaintexts', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1300 }), fc.constantFrom(4 as const, 6 as const), (b, family) =>
      onlyTyped(() => decodeSignedRequest(b, family)),
    ),
    runs,
  );
});

test('readCertificate, decodePem, parseGrantString, parseIpAddress: arbitrary input', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1500 }), fc.string({ maxLength: 200 }), (b, s) => {
      onlyTyped(() => readCertificate(b));
      onlyTyped(() => readCertificates(`-----BEGIN CERTIFICATE-----\n${Buffer.from(b).toString('base64')}\n-----END CERTIFICATE-----\n`));
      onlyTyped(() => readCertificate(s));
      decodePem(s); // never throws
      onlyTyped(() => parseGrantString(s));
      onlyTyped(() => parseIpAddress(s));
    }),
    runs,
  );
});
