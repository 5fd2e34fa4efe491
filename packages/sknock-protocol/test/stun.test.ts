import { createHmac, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  STUN_HEADER_LENGTH,
  STUN_MAGIC_COOKIE,
  decodeBindingResponse,
  encodeBindingError,
  encodeBindingRequest,
  encodeBindingSuccess,
} from '@sknock/protocol/stun';
import { canonicalIpAddress } from '../src/index.js';
import { hex, readJson, toHex } from './support/data.js';

/** STUN Binding (RFC 8489): the RFC 5769 sample responses, round trips, every refusal, fuzzing. */

interface Vectors {
  readonly password: string;
  readonly cases: readonly { name: string; messageHex: string; transactionIdHex: string; family: 4 | 6; address: string; port: number }[];
}
const vectors = readJson<Vectors>('stun-rfc5769.json');

function malformed(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.equal((err as Error).name, 'SknockProtocolError');
    assert.equal((err as { code: string }).code, 'ERR_SKNOCK_MALFORMED_STUN');
    assert.match((err as Error).message, message);
    return true;
  });
}

/** A response with the given attributes (type, value) after a correct header. */
function message(type: number, txid: Uint8Array, attributes: readonly [number, Uint8Array][]): Uint8Array {
  const parts: Buffer[] = [];
  for (const [t, v] of attributes) {
    const head = Buffer.alloc(4);
    head.writeUInt16BE(t, 0);
    head.writeUInt16BE(v.length, 2);
    parts.push(head, Buffer.from(v), Buffer.alloc((4 - (v.length % 4)) % 4));
  }
  const body = Buffer.concat(parts);
  const h = Buffer.alloc(20);
  h.writeUInt16BE(type, 0);
  h.writeUInt16BE(body.length, 2);
  h.writeUInt32BE(STUN_MAGIC_COOKIE, 4);
  Buffer.from(txid).copy(h, 8);
  return new Uint8Array(Buffer.concat([h, body]));
}

const TXID = hex('00112233445566778899aabb');
/** XOR-MAPPED-ADDRESS value for 192.0.2.1:32853 under TXID (the IPv4 part does not use it). */
const XMA_V4 = hex('0001a147e112a643');

describe('RFC 5769 sample responses', () => {
  for (const v of vectors.cases) {
    test(v.name, () => {
      const bytes = hex(v.messageHex);
      const decoded = decodeBindingResponse(bytes);
      assert.equal(decoded.kind, 'success');
      assert.equal(toHex(decoded.transactionId), v.transactionIdHex);
      assert.deepEqual(decoded.kind === 'success' && decoded.mapped, { family: v.family, address: v.address, port: v.port });
      // The vector is the RFC's: its MESSAGE-INTEGRITY verifies with the RFC's password.
      const mi = Buffer.from(bytes).indexOf(Buffer.from('00080014', 'hex'), STUN_HEADER_LENGTH);
      const signed = Buffer.from(bytes.subarray(0, mi));
      signed.writeUInt16BE(mi + 24 - STUN_HEADER_LENGTH, 2);
      assert.equal(createHmac('sha1', vectors.password).update(signed).digest('hex'), toHex(bytes.subarray(mi + 4, mi + 24)));
    });

    test(`${v.name}: every flipped bit is refused, or leaves the mapped address as it was`, () => {
      const bytes = hex(v.messageHex);
      const fingerprintAt = bytes.length - 8;
      const integrityLengthAt = fingerprintAt - 24 + 3;
      const unchecked = new Set<number>();
      for (let bit = 0; bit < bytes.length * 8; bit++) {
        const copy = new Uint8Array(bytes);
        copy[bit >> 3] = (copy[bit >> 3] as number) ^ (0x80 >> (bit & 7));
        try {
          const d = decodeBindingResponse(copy);
          assert.deepEqual(d.kind === 'success' && d.mapped, { family: v.family, address: v.address, port: v.port }, `bit ${bit}`);
          unchecked.add(bit >> 3);
        } catch (err) {
          assert.equal((err as { code?: string }).code, 'ERR_SKNOCK_MALFORMED_STUN', `bit ${bit}: ${String(err)}`);
        }
      }
      // FINGERPRINT covers every byte before it. It is optional, so only a flip that hides it
      // goes unnoticed: in MESSAGE-INTEGRITY's length (its value then swallows FINGERPRINT),
      // or in FINGERPRINT's own type (then some comprehension-optional attribute, skipped).
      assert.deepEqual([...unchecked].sort((a, b) => a - b), [integrityLengthAt, fingerprintAt, fingerprintAt + 1]);
    });
  }
});

