import assert from 'node:assert/strict';
import { createECDH } from 'node:crypto';
import { describe, it } from 'node:test';
import { KNOCK_MAGIC } from '@sknock/protocol';
import { checkAddress } from '../src/pipeline/check-address.js';
import { checkSize } from '../src/pipeline/check-size.js';
import { checkTimestamp } from '../src/pipeline/check-timestamp.js';
import { normaliseSource } from '../src/pipeline/normalise-source.js';
import { SourceRateLimiter } from '../src/pipeline/rate-limiter.js';
import { ephemeralKeyId, ephemeralPointY, ReplayCache, seenKeysFor } from '../src/pipeline/replay-cache.js';
import { isReject } from '../src/pipeline/reject.js';
import { RejectLog } from '../src/daemon/reject-log.js';
import { ReturningSources } from '../src/daemon/returning-sources.js';
import { WorkQueue } from '../src/daemon/work-queue.js';
import { recordingLogger } from './support/recording-logger.js';

const SETTINGS = { knockPacketMinLength: 800, recvBuffer: 1600 };

function knockShaped(length: number): Uint8Array {
  const d = new Uint8Array(length);
  d.set([KNOCK_MAGIC, 1, 0, 0]);
  d[length - 65] = 0x04;
  return d;
}

describe('normaliseSource', () => {
  it('treats IPv4-mapped IPv6 from a dual-stack socket as IPv4', () => {
    assert.deepEqual(normaliseSource('::ffff:192.0.2.7', 'IPv6', 5), { address: '192.0.2.7', family: 4, port: 5 });
    assert.deepEqual(normaliseSource('::FFFF:c000:207', 'IPv6', 5), { address: '192.0.2.7', family: 4, port: 5 });
  });
  it('canonicalises IPv6 and drops a zone', () => {
    assert.deepEqual(normaliseSource('2001:DB8:0:0:0:0:0:1', 'IPv6', 1), { address: '2001:db8::1', family: 6, port: 1 });
    assert.deepEqual(normaliseSource('fe80::1%lo', 'IPv6', 1), { address: 'fe80::1', family: 6, port: 1 });
    assert.deepEqual(normaliseSource('127.0.0.1', 'IPv4', 1), { address: '127.0.0.1', family: 4, port: 1 });
  });
});

describe('step 1: checkSize', () => {
  it('counts the frame: 758 bytes pass over IPv4, 757 do not; IPv6 needs 738', () => {
    assert.equal(isReject(checkSize(knockShaped(757 + 4), 4, SETTINGS)), true); // 761 is not block aligned
    const short4 = checkSize(knockShaped(757), 4, SETTINGS);
    assert.equal(isReject(short4) && short4.code, 'too-short');
    const short6 = checkSize(knockShaped(737), 6, SETTINGS);
    assert.equal(isReject(short6) && short6.code, 'too-short');
    // 4 + 16k + 65 = 869 (the original client's size) passes both
    assert.equal(isReject(checkSize(knockShaped(869), 4, SETTINGS)), false);
    assert.equal(isReject(checkSize(knockShaped(869), 6, SETTINGS)), false);
  });
  it('rejects more than RECV_BUFFER, bad magic, newer version, misaligned ciphertext', () => {
    const long = checkSize(knockShaped(1605), 4, SETTINGS);
    assert.equal(isReject(long) && long.code, 'too-long');
    const magic = knockShaped(869);
    magic[0] = 0x62;
    const m = checkSize(magic, 4, SETTINGS);
    assert.equal(isReject(m) && m.code, 'bad-magic');
    const version = knockShaped(869);
    version[1] = 2;
    const v = checkSize(version, 4, SETTINGS);
    assert.equal(isReject(v) && v.code, 'bad-version');
    const older = knockShaped(869);
    older.set([0, 9, 9], 1);
    assert.equal(isReject(checkSize(older, 4, SETTINGS)), false, 'an older version is accepted, as the original does');
    const l = checkSize(knockShaped(870), 4, SETTINGS);
    assert.equal(isReject(l) && l.code, 'bad-length');
  });
});

describe('step 2: SourceRateLimiter', () => {
  it('allows a burst, then refills at the rate', () => {
    const rl = new SourceRateLimiter({ burst: 3, perSecond: 2 });
    const t = 1_000_000;
    assert.deepEqual([1, 2, 3, 4].map(() => rl.take('a', t)), [true, true, true, false]);
    assert.equal(rl.take('b', t), true, 'another source has its own bucket');
    assert.equal(rl.take('a', t + 400), false, '0.8 token');
    assert.equal(rl.take('a', t + 500), true, 'one token after 500 ms');
    assert.equal(rl.take('a', t + 500), false);
  });
  it('keeps at most maxSources buckets', () => {
    const rl = new SourceRateLimiter({ burst: 1, perSecond: 1, maxSources: 100 });
    for (let i = 0; i < 10_000; i++) rl.take(`10.0.${i >> 8}.${i & 255}`, 5000);
    assert.ok(rl.size <= 100, `size ${rl.size}`);
  });
});

