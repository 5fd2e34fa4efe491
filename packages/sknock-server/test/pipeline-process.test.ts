import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { KNOCK_MAGIC } from '@sknock/protocol';
import { CrlManager } from '../src/crl/index.js';
import { GrantKeeper } from '../src/daemon/grant-keeper.js';
import { MemoryFirewallBackend } from '../src/firewall/memory.js';
import { createKnockPipeline, type KnockPipeline } from '../src/pipeline/process-knock.js';
import { REJECT_CODES, type RejectCode } from '../src/pipeline/reject-codes.js';
import { SourceRateLimiter } from '../src/pipeline/rate-limiter.js';
import type { KnockVerdict, KnockSource } from '../src/pipeline/types.js';
import { TrustStore } from '../src/trust/index.js';
import { knockFixtures, makeKnock, type KnockFixtures } from './support/knock-fixtures.js';
import { recordingLogger } from './support/recording-logger.js';
import { handKnock, sealPlaintext } from './support/seal-request.js';

/**
 * processKnock over the real trust store (CA chain, validity, CRL), the real grant keeper and
 * the memory firewall back end: every reject path gives its code, in the pipeline's order.
 */

const V4: KnockSource = { address: '127.0.0.1', family: 4, port: 40000 };
const SETTINGS = { knockPacketMinLength: 800, recvBuffer: 1600, timestampThresholdSeconds: 7, portOpenDurationSeconds: 15 };

let f: KnockFixtures;
let dir: string;
let crl: CrlManager;
let firewall: MemoryFirewallBackend;
let keeper: GrantKeeper;

function pipeline(extra: Partial<Parameters<typeof createKnockPipeline>[0]> = {}): KnockPipeline {
  return createKnockPipeline({
    settings: SETTINGS,
    privateKey: f.server.privateKey,
    trust: new TrustStore({ caCertificates: f.server.caCertificates, crl, requireCrl: false }),
    opener: keeper,
    rateLimiter: new SourceRateLimiter({ burst: 1000, perSecond: 1000 }),
    ...extra,
  });
}

function code(result: KnockVerdict): RejectCode | 'accepted' {
  return result.ok ? 'accepted' : result.code;
}

before(async () => {
  f = await knockFixtures();
  dir = mkdtempSync(join(tmpdir(), 'sknock-pipeline-'));
  writeFileSync(join(dir, 'crl.der'), f.crl);
  crl = new CrlManager({ caCertificates: f.server.caCertificates, crlFile: join(dir, 'crl.der'), intervalMinutes: 60, logger: recordingLogger() });
  await crl.start();
  firewall = new MemoryFirewallBackend();
  await firewall.setup({ policy: 'none', emergencyAccessPorts: [], knockPort: 62201, anyPortKnocks: false, minKnockDatagramLength: 738 });
  keeper = new GrantKeeper({ firewall, logger: recordingLogger(), now: Date.now });
});

after(async () => {
  keeper.stop();
  crl.stop();
  await firewall.teardown();
  rmSync(dir, { recursive: true, force: true });
});