describe('encode and decode', () => {
  test('a Binding request is 20 bytes: type 0x0001, length 0, the cookie, the transaction id', () => {
    const txid = randomBytes(12);
    const request = encodeBindingRequest(txid);
    assert.equal(toHex(request), `000100002112a442${txid.toString('hex')}`);
    assert.throws(() => encodeBindingRequest(new Uint8Array(11)), { code: 'ERR_SKNOCK_INVALID_ARGUMENT' });
  });

  test('success responses round-trip for any IPv4/IPv6 address and port, with and without FINGERPRINT', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        fc.oneof(fc.ipV4(), fc.ipV6()),
        fc.integer({ min: 0, max: 65535 }),
        fc.boolean(),
        (txid, address, port, fingerprint) => {
          const decoded = decodeBindingResponse(encodeBindingSuccess(txid, { address, port }, { fingerprint }));
          assert.equal(decoded.kind, 'success');
          if (decoded.kind !== 'success') return;
          assert.deepEqual(decoded.transactionId, txid);
          assert.equal(decoded.mapped.port, port);
          assert.equal(decoded.mapped.family, address.includes(':') ? 6 : 4);
          assert.equal(decoded.mapped.address, canonicalIpAddress(address));
        },
      ),
      { numRuns: 300 },
    );
  });

  test('error responses carry the code and a reason made safe to print', () => {
    const decoded = decodeBindingResponse(encodeBindingError(TXID, 420, 'Unknown Attribute'));
    assert.deepEqual(decoded, { kind: 'error', transactionId: TXID, code: 420, reason: 'Unknown Attribute' });
    const sneaky = decodeBindingResponse(encodeBindingError(TXID, 500, `oops\u001b[2J${'x'.repeat(300)}`));
    assert.equal(sneaky.kind === 'error' && sneaky.reason, `oops?[2J${'x'.repeat(120)}`);
  });

  test('comprehension-optional attributes (SOFTWARE) are skipped; of two XOR-MAPPED-ADDRESS the first counts; after MESSAGE-INTEGRITY nothing but FINGERPRINT', () => {
    const other = hex('0001a147e112a644'); // 192.0.2.0
    const d = decodeBindingResponse(message(0x0101, TXID, [[0x8022, new TextEncoder().encode('x')], [0x0020, XMA_V4], [0x0020, other]]));
    assert.equal(d.kind === 'success' && d.mapped.address, '192.0.2.1');
    const late = decodeBindingResponse(message(0x0101, TXID, [[0x0020, XMA_V4], [0x0008, new Uint8Array(20)], [0x0020, other]]));
    assert.equal(late.kind === 'success' && late.mapped.address, '192.0.2.1');
    malformed(() => decodeBindingResponse(message(0x0101, TXID, [[0x0008, new Uint8Array(20)], [0x0020, XMA_V4]])), /without XOR-MAPPED-ADDRESS/);
  });
});