describe('step 2: ReplayCache', () => {
  const point = (x: number): Uint8Array => {
    const p = new Uint8Array(65);
    p[0] = 4;
    p[1] = x;
    p[64] = 1;
    return p;
  };
  it('identifies a point by X (its mirror −P gives the same ECDH secret)', () => {
    const a = point(1);
    const mirror = point(1);
    mirror[64] = 2;
    assert.equal(ephemeralKeyId(a), ephemeralKeyId(mirror));
    assert.notEqual(ephemeralKeyId(a), ephemeralKeyId(point(2)));
  });
  it('remembers keys for their lifetime only', () => {
    const c = new ReplayCache();
    const life = ReplayCache.lifetimeMs(7);
    assert.equal(life, 19_000);
    assert.equal(c.markVerified('k', 'alice', 1000, life), 'recorded');
    assert.equal(c.isAccepted('k', 1000 + life - 1), true);
    assert.equal(c.isAccepted('k', 1000 + life), false);
    assert.equal(c.verifiedCount('alice'), 0, 'an expired key no longer counts against its certificate');
    c.rememberKeys('p', 'y', null, 1000, life);
    assert.ok(c.seenPoint('p', 1000 + life - 1, life), 'a point in use is kept longer');
    assert.ok(c.seenPoint('p', 1000 + 2 * life - 2, life));
    assert.equal(c.seenPoint('p', 1000 + 3 * life, life), undefined);
  });
  it('a flood can flush the seen tier but not the verified one; a full verified tier refuses', () => {
    const c = new ReplayCache({ maxSeen: 10, maxVerified: 2 });
    const keys = { key: Buffer.alloc(16), iv: Buffer.alloc(16) };
    c.rememberKeys('real', 'y', keys, 0, 60_000);
    assert.equal(c.markVerified('real', 'alice', 0, 60_000), 'recorded');
    for (let i = 0; i < 100; i++) c.rememberKeys(`junk${i}`, 'y', keys, 1, 60_000);
    assert.equal(c.seenSize, 10);
    assert.equal(c.seenPoint('junk0', 2, 60_000), undefined, 'flushed');
    assert.equal(c.isAccepted('real', 2), true, 'still caught');
    assert.equal(c.markVerified('real', 'alice', 2, 60_000), 'replayed');
    assert.equal(c.markVerified('b', 'bob', 3, 60_000), 'recorded');
    assert.equal(c.markVerified('c', 'carol', 3, 60_000), 'full');
    assert.equal(c.markVerified('d', 'carol', 60_001, 60_000), 'recorded', 'room again once the old ones expire');
  });
  it('bounds the keys one certificate holds; another certificate is not affected', () => {
    const c = new ReplayCache({ maxVerified: 100, maxVerifiedPerCertificate: 3 });
    assert.deepEqual(['a1', 'a2', 'a3', 'a4'].map((k) => c.markVerified(k, 'alice', 0, 60_000)), ['recorded', 'recorded', 'recorded', 'over-quota']);
    assert.equal(c.isAccepted('a4', 1), false);
    assert.equal(c.markVerified('b1', 'bob', 1, 60_000), 'recorded');
    c.unmarkVerified('a1');
    assert.equal(c.verifiedCount('alice'), 2);
    assert.equal(c.markVerified('a4', 'alice', 2, 60_000), 'recorded', 'a key given back frees its slot');
    assert.equal(c.markVerified('a5', 'alice', 60_000, 60_000), 'recorded', 'expired keys free theirs');
    assert.equal(c.verifiedCount('alice'), 2, 'a2 and a3 expired; a4 and a5 held');
  });
  it('remembers a few failed ciphertexts per key, the newest last; a valid point is never replaced by one off the curve', () => {
    const c = new ReplayCache();
    const keys = { key: Buffer.alloc(16, 1), iv: Buffer.alloc(16, 2) };
    c.rememberKeys('x', 'y', keys, 0, 60_000);
    c.rememberKeys('x', 'bad y', null, 0, 60_000);
    const point = c.seenPoint('x', 1, 60_000);
    assert.ok(point);
    assert.deepEqual(seenKeysFor(point, 'y'), keys);
    assert.equal(seenKeysFor(point, 'bad y'), 'off-curve', 'only ±P have this X');
    const failed = (n: number) => ({ digest: `d${n}`, family: 4 as const, reject: { ok: false as const, code: 'decrypt-failed' as const, detail: String(n) } });
    for (let i = 0; i < 10; i++) c.rememberReject('x', failed(i), 0);
    assert.equal(ReplayCache.rejectOf(point, 'd0', 4), undefined);
    assert.deepEqual(ReplayCache.rejectOf(point, 'd9', 4), failed(9));
    assert.equal(ReplayCache.rejectOf(point, 'd9', 6), undefined, 'the address field is read by family');
    assert.equal(point.rejects?.length, 4);
    // a point first seen off the curve says nothing of another Y with its X
    c.rememberKeys('x2', 'bad y', null, 0, 60_000);
    const off = c.seenPoint('x2', 1, 60_000);
    assert.ok(off);
    assert.equal(seenKeysFor(off, 'bad y'), 'off-curve');
    assert.equal(seenKeysFor(off, 'y'), undefined);
  });
  it('the mirror point −P = (x, p − y) shares the keys of P', () => {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const point = ecdh.getPublicKey();
    const p = BigInt('0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff');
    const mirror = Buffer.from(point);
    Buffer.from((p - BigInt(`0x${point.subarray(33).toString('hex')}`)).toString(16).padStart(64, '0'), 'hex').copy(mirror, 33);
    assert.equal(ephemeralKeyId(mirror), ephemeralKeyId(point));
    const c = new ReplayCache();
    const keys = { key: Buffer.alloc(16, 3), iv: Buffer.alloc(16, 4) };
    c.rememberKeys(ephemeralKeyId(point), ephemeralPointY(point), keys, 0, 60_000);
    const seen = c.seenPoint(ephemeralKeyId(mirror), 1, 60_000);
    assert.ok(seen);
    assert.deepEqual(seenKeysFor(seen, ephemeralPointY(mirror)), keys);
  });
});

