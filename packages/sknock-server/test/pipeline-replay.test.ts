import assert from 'node:assert/strict';
import { createECDH, createHash, createPrivateKey, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { knockPacketKeys, type KnockKeys } from '@sknock/protocol';
import { CrlManager } from '../src/crl/index.js';
import { GrantKeeper } from '../src/daemon/grant-keeper.js';
import { MemoryFirewallBackend } from '../src/firewall/memory.js';
import { createKnockPipeline, type KnockPipeline, type KnockPipelineOptions } from '../src/pipeline/process-knock.js';
import { SourceRateLimiter } from '../src/pipeline/rate-limiter.js';
import type { RejectCode } from '../src/pipeline/reject-codes.js';
import { isReject } from '../src/pipeline/reject.js';
import { ReplayCache } from '../src/pipeline/replay-cache.js';
import type { CertificateVerifier, KnockVerdict, KnockSource } from '../src/pipeline/types.js';
import { TrustStore } from '../src/trust/index.js';
import { knockFixtures, makeKnock, type KnockFixtures } from './support/knock-fixtures.js';
import { recordingLogger } from './support/recording-logger.js';
import { tamperedCopies, type TamperedCopies } from './support/tamper.js';

/**
 * The replay cache under attack, with real knocks from the test PKI: only an accepted
 * knock's key makes later datagrams replays (a copy raced in ahead of the genuine knock
 * costs it nothing), repeats of one datagram or one point cost no ECDH, and one
 * certificate cannot take the accepted tier from the others.
 */

const V4: KnockSource = { address: '127.0.0.1', family: 4, port: 40000 };
const ATTACKER: KnockSource = { address: '192.0.2.66', family: 4, port: 5353 };
const SETTINGS = { knockPacketMinLength: 800, recvBuffer: 1600, timestampThresholdSeconds: 7, portOpenDurationSeconds: 15 };

let f: KnockFixtures;
let dir: string;
let crl: CrlManager;
let firewall: MemoryFirewallBackend;
let keeper: GrantKeeper;

/** Counts step 3's ECDHs and step 4's certificate checks. */
interface Counted {
  readonly p: KnockPipeline;
  readonly ecdh: () => number;
  readonly certificateChecks: () => number;
}

function pipeline(extra: Partial<KnockPipelineOptions> = {}): Counted {
  let ecdh = 0;
  let certificateChecks = 0;
  const store = new TrustStore({ caCertificates: f.server.caCertificates, crl, requireCrl: false });
  const trust: CertificateVerifier = {
    verify: (der, nowMs) => {
      certificateChecks += 1;
      return store.verify(der, nowMs);
    },
  };
  const p = createKnockPipeline({
    settings: SETTINGS,
    privateKey: f.server.privateKey,
    trust,
    opener: keeper,
    rateLimiter: new SourceRateLimiter({ burst: 100_000, perSecond: 100_000, maxSources: 100_000 }),
    keyAgreement: (point, key): KnockKeys => {
      ecdh += 1;
      return knockPacketKeys(point, { privateKey: key });
    },
    ...extra,
  });
  return { p, ecdh: () => ecdh, certificateChecks: () => certificateChecks };
}

function code(result: KnockVerdict): RejectCode | 'accepted' {
  return result.ok ? 'accepted' : result.code;
}

function spoofed(i: number): KnockSource {
  return { address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, family: 4, port: 1024 + (i % 1000) };
}

before(async () => {
  f = await knockFixtures();
  dir = mkdtempSync(join(tmpdir(), 'sknock-replay-'));
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

describe('a copy sent ahead of a genuine knock (issue 9 item 4)', () => {
  it('each kind of copy is rejected, and the genuine knock after it is accepted; its replays are not', () => {
    const { p } = pipeline();
    const now = Date.now();
    const cases: Array<[keyof TamperedCopies, RejectCode, KnockSource]> = [
      ['padding', 'decrypt-failed', V4],
      ['signature', 'bad-signature', V4],
      ['certificate', 'untrusted-certificate', V4],
      ['mirror', 'address-mismatch', ATTACKER],
      ['offCurve', 'decrypt-failed', V4],
      ['version', 'address-mismatch', ATTACKER],
      ['genuine', 'address-mismatch', ATTACKER],
    ];
    for (const [kind, want, from] of cases) {
      const genuine = makeKnock(f, f.alice);
      const copy = tamperedCopies(genuine, f.alice.certificate.length)[kind];
      assert.equal(code(p.processKnock(copy, from, now)), want, `${kind}: the copy`);
      assert.equal(code(p.processKnock(genuine, V4, now)), 'accepted', `${kind}: the genuine knock after it`);
      assert.equal(code(p.processKnock(genuine, V4, now + 1000)), 'replayed-key', `${kind}: the genuine knock replayed`);
      assert.equal(code(p.processKnock(copy, from, now + 1000)), 'replayed-key', `${kind}: the copy once the knock was accepted`);
    }
  });

  it('a copy from the bound address itself opens what the knock asked for, once', () => {
    const { p } = pipeline();
    const now = Date.now();
    const genuine = makeKnock(f, f.alice);
    const { mirror } = tamperedCopies(genuine, f.alice.certificate.length);
    assert.equal(code(p.processKnock(mirror, V4, now)), 'accepted');
    assert.equal(code(p.processKnock(genuine, V4, now)), 'replayed-key', 'the mirror point is the same key');
  });

  it('a copy that passed step 2 while its twin waited in the queue is a replay once the twin is accepted', () => {
    const { p } = pipeline();
    const now = Date.now();
    const genuine = makeKnock(f, f.alice);
    const first = p.screen(genuine, V4, now);
    const second = p.screen(genuine, V4, now);
    assert.ok(!isReject(first) && !isReject(second));
    assert.equal(code(p.verify(first, now)), 'accepted');
    assert.equal(code(p.verify(second, now)), 'replayed-key');
  });
});

describe('repeats cost no ECDH (issue 9 item 4)', () => {
  it('a flood repeating one junk datagram costs one ECDH and then no cryptography', () => {
    const { p, ecdh } = pipeline();
    const now = Date.now();
    const junk = randomBytes(869);
    junk.set([0x61, 1, 0, 0]);
    const ephemeral = createECDH('prime256v1');
    ephemeral.generateKeys();
    ephemeral.getPublicKey().copy(junk, 804);
    for (let i = 0; i < 2000; i++) assert.equal(code(p.processKnock(junk, spoofed(i), now)), 'decrypt-failed');
    assert.equal(ecdh(), 1);
    // Another Y with that X is off the curve (only ±P have it): no ECDH needed to tell.
    const offCurve = Buffer.from(junk);
    offCurve[868] = (offCurve[868] as number) ^ 1;
    for (let i = 0; i < 100; i++) assert.equal(code(p.processKnock(offCurve, spoofed(i), now)), 'decrypt-failed');
    assert.equal(ecdh(), 1);
    // A point off the curve is remembered too.
    const random = Buffer.from(junk);
    randomBytes(64).copy(random, 805);
    for (let i = 0; i < 100; i++) assert.equal(code(p.processKnock(random, spoofed(i), now)), 'decrypt-failed');
    assert.equal(ecdh(), 2);
  });

  it('a flood of changed copies of one knock costs one ECDH, and the genuine knock is still accepted', () => {
    const { p, ecdh } = pipeline();
    const now = Date.now();
    const genuine = makeKnock(f, f.alice);
    const ciphertextEnd = genuine.length - 65;
    for (let i = 0; i < 2000; i++) {
      const copy = Buffer.from(genuine);
      const at = 4 + (i % (ciphertextEnd - 4));
      copy[at] = (copy[at] as number) ^ (1 << (i % 8));
      assert.notEqual(code(p.processKnock(copy, spoofed(i), now)), 'accepted');
    }
    assert.equal(ecdh(), 1);
    assert.equal(code(p.processKnock(genuine, V4, now)), 'accepted');
    assert.equal(ecdh(), 1, 'the genuine knock used the keys its copies left');
  });

  it('a flood of one captured knock, or of changed copies of it, from spoofed sources costs one ECDH and one certificate check, and takes no accepted slot', () => {
    const { p, ecdh, certificateChecks } = pipeline();
    const now = Date.now();
    const captured = makeKnock(f, f.alice, { address: '127.0.0.9' });
    for (let i = 0; i < 2000; i++) assert.equal(code(p.processKnock(captured, spoofed(i), now)), 'address-mismatch');
    assert.equal(ecdh(), 1);
    assert.equal(certificateChecks(), 1);
    assert.equal(p.replayCache.verifiedSize, 0);
    // The key now belongs to an authentic knock: any datagram with it is refused at once, by
    // what that knock binds (another source address), or as another ciphertext with its key.
    const copies = tamperedCopies(captured, f.alice.certificate.length);
    const own: KnockSource = { address: '127.0.0.9', family: 4, port: 2 };
    for (const copy of [copies.padding, copies.signature, copies.certificate, copies.offCurve]) {
      for (let i = 0; i < 100; i++) assert.equal(code(p.processKnock(copy, spoofed(i), now)), copy === copies.offCurve ? 'decrypt-failed' : 'address-mismatch');
      assert.equal(code(p.processKnock(copy, own, now)), copy === copies.offCurve ? 'decrypt-failed' : 'replayed-key');
    }
    assert.equal(code(p.processKnock(copies.mirror, spoofed(1), now)), 'address-mismatch', 'the same ciphertext with the mirror point');
    assert.deepEqual([ecdh(), certificateChecks()], [1, 1]);
    assert.equal(code(p.processKnock(captured, { address: '127.0.0.9', family: 4, port: 1 }, now)), 'accepted', 'from its own address it still opens');
  });

  it('an exact duplicate of a knock outside the window is dropped before any cryptography', () => {
    const { p, ecdh, certificateChecks } = pipeline();
    const now = Date.now();
    const old = makeKnock(f, f.alice, { timestamp: Math.floor(now / 1000) - 60 });
    for (let i = 0; i < 100; i++) assert.equal(code(p.processKnock(old, V4, now)), 'stale-timestamp');
    assert.deepEqual([ecdh(), certificateChecks()], [1, 1]);
    const notGranted = makeKnock(f, f.alice, { port: 9999 });
    for (let i = 0; i < 100; i++) assert.equal(code(p.processKnock(notGranted, V4, now)), 'not-granted');
    assert.deepEqual([ecdh(), certificateChecks()], [2, 2]);
  });

  it('a remembered untrusted certificate counts only under the trust store it failed in', () => {
    const { p, ecdh, certificateChecks } = pipeline();
    const now = Date.now();
    const stranger = makeKnock(f, f.stranger);
    for (let i = 0; i < 10; i++) assert.equal(code(p.processKnock(stranger, V4, now)), 'untrusted-certificate');
    assert.deepEqual([ecdh(), certificateChecks()], [1, 1]);
    // Reloaded (another trust store, which might trust that CA): the same datagram is checked again.
    let reloadedChecks = 0;
    const store = new TrustStore({ caCertificates: f.server.caCertificates, crl, requireCrl: false });
    p.reconfigure({ trust: { verify: (der, at) => ((reloadedChecks += 1), store.verify(der, at)) } });
    assert.equal(code(p.processKnock(stranger, V4, now)), 'untrusted-certificate');
    assert.equal(reloadedChecks, 1);
    assert.equal(ecdh(), 1, 'the same server key: the point keeps its keys');
  });

  it('a new server key forgets the seen points; the same key reloaded does not', () => {
    const { p } = pipeline();
    const now = Date.now();
    assert.equal(code(p.processKnock(makeKnock(f, f.alice), V4, now)), 'accepted');
    assert.equal(p.replayCache.seenSize, 0, 'an accepted knock needs no seen key: its accepted key refuses every copy');
    assert.equal(code(p.processKnock(makeKnock(f, f.alice, { address: '10.0.0.1' }), V4, now)), 'address-mismatch');
    assert.equal(p.replayCache.seenSize, 1);
    p.reconfigure({ privateKey: createPrivateKey(f.server.privateKey.export({ format: 'pem', type: 'pkcs8' })) });
    assert.equal(p.replayCache.seenSize, 1);
    p.reconfigure({ privateKey: f.alice.privateKey });
    assert.equal(p.replayCache.seenSize, 0);
    assert.equal(p.replayCache.verifiedSize, 1, 'accepted keys stay: their replays are still replays');
  });
});

describe('one certificate cannot take the accepted tier (issue 9 item 5)', () => {
  it('signed knocks that fail the source or time checks take no slot, so another certificate is never overloaded', () => {
    const { p } = pipeline({ replayCache: new ReplayCache({ maxVerified: 4 }) });
    const now = Date.now();
    const nowS = Math.floor(now / 1000);
    for (let i = 0; i < 50; i++) {
      // fresh signed knocks, each binding an address it does not come from, or out of the window
      assert.equal(code(p.processKnock(makeKnock(f, f.alice, { address: spoofed(i).address }), V4, now)), 'address-mismatch');
      assert.equal(code(p.processKnock(makeKnock(f, f.alice, { timestamp: nowS - 60 }), V4, now)), 'stale-timestamp');
    }
    assert.equal(p.replayCache.verifiedSize, 0);
    assert.equal(code(p.processKnock(makeKnock(f, f.bob, { port: 4000 }), V4, now)), 'accepted');
  });

  it('a certificate over its quota is refused; another certificate is not', () => {
    const { p } = pipeline({ replayCache: new ReplayCache({ maxVerified: 100, maxVerifiedPerCertificate: 3 }) });
    const now = Date.now();
    // Alice's knocks from spoofed sources that they bind: each one accepted, until her quota is used.
    const alice = (i: number, at: number): RejectCode | 'accepted' => code(p.processKnock(makeKnock(f, f.alice, { address: spoofed(i).address, timestamp: Math.floor(at / 1000) }), spoofed(i), at));
    assert.deepEqual([0, 1, 2, 3, 4].map((i) => alice(i, now)), ['accepted', 'accepted', 'accepted', 'rate-limited', 'rate-limited']);
    assert.equal(p.replayCache.verifiedCount(createHash('sha256').update(f.alice.certificate).digest('base64')), 3);
    assert.equal(code(p.processKnock(makeKnock(f, f.bob, { port: 4000 }), V4, now)), 'accepted', 'bob is not affected');
    assert.equal(alice(5, now + ReplayCache.lifetimeMs(7)), 'accepted', 'her quota comes back as her keys expire');
  });

  it('a key that cannot be recorded is not accepted, and a refused grant gives its key back', () => {
    const asked: number[] = [];
    const full = pipeline({ replayCache: new ReplayCache({ maxVerified: 1 }), opener: { request: (g, d, m) => (asked.push(g.port), keeper.request(g, d, m)) } });
    const now = Date.now();
    assert.equal(code(full.p.processKnock(makeKnock(f, f.alice), V4, now)), 'accepted');
    assert.equal(code(full.p.processKnock(makeKnock(f, f.bob, { port: 4000 }), V4, now)), 'overloaded');
    assert.deepEqual(asked, [2000], 'nothing was opened for it');

    let room = false;
    const busy = pipeline({ opener: { request: (g, d, m) => room && keeper.request(g, d, m) } });
    const datagram = makeKnock(f, f.alice);
    assert.equal(code(busy.p.processKnock(datagram, V4, now)), 'overloaded');
    assert.equal(busy.p.replayCache.verifiedSize, 0);
    room = true;
    assert.equal(code(busy.p.processKnock(datagram, V4, now)), 'accepted', 'its first acceptance');
    assert.equal(code(busy.p.processKnock(datagram, V4, now)), 'replayed-key');
  });
});