describe('processKnock', () => {
  it('accepts a valid knock and opens its grant through the firewall', async () => {
    const p = pipeline();
    const now = Date.now();
    const opened = new Promise((resolve) => keeper.once('open', resolve));
    const result = p.processKnock(makeKnock(f, f.alice, { port: 3000 }), V4, now);
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.grant, { address: '127.0.0.1', family: 4, protocol: 'tcp', port: 3000 });
    assert.match(result.subject, /alice/);
    assert.equal(result.serial, f.alice.serial);
    assert.equal(result.expiresAt, now + 15_000);
    await opened;
    assert.equal(firewall.isAllowed('127.0.0.1', 'tcp', 3000), true);
  });

  it('binds IPv6 sources and UDP grants', () => {
    const source: KnockSource = { address: '2001:db8::7', family: 6, port: 1 };
    const result = pipeline().processKnock(makeKnock(f, f.alice, { protocol: 'udp', port: 8000, address: '2001:db8::7' }), source, Date.now());
    assert.ok(result.ok && result.grant.family === 6 && result.grant.protocol === 'udp');
  });

  it('gives each check its own code', () => {
    const p = pipeline();
    const now = Date.now();
    const nowS = Math.floor(now / 1000);
    const tcp2000 = { protocol: 'tcp' as const, port: 2000 };
    const cases: Array<[RejectCode, Uint8Array, KnockSource?]> = [
      ['too-short', new Uint8Array(100)],
      ['bad-magic', new Uint8Array(869).fill(0x62)],
      ['bad-version', Uint8Array.from({ length: 869 }, (_, i) => (i === 0 ? KNOCK_MAGIC : i === 1 ? 2 : 0))],
      ['decrypt-failed', Uint8Array.from({ length: 869 }, (_, i) => (i < 4 ? [KNOCK_MAGIC, 1, 0, 0][i] as number : i === 804 ? 4 : (i * 7) & 0xff))],
      ['malformed-request', sealPlaintext(new Uint8Array(800).fill(1), f.server.certificate)],
      ['untrusted-certificate', makeKnock(f, f.stranger, tcp2000)],
      ['expired', makeKnock(f, f.expired, tcp2000)],
      ['revoked', makeKnock(f, f.revoked, tcp2000)],
      ['bad-signature', handKnock(f.alice, f.server.certificate, { tamper: (b) => void (b[3] = (b[3] as number) ^ 1) })],
      ['stale-timestamp', makeKnock(f, f.alice, { ...tcp2000, timestamp: nowS - 8 })],
      ['stale-timestamp', makeKnock(f, f.alice, { ...tcp2000, timestamp: nowS + 8 })],
      ['not-granted', makeKnock(f, f.alice, { protocol: 'tcp', port: 8000 })],
      ['not-granted', makeKnock(f, f.bob, tcp2000)],
      ['address-mismatch', makeKnock(f, f.alice, { ...tcp2000, address: '10.9.8.7' })],
      // over IPv6 all 16 bytes of the field count: an IPv4 binding reads as 7f00:1::
      ['address-mismatch', makeKnock(f, f.alice, tcp2000), { address: '::1', family: 6, port: 1 }],
    ];
    for (const [want, datagram, source] of cases) {
      assert.equal(code(p.processKnock(datagram, source ?? V4, now)), want, want);
    }
    assert.equal(code(p.processKnock(makeKnock(f, f.alice, { ...tcp2000, timestamp: nowS - 7 }), V4, now)), 'accepted', 'the edge of the window');
  });

  it('drops a replayed datagram before any cryptography', () => {
    const p = pipeline();
    const now = Date.now();
    const datagram = makeKnock(f, f.alice);
    assert.equal(code(p.processKnock(datagram, V4, now)), 'accepted');
    // With the wrong server key a fresh packet cannot even decrypt: the replay check comes first.
    p.reconfigure({ privateKey: f.alice.privateKey });
    assert.equal(code(p.processKnock(datagram, V4, now + 1000)), 'replayed-key');
    assert.equal(code(p.processKnock(makeKnock(f, f.alice), V4, now)), 'decrypt-failed');
    // Junk re-using one point costs one ECDH, then none.
    const junk = new Uint8Array(datagram);
    junk[10] = (junk[10] as number) ^ 0xff;
    assert.equal(code(p.processKnock(junk, V4, now)), 'replayed-key');
  });

  it('remembers keys for 2 × threshold + margin', () => {
    const p = pipeline();
    const now = Date.now();
    const datagram = makeKnock(f, f.alice);
    assert.equal(code(p.processKnock(datagram, V4, now)), 'accepted');
    assert.equal(code(p.processKnock(datagram, V4, now + 18_999)), 'replayed-key');
    // after its lifetime the key is forgotten; the packet is stale by then anyway
    assert.equal(code(p.processKnock(datagram, V4, now + 19_000)), 'stale-timestamp');
  });

  it('rate limits per source before the replay cache', () => {
    const p = pipeline({ rateLimiter: new SourceRateLimiter({ burst: 2, perSecond: 1 }) });
    const now = Date.now();
    const results = [0, 1, 2, 3].map(() => code(p.processKnock(makeKnock(f, f.alice), V4, now)));
    assert.deepEqual(results, ['accepted', 'accepted', 'rate-limited', 'rate-limited']);
    const other: KnockSource = { address: '127.0.0.2', family: 4, port: 1 };
    assert.equal(code(p.processKnock(makeKnock(f, f.alice, { address: '127.0.0.2' }), other, now)), 'accepted');
    assert.equal(code(p.processKnock(makeKnock(f, f.alice), V4, now + 1000)), 'accepted', 'one token back after a second');
  });

  it('refuses (overloaded) when the firewall writer is full', () => {
    const p = pipeline({ opener: { request: () => false } });
    assert.equal(code(p.processKnock(makeKnock(f, f.alice), V4, Date.now())), 'overloaded');
  });

  it('never throws on arbitrary datagrams; every result has a known code', () => {
    const p = pipeline();
    const now = Date.now();
    const knockShaped = fc
      .tuple(fc.integer({ min: 8, max: 70 }), fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.boolean())
      .map(([blocks, point, validPrefix]) => {
        const d = new Uint8Array(4 + 16 * blocks + 65);
        d.set([KNOCK_MAGIC, 1, 0, 0]);
        d[d.length - 65] = validPrefix ? 4 : point[0] as number;
        d.set(point, d.length - 64);
        return d;
      });
    const sources = fc.constantFrom<KnockSource>(V4, { address: '::1', family: 6, port: 2 });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 1700 }), knockShaped), sources, (datagram, source) => {
        const result = p.processKnock(datagram, source, now);
        assert.equal(result.ok, false);
        assert.ok(REJECT_CODES.includes(code(result) as RejectCode));
        assert.notEqual(code(result), 'internal-error');
      }),
      { numRuns: 400 },
    );
  });
});