describe('steps 6 and 8', () => {
  it('timestamp: |now − ts| ≤ threshold, skew reported', () => {
    const now = 1_700_000_000_500;
    assert.equal(checkTimestamp(1_700_000_000 - 7, now, 7), 7);
    assert.equal(checkTimestamp(1_700_000_000 + 7, now, 7), -7);
    const old = checkTimestamp(1_700_000_000 - 8, now, 7);
    assert.equal(isReject(old) && old.code, 'stale-timestamp');
    const future = checkTimestamp(1_700_000_000 + 3600, now, 7);
    assert.ok(isReject(future) && /future/.test(future.detail));
  });
  it('address: canonical forms compared', () => {
    assert.equal(checkAddress('2001:db8::1', { address: '2001:db8::1', family: 6, port: 1 }), undefined);
    assert.equal(checkAddress('2001:db8:0::1', { address: '2001:db8::1', family: 6, port: 1 }), undefined);
    assert.equal(checkAddress('10.0.0.1', { address: '10.0.0.2', family: 4, port: 1 })?.code, 'address-mismatch');
  });
});

describe('WorkQueue', () => {
  it('drops beyond its bound and counts, processes in batches yielding to the event loop', async () => {
    const seen: number[] = [];
    const q = new WorkQueue<number>({ max: 5, batchMax: 2, process: (n) => seen.push(n) });
    const pushed = [1, 2, 3, 4, 5, 6, 7].map((n) => q.push(n));
    assert.deepEqual(pushed, [true, true, true, true, true, false, false]);
    assert.equal(q.stats().dropped, 2);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(seen, [1, 2], 'one batch per turn');
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
    assert.equal(q.stats().highWater, 5);
  });
});

describe('WorkQueue lanes', () => {
  it('serves the priority lane (returning sources) first, each lane with its own bound', async () => {
    const seen: string[] = [];
    const q = new WorkQueue<string>({ max: 3, priorityMax: 2, batchMax: 100, process: (s) => seen.push(s) });
    assert.deepEqual(['n1', 'n2', 'n3', 'n4'].map((s) => q.push(s)), [true, true, true, false], 'normal lane full at 3');
    assert.deepEqual(['p1', 'p2', 'p3'].map((s) => q.push(s, true)), [true, true, false], 'priority lane full at 2');
    assert.equal(q.stats().dropped, 2);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(seen, ['p1', 'p2', 'n1', 'n2', 'n3']);
  });
});

describe('ReturningSources', () => {
  it('remembers accepted sources for a while, bounded', () => {
    const r = new ReturningSources(1000, 2);
    r.add('a', 0);
    r.add('b', 0);
    assert.equal(r.has('a', 999), true);
    assert.equal(r.has('a', 1000), false, 'expired');
    r.add('c', 10);
    assert.equal(r.size, 2);
    assert.equal(r.has('a', 20), false, 'the oldest was forgotten');
    assert.equal(r.has('c', 20), true);
  });
});

describe('RejectLog', () => {
  it('logs at most N lines a second and summarises the rest by code', () => {
    const logger = recordingLogger();
    let now = 0;
    const log = new RejectLog({ logger, now: () => now, perSecond: 3, summaryIntervalMs: 3_600_000 });
    const src = { address: '192.0.2.1', family: 4 as const, port: 9 };
    for (let i = 0; i < 10; i++) log.record({ code: 'bad-magic', detail: 'x' }, src);
    for (let i = 0; i < 5; i++) log.record({ code: 'replayed-key', detail: 'y' }, src);
    assert.equal(logger.records.length, 3);
    now = 1000;
    log.record({ code: 'decrypt-failed', detail: 'z' }, src);
    assert.equal(logger.records.length, 4);
    log.stop();
    const summary = logger.records.at(-1);
    assert.equal(summary?.fields.event, 'reject-summary');
    assert.deepEqual(summary?.fields.suppressed, { 'bad-magic': 7, 'replayed-key': 5 });
    assert.equal(summary?.fields.total, 12);
  });
});
