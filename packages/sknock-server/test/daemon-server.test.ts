import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { KNOCK_MAGIC } from '@sknock/protocol';
import type { ServerConfigInput } from '../src/config/resolve.js';
import { createServer, type AcceptEvent, type RejectEvent, type SknockServer } from '../src/daemon/server.js';
import type { CreateServerOptions } from '../src/daemon/server-options.js';
import type { GrantEvent } from '../src/daemon/grant-keeper.js';
import { isSknockServerError } from '../src/errors.js';
import type { FirewallBackend, Grant } from '../src/firewall/backend.js';
import { MemoryFirewallBackend } from '../src/firewall/memory.js';
import type { RejectCode } from '../src/pipeline/reject-codes.js';
import { knockFixtures, makeKnock, type KnockFixtures } from './support/knock-fixtures.js';
import { recordingLogger, type RecordingLogger } from './support/recording-logger.js';
import { handKnock, sealPlaintext } from './support/seal-request.js';
import { tamperedCopies } from './support/tamper.js';
import { nextEvent, send, sendOnce, udpSender, waitUntil } from './support/udp.js';

/**
 * The daemon over real UDP on 127.0.0.1 and ::1 with the memory firewall back end: what a
 * valid knock opens, every reject path's code, rate limiting, overload, arbitrary datagrams,
 * extension without a second rule, and a stop that removes everything.
 */

let f: KnockFixtures;
let dir: string;