describe('refusals (ERR_SKNOCK_MALFORMED_STUN)', () => {
  const good = message(0x0101, TXID, [[0x0020, XMA_V4]]);
  const withHeader = (patch: (b: Buffer) => void): Uint8Array => {
    const b = Buffer.from(good);
    patch(b);
    return new Uint8Array(b);
  };
  const cases: [string, () => Uint8Array, RegExp][] = [
    ['shorter than a header', () => good.subarray(0, 19), /needs 12 bytes at offset 8, 11 left/],
    ['top bits set', () => withHeader((b) => b.writeUInt16BE(0x8101, 0)), /first two bits/],
    ['wrong cookie (RFC 3489)', () => withHeader((b) => b.writeUInt32BE(0x01020304, 4)), /magic cookie/],
    ['length not a multiple of 4', () => withHeader((b) => b.writeUInt16BE(10, 2)), /multiple of 4/],
    ['length longer than the datagram', () => withHeader((b) => b.writeUInt16BE(16, 2)), /holds 12/],
    ['trailing bytes', () => new Uint8Array([...good, 0, 0, 0, 0]), /holds 16/],
    ['a request, not a response', () => withHeader((b) => b.writeUInt16BE(0x0001, 0)), /not a Binding response/],
    ['another method', () => withHeader((b) => b.writeUInt16BE(0x0103, 0)), /not a Binding response/],
    ['no XOR-MAPPED-ADDRESS', () => message(0x0101, TXID, [[0x8022, hex('41424344')]]), /without XOR-MAPPED-ADDRESS/],
    ['only MAPPED-ADDRESS', () => message(0x0101, TXID, [[0x0001, hex('00018055c0000201')]]), /without XOR-MAPPED-ADDRESS/],
    ['attribute longer than the message', () => withHeader((b) => b.writeUInt16BE(200, 22)), /attribute 0x0020 needs 200 bytes/],
    ['unknown comprehension-required attribute', () => message(0x0101, TXID, [[0x0020, XMA_V4], [0x7777, hex('00')]]), /0x7777/],
    ['bad family', () => message(0x0101, TXID, [[0x0020, hex('0003a147e112a643')]]), /family 0x03/],
    ['IPv6 family with 4 address bytes', () => message(0x0101, TXID, [[0x0020, hex('0002a147e112a643')]]), /not 20/],
    ['IPv4 family with extra bytes', () => message(0x0101, TXID, [[0x0020, hex('0001a147e112a64300000000')]]), /not 8/],
    ['truncated XOR-MAPPED-ADDRESS', () => message(0x0101, TXID, [[0x0020, hex('0001a1')]]), /port needs 2 bytes/],
    ['error response without ERROR-CODE', () => message(0x0111, TXID, []), /without ERROR-CODE/],
    ['ERROR-CODE class 7', () => message(0x0111, TXID, [[0x0009, hex('00000700')]]), /class 7/],
    ['ERROR-CODE number 100', () => message(0x0111, TXID, [[0x0009, hex('00000464')]]), /number 100/],
    ['FINGERPRINT not last', () => message(0x0101, TXID, [[0x8028, hex('00000000')], [0x0020, XMA_V4]]), /not the last/],
    ['FINGERPRINT wrong', () => message(0x0101, TXID, [[0x0020, XMA_V4], [0x8028, hex('00000000')]]), /does not match/],
    ['FINGERPRINT of 2 bytes', () => message(0x0101, TXID, [[0x0020, XMA_V4], [0x8028, hex('0000')]]), /not 4/],
  ];
  for (const [name, bytes, why] of cases) test(name, () => malformed(() => decodeBindingResponse(bytes()), why));

  test('not bytes at all: an argument error', () => {
    assert.throws(() => decodeBindingResponse('x' as unknown as Uint8Array), { code: 'ERR_SKNOCK_INVALID_ARGUMENT' });
  });
});

describe('fuzzing: only typed errors', () => {
  const onlyTyped = (b: Uint8Array): void => {
    try {
      decodeBindingResponse(b);
    } catch (err) {
      assert.equal((err as Error).name, 'SknockProtocolError', `untyped error: ${String(err)}`);
      assert.equal((err as { code: string }).code, 'ERR_SKNOCK_MALFORMED_STUN');
    }
  };

  test('arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), onlyTyped), { numRuns: 2000 });
  });

  test('a valid header with arbitrary attributes (reaches the attribute walk)', () => {
    const attribute = fc.tuple(
      fc.oneof(fc.constantFrom(0x0001, 0x0008, 0x0009, 0x0020, 0x8022, 0x8028, 0x001c), fc.integer({ min: 0, max: 0xffff })),
      fc.uint8Array({ maxLength: 40 }),
    );
    fc.assert(
      fc.property(fc.constantFrom(0x0101, 0x0111), fc.array(attribute, { maxLength: 6 }), fc.integer({ min: -8, max: 8 }), (type, attrs, lengthSkew) => {
        const m = Buffer.from(message(type, TXID, attrs));
        m.writeUInt16BE(Math.max(0, Math.min(0xffff, m.readUInt16BE(2) + lengthSkew)), 2);
        onlyTyped(new Uint8Array(m));
      }),
      { numRuns: 2000 },
    );
  });

  test('the RFC samples and encoded responses with random bytes overwritten', () => {
    const seeds = [...vectors.cases.map((v) => hex(v.messageHex)), encodeBindingSuccess(TXID, { address: '::1', port: 1 }, { fingerprint: true }), encodeBindingError(TXID, 401, 'Unauthorized')];
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 4 }), (seed, at, patch) => {
        const copy = new Uint8Array(seed);
        copy.set(patch.subarray(0, copy.length - (at % copy.length)), at % copy.length);
        onlyTyped(copy);
      }),
      { numRuns: 2000 },
    );
  });
});