before(async () => {
  f = await knockFixtures();
  dir = mkdtempSync(join(tmpdir(), 'sknock-daemon-'));
  writeFileSync(join(dir, 'crl.der'), f.crl);
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Running {
  readonly server: SknockServer;
  readonly firewall: MemoryFirewallBackend;
  readonly logger: RecordingLogger;
  readonly port: number;
}

async function startServer(config: ServerConfigInput = {}, extra: Omit<CreateServerOptions, 'config' | 'credentials'> = {}): Promise<Running> {
  const firewall = new MemoryFirewallBackend();
  const logger = recordingLogger();
  const server = createServer({
    credentials: f.server,
    config: { listenAddress: '::', firewallBackend: 'memory', crlFile: join(dir, 'crl.der'), ...config },
    firewall,
    logger,
    listenPort: 0,
    ...extra,
  });
  const { port } = await server.start();
  return { server, firewall, logger, port };
}

function rejectOf(server: SknockServer, code: RejectCode): Promise<RejectEvent> {
  return nextEvent<RejectEvent>(server, 'reject', (e) => e.code === code);
}

describe('daemon over UDP', () => {
  it('a valid knock over IPv4 (dual-stack socket) opens its port', async () => {
    const { server, firewall, logger, port } = await startServer();
    try {
      assert.equal(server.address()?.address, '::');
      const opened = nextEvent<GrantEvent>(server, 'open');
      const accepted = nextEvent<AcceptEvent>(server, 'accept');
      await sendOnce(makeKnock(f, f.alice, { port: 2000 }), port, '127.0.0.1');
      const e = await opened;
      assert.deepEqual(e.grant, { address: '127.0.0.1', family: 4, protocol: 'tcp', port: 2000 });
      assert.match(e.subject, /alice/);
      assert.equal(e.serial, f.alice.serial);
      assert.ok(e.expiresAt > Date.now() + 14_000 && e.expiresAt <= Date.now() + 15_000);
      assert.equal((await accepted).source.family, 4);
      assert.equal(firewall.isAllowed('127.0.0.1', 'tcp', 2000), true);
      assert.equal(firewall.isAllowed('127.0.0.1', 'tcp', 3000), false);
      const line = logger.records.find((r) => r.fields.event === 'accept');
      assert.ok(line, 'accepted knock logged');
      assert.match(String(line.fields.subject), /alice/);
      assert.equal(line.fields.serial, f.alice.serial);
      assert.equal(line.fields.sourceAddress, '127.0.0.1');
      assert.ok(Number.isInteger(line.fields.sourcePort) && Number(line.fields.sourcePort) > 0);
      assert.equal(line.fields.protocol, 'tcp');
      assert.equal(line.fields.port, 2000);
      assert.deepEqual(server.grants().map((g) => g.grant.port), [2000]);
    } finally {
      await server.stop();
    }
  });

  it('a valid knock over IPv6 opens its port for the IPv6 source', async () => {
    const { server, firewall, port } = await startServer();
    try {
      const opened = nextEvent<GrantEvent>(server, 'open');
      await sendOnce(makeKnock(f, f.alice, { protocol: 'udp', port: 8000, address: '::1' }), port, '::1');
      assert.deepEqual((await opened).grant, { address: '::1', family: 6, protocol: 'udp', port: 8000 });
      assert.equal(firewall.isAllowed('::1', 'udp', 8000), true);
    } finally {
      await server.stop();
    }
  });

  it('listens on an IPv4 listenAddress too', async () => {
    const { server, port } = await startServer({ listenAddress: '127.0.0.1' });
    try {
      assert.deepEqual(server.address(), { address: '127.0.0.1', family: 4, port });
      const opened = nextEvent<GrantEvent>(server, 'open');
      await sendOnce(makeKnock(f, f.alice), port, '127.0.0.1');
      assert.equal((await opened).grant.address, '127.0.0.1');
    } finally {
      await server.stop();
    }
  });

  it('rejects each bad knock with its code, and never answers', async () => {
    const { server, port } = await startServer();
    // the stale-timestamp case: a server whose clock is a minute ahead
    const late = await startServer({}, { now: () => Date.now() + 60_000 });
    const sender = await udpSender('127.0.0.1');
    let answers = 0;
    sender.on('message', () => (answers += 1));
    try {
      const cases: Array<[RejectCode, Uint8Array]> = [
        ['too-short', randomBytes(100)],
        ['bad-magic', new Uint8Array(869).fill(0x41)],
        ['bad-version', Uint8Array.from({ length: 869 }, (_, i) => (i === 0 ? KNOCK_MAGIC : i === 1 ? 9 : 0))],
        ['decrypt-failed', Uint8Array.from({ length: 869 }, (_, i) => (i < 4 ? [KNOCK_MAGIC, 1, 0, 0][i] as number : i === 804 ? 4 : (i * 13) & 0xff))],
        ['malformed-request', sealPlaintext(new Uint8Array(800).fill(7), f.server.certificate)],
        ['untrusted-certificate', makeKnock(f, f.stranger)],
        ['expired', makeKnock(f, f.expired)],
        ['revoked', makeKnock(f, f.revoked)],
        ['bad-signature', handKnock(f.alice, f.server.certificate, { tamper: (b) => void (b[3] = 99) })],
        ['not-granted', makeKnock(f, f.alice, { port: 2222 })],
        ['address-mismatch', makeKnock(f, f.alice, { address: '127.0.0.99' })],
      ];
      for (const [code, datagram] of cases) {
        const seen = rejectOf(server, code);
        await send(sender, datagram, port, '127.0.0.1');
        const e = await seen;
        assert.equal(e.source.address, '127.0.0.1', code);
        assert.equal(e.source.family, 4, code);
      }
      const stale = rejectOf(late.server, 'stale-timestamp');
      await send(sender, makeKnock(f, f.alice), late.port, '127.0.0.1');
      assert.match((await stale).detail, /\b(59|60|61) s old/);
      // a replayed datagram: accepted once, then dropped by its key
      const datagram = makeKnock(f, f.alice, { port: 3000 });
      const opened = nextEvent<GrantEvent>(server, 'open');
      await send(sender, datagram, port, '127.0.0.1');
      await opened;
      const replayed = rejectOf(server, 'replayed-key');
      await send(sender, datagram, port, '127.0.0.1');
      await replayed;
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(answers, 0, 'the daemon never answers');
      const stats = server.stats();
      assert.equal(stats.accepted, 1);
      assert.equal(stats.rejected['revoked'], 1);
      assert.equal(stats.rejected['internal-error'], 0);
    } finally {
      sender.close();
      await server.stop();
      await late.server.stop();
    }
  });

  it('logs rejects rate-limited, with a summary of what it left out', async () => {
    const { server, logger, port } = await startServer({}, { limits: { rejectLogPerSecond: 2 } });
    const sender = await udpSender();
    try {
      for (let i = 0; i < 20; i++) await send(sender, new Uint8Array(900).fill(0x42), port, '127.0.0.1');
      await waitUntil(() => server.stats().rejected['bad-magic'] === 20, 3000, '20 rejects');
      assert.equal(logger.records.filter((r) => r.fields.event === 'reject').length, 2);
    } finally {
      sender.close();
      await server.stop();
    }
    const summary = logger.records.find((r) => r.fields.event === 'reject-summary');
    assert.deepEqual(summary?.fields.suppressed, { 'bad-magic': 18 });
  });

  it('rate limits a source', async () => {
    const { server, port } = await startServer({}, { limits: { rateLimitBurst: 3, rateLimitPerSecond: 0.01 } });
    const sender = await udpSender();
    try {
      for (let i = 0; i < 6; i++) await send(sender, makeKnock(f, f.alice), port, '127.0.0.1');
      await waitUntil(() => server.stats().rejected['rate-limited'] === 3, 3000, '3 rate-limited');
      await waitUntil(() => server.stats().accepted === 3, 3000, '3 accepted');
    } finally {
      sender.close();
      await server.stop();
    }
  });

  it('a copy raced in ahead of a knock does not block it; a replay of the accepted knock is dropped', async () => {
    const { server, firewall, port } = await startServer();
    const attacker = await udpSender('127.0.0.2');
    const client = await udpSender('127.0.0.1');
    const codes: string[] = [];
    const onReject = (e: RejectEvent): void => void codes.push(e.code);
    server.on('reject', onReject);
    try {
      const genuine = makeKnock(f, f.alice, { port: 3000 });
      const copies = tamperedCopies(genuine, f.alice.certificate.length);
      // An attacker on the path sees the datagram and sends changed copies, and the datagram
      // itself from its own address, before the original arrives.
      const raced = [copies.padding, copies.signature, copies.certificate, copies.offCurve, copies.mirror, copies.genuine];
      for (const copy of raced) await send(attacker, copy, port, '127.0.0.1');
      await waitUntil(() => codes.length === raced.length, 3000, 'the copies rejected');
      const opened = nextEvent<GrantEvent>(server, 'open');
      await send(client, genuine, port, '127.0.0.1');
      assert.deepEqual((await opened).grant, { address: '127.0.0.1', family: 4, protocol: 'tcp', port: 3000 });
      assert.deepEqual(codes, ['decrypt-failed', 'bad-signature', 'untrusted-certificate', 'decrypt-failed', 'address-mismatch', 'address-mismatch']);
      assert.equal(firewall.isAllowed('127.0.0.1', 'tcp', 3000), true);
      // Now the key is spent: the knock again, or a copy, from anywhere, is a replay.
      await send(client, genuine, port, '127.0.0.1');
      await send(attacker, copies.padding, port, '127.0.0.1');
      await waitUntil(() => codes.length === raced.length + 2, 3000, 'the replays rejected');
      assert.deepEqual(codes.slice(raced.length), ['replayed-key', 'replayed-key']);
      assert.equal(server.stats().accepted, 1);
    } finally {
      server.off('reject', onReject);
      attacker.close();
      client.close();
      await server.stop();
    }
  });

  it('a second knock extends the grant without a second rule', async () => {
    const { server, firewall, port } = await startServer();
    try {
      const first = nextEvent<GrantEvent>(server, 'open');
      await sendOnce(makeKnock(f, f.alice), port);
      const a = await first;
      await new Promise((r) => setTimeout(r, 1100));
      const second = nextEvent<GrantEvent>(server, 'open');
      await sendOnce(makeKnock(f, f.alice), port);
      const b = await second;
      assert.ok(b.expiresAt >= a.expiresAt + 1000, 'extended');
      const listed = await firewall.list();
      assert.equal(listed.length, 1);
      assert.equal(server.grants().length, 1);
      const opens = firewall.events.filter((e) => e.type === 'open');
      assert.deepEqual(opens.map((e) => e.type === 'open' && e.extended), [false, true]);
    } finally {
      await server.stop();
    }
  });

  it('drops work beyond its bounded queue (overloaded) and keeps serving', async () => {
    const { server, port } = await startServer({}, { limits: { queueMax: 4, batchMax: 1, rateLimitBurst: 10_000, rateLimitPerSecond: 10_000 } });
    const sender = await udpSender();
    try {
      // knock-shaped, each with its own point: they pass steps 1–2 and queue for the ECDH
      const sends: Promise<void>[] = [];
      for (let i = 0; i < 400; i++) {
        const d = randomBytes(869);
        d.set([KNOCK_MAGIC, 1, 0, 0]);
        d[804] = 4;
        sends.push(send(sender, d, port, '127.0.0.1'));
      }
      await Promise.all(sends);
      await waitUntil(() => server.stats().received === 400, 5000, 'all received');
      await waitUntil(() => server.stats().queue.length === 0, 5000, 'queue drained');
      const stats = server.stats();
      assert.ok(stats.queue.dropped > 0, `dropped ${stats.queue.dropped}`);
      assert.equal(stats.rejected['overloaded'], stats.queue.dropped);
      assert.ok(stats.queue.highWater <= 4);
      assert.equal(stats.rejected['overloaded'] + stats.rejected['decrypt-failed'], 400);
      const opened = nextEvent<GrantEvent>(server, 'open');
      await send(sender, makeKnock(f, f.alice), port, '127.0.0.1');
      await opened;
    } finally {
      sender.close();
      await server.stop();
    }
  });

  it('serves a returning client first while junk fills the queue', async () => {
    const { server, port } = await startServer({}, { limits: { queueMax: 8, batchMax: 1, rateLimitBurst: 10_000, rateLimitPerSecond: 10_000 } });
    const client = await udpSender('127.0.0.1');
    const flood = await udpSender('127.0.0.2');
    try {
      const first = nextEvent<GrantEvent>(server, 'open');
      await send(client, makeKnock(f, f.alice), port, '127.0.0.1');
      await first; // 127.0.0.1 is now a returning source
      const sends: Promise<void>[] = [];
      for (let i = 0; i < 300; i++) {
        const d = randomBytes(869);
        d.set([KNOCK_MAGIC, 1, 0, 0]);
        d[804] = 4;
        sends.push(send(flood, d, port, '127.0.0.1'));
      }
      sends.push(send(client, makeKnock(f, f.alice, { port: 3000 }), port, '127.0.0.1'));
      const second = nextEvent<GrantEvent>(server, 'open', (e) => e.grant.port === 3000, 5000);
      await Promise.all(sends);
      await second;
      assert.ok(server.stats().queue.dropped > 0, 'the junk overflowed the normal lane');
    } finally {
      client.close();
      flood.close();
      await server.stop();
    }
  });

  it('survives arbitrary datagrams (fast-check) and keeps serving', async () => {
    const { server, port } = await startServer({}, { limits: { rateLimitBurst: 10_000, rateLimitPerSecond: 10_000 } });
    const v4 = await udpSender('127.0.0.1');
    const v6 = await udpSender('::1');
    try {
      const knockShaped = fc.uint8Array({ minLength: 700, maxLength: 1300 }).map((d) => {
        d.set([KNOCK_MAGIC, 1, 0, 0]);
        return d;
      });
      let sent = 0;
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 1600 }), knockShaped), fc.boolean(), async (datagram, over6) => {
          await send(over6 ? v6 : v4, datagram, port, over6 ? '::1' : '127.0.0.1');
          sent += 1;
        }),
        { numRuns: 300 },
      );
      await waitUntil(() => server.stats().received === sent, 5000, 'all received');
      await waitUntil(() => Object.values(server.stats().rejected).reduce((a, b) => a + b, 0) === sent, 5000, 'all rejected');
      assert.equal(server.stats().rejected['internal-error'], 0);
      assert.equal(server.state, 'running');
      const opened = nextEvent<GrantEvent>(server, 'open');
      await send(v4, makeKnock(f, f.alice), port, '127.0.0.1');
      await opened;
    } finally {
      v4.close();
      v6.close();
      await server.stop();
    }
  });

  it('retries a failed firewall write and keeps the grant', async () => {
    const memory = new MemoryFirewallBackend();
    let failures = 2;
    const flaky: FirewallBackend = {
      name: 'flaky',
      setup: (s) => memory.setup(s),
      open: async (g: Grant, d: number) => {
        if (failures > 0) {
          failures -= 1;
          throw new Error('nft: resource busy');
        }
        return memory.open(g, d);
      },
      close: (g) => memory.close(g),
      list: () => memory.list(),
      teardown: () => memory.teardown(),
    };
    const logger = recordingLogger();
    const server = createServer({ credentials: f.server, config: { listenAddress: '127.0.0.1' }, firewall: flaky, logger, listenPort: 0, limits: { openRetryBaseMs: 10 } });
    const { port } = await server.start();
    try {
      const opened = nextEvent<GrantEvent>(server, 'open');
      await sendOnce(makeKnock(f, f.alice), port);
      await opened;
      assert.equal(memory.isAllowed('127.0.0.1', 'tcp', 2000), true);
      assert.equal(logger.records.filter((r) => r.level === 'error' && /retrying/.test(r.msg ?? '')).length, 2);
      assert.equal(server.stats().grants.lost, 0);
    } finally {
      await server.stop();
    }
  });

  it('stop() closes the socket and removes everything it added to the firewall', async () => {
    const { server, firewall, port } = await startServer();
    const opened = nextEvent<GrantEvent>(server, 'open');
    await sendOnce(makeKnock(f, f.alice), port);
    await opened;
    assert.ok(firewall.currentSetup !== undefined);
    assert.equal(firewall.currentSetup?.knockPort, port);
    await server.stop();
    assert.equal(firewall.currentSetup, undefined);
    assert.deepEqual(await firewall.list(), []);
    assert.equal(firewall.events.at(-1)?.type, 'teardown');
    assert.equal(server.address(), undefined);
    assert.equal(server.state, 'stopped');
    await server.stop(); // idempotent
  });

  it('start() failures are typed and leave nothing behind', async () => {
    const { server: first, port } = await startServer({ listenAddress: '127.0.0.1' });
    try {
      const firewall = new MemoryFirewallBackend();
      const second = createServer({ credentials: f.server, config: { listenAddress: '127.0.0.1' }, firewall, logger: false, listenPort: port });
      await assert.rejects(second.start(), (err: unknown) => isSknockServerError(err, 'ERR_SKNOCK_BIND') && /in use/.test((err as Error).message));
      assert.equal(firewall.events.length, 0, 'the firewall was not touched (no teardown of another instance)');
      assert.equal(second.state, 'stopped');
    } finally {
      await first.stop();
    }
    const broken: FirewallBackend = {
      name: 'broken',
      setup: async () => {
        throw new Error('nft: Operation not permitted');
      },
      open: async () => {},
      close: async () => {},
      list: async () => [],
      teardown: async () => {},
    };
    const s = createServer({ credentials: f.server, config: { listenAddress: '127.0.0.1' }, firewall: broken, logger: false, listenPort: 0 });
    await assert.rejects(s.start(), (err: unknown) => isSknockServerError(err, 'ERR_SKNOCK_FIREWALL') && /not permitted/.test((err as Error).message));
    assert.equal(s.address(), undefined);
  });

  it('checks its options eagerly, naming the option', () => {
    assert.throws(() => createServer({ credentials: f.server, firewall: 'pf' as 'memory' }), /options\.firewall/);
    assert.throws(() => createServer({ credentials: f.server, limits: { queueMax: -1 } }), /options\.limits\.queueMax/);
    assert.throws(() => createServer({ credentials: f.server, listenPort: 70000 }), /options\.listenPort/);
    assert.throws(() => createServer({ credentials: f.server, config: { knockPrt: 1 } as ServerConfigInput }), /knockPrt/);
  });
});
