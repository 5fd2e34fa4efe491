/**
 * Benchmarks of the knock pipeline (internal; run by `pnpm bench`, or directly:
 * `node packages/sknock-server/dist/test/bench-pipeline.js`). Figures, not pass/fail.
 *
 * - `benchPipeline`: valid knocks verified per second by `processKnock` (steps 1–9, the
 *   memory firewall behind the grant keeper), for returning clients (their certificates
 *   already verified and cached), with N distinct pre-built packets. Target ≥ 3,000/s on
 *   one core.
 * - `benchJunkFlood`: a real server on loopback UDP taking valid knocks while a child
 *   process sends junk and replayed knocks at 20,000 datagrams/s for a bounded time.
 *   Target ≥ 99 % of valid knocks accepted, RSS < 200 MB. Also with an attacker on the path:
 *   every valid knock raced by copies of it, under a flood of replayed and changed copies.
 */
import { fork } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { issueClientCertificate } from '@sknock/ca';
import { CrlManager } from '../src/crl/index.js';
import { GrantKeeper } from '../src/daemon/grant-keeper.js';
import { createServer } from '../src/daemon/server.js';
import { MemoryFirewallBackend } from '../src/firewall/memory.js';
import { silentLogger } from '../src/logging/create-logger.js';
import { createKnockPipeline } from '../src/pipeline/process-knock.js';
import { SourceRateLimiter } from '../src/pipeline/rate-limiter.js';
import type { KnockSource } from '../src/pipeline/types.js';
import { TrustStore } from '../src/trust/index.js';
import { knockFixtures, makeKnock, type TestClient } from './support/knock-fixtures.js';
import { tamperedCopies } from './support/tamper.js';

const MAX_PACKETS = 20_000;
const MAX_FLOOD_MS = 20_000;

export interface BenchPipelineOptions {
  /** Distinct pre-built valid knocks pushed through processKnock (default 2,000, at most 20,000). */
  readonly packets?: number;
  /** Distinct client certificates they come from (default 8). */
  readonly clients?: number;
}

export interface BenchPipelineResult {
  /** Valid knocks through all nine steps per second (one core: this loop is synchronous). */
  readonly knocksPerSecond: number;
  /** Mean µs per knock. */
  readonly microsPerKnock: number;
  readonly packets: number;
  readonly accepted: number;
  readonly elapsedMs: number;
  /** Until the memory firewall held every grant. */
  readonly withFirewallMs: number;
}

async function makeClients(n: number): Promise<TestClient[]> {
  const f = await knockFixtures();
  const clients: TestClient[] = [];
  for (let i = 0; i < n; i++) {
    const c = await issueClientCertificate(f.ca, { name: `bench-${i}`, grants: [{ protocol: 'tcp', port: 22 }] });
    clients.push({ name: `bench-${i}`, privateKey: c.privateKey, certificate: c.certificate, serial: c.serial });
  }
  return clients;
}

function addressFor(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

export async function benchPipeline(options: BenchPipelineOptions = {}): Promise<BenchPipelineResult> {
  const packets = Math.min(MAX_PACKETS, Math.max(1, options.packets ?? 2000));
  const f = await knockFixtures();
  const clients = await makeClients(Math.max(1, options.clients ?? 8));
  const firewall = new MemoryFirewallBackend({ maxEvents: 1 });
  await firewall.setup({ policy: 'none', emergencyAccessPorts: [], knockPort: 62201, anyPortKnocks: false, minKnockDatagramLength: 738 });
  const crl = new CrlManager({ caCertificates: f.server.caCertificates, intervalMinutes: 60, logger: silentLogger() });
  await crl.start();
  const keeper = new GrantKeeper({ firewall, logger: silentLogger(), now: Date.now, maxPending: MAX_PACKETS + 16 });
  const pipeline = createKnockPipeline({
    settings: { knockPacketMinLength: 800, recvBuffer: 1600, timestampThresholdSeconds: 7, portOpenDurationSeconds: 15 },
    privateKey: f.server.privateKey,
    trust: new TrustStore({ caCertificates: f.server.caCertificates, crl, requireCrl: false }),
    opener: keeper,
    rateLimiter: new SourceRateLimiter({ burst: 4, perSecond: 1 }),
  });
  try {
    // Returning clients: each has knocked once, so its certificate is verified and cached.
    const warm = clients.map((c, i) => pipeline.processKnock(makeKnock(f, c, { port: 22, address: addressFor(MAX_PACKETS + i) }), { address: addressFor(MAX_PACKETS + i), family: 4, port: 1 }, Date.now()));
    if (!warm.every((r) => r.ok)) throw new Error(`bench set-up: warm-up knock rejected: ${JSON.stringify(warm.find((r) => !r.ok))}`);
    const built: Array<{ datagram: Uint8Array; source: KnockSource }> = [];
    for (let i = 0; i < packets; i++) {
      const address = addressFor(i);
      built.push({ datagram: makeKnock(f, clients[i % clients.length] as TestClient, { port: 22, address }), source: { address, family: 4, port: 40000 } });
    }
    const started = performance.now();
    let accepted = 0;
    for (const { datagram, source } of built) if (pipeline.processKnock(datagram, source, Date.now()).ok) accepted += 1;
    const elapsedMs = performance.now() - started;
    await keeper.idle(30_000);
    const withFirewallMs = performance.now() - started;
    return {
      knocksPerSecond: Math.round((accepted / elapsedMs) * 1000),
      microsPerKnock: Math.round((elapsedMs * 1000) / packets),
      packets,
      accepted,
      elapsedMs: Math.round(elapsedMs),
      withFirewallMs: Math.round(withFirewallMs),
    };
  } finally {
    keeper.stop();
    crl.stop();
    await firewall.teardown();
  }
}

export interface BenchJunkFloodOptions {
  /** How long the flood lasts (default 5,000 ms, at most 20,000). */
  readonly durationMs?: number;
  /** Junk and replayed datagrams per second (default 20,000). */
  readonly junkPerSecond?: number;
  /** Valid knocks per second, spread over `validSources` addresses (default 50). */
  readonly validPerSecond?: number;
  /** Loopback addresses the valid knocks come from (default 10: 127.0.0.10 …). */
  readonly validSources?: number;
  /** Loopback addresses the junk comes from (default 1: 127.0.0.2). */
  readonly junkSources?: number;
  /** What the junk is (flood-sender.ts): 'mixed' (default), 'fresh-points' (the worst case) or 'copies'. */
  readonly junkMix?: 'mixed' | 'fresh-points' | 'copies';
  /**
   * Each valid knock raced by copies sent just before it from another address (an attacker on
   * the path): three with a ciphertext bit flipped (padding, signature, certificate) and the
   * datagram itself.
   */
  readonly raceCopies?: boolean;
}

export interface BenchJunkFloodResult {
  readonly validSent: number;
  readonly validAccepted: number;
  /** validAccepted / validSent. */
  readonly acceptedRatio: number;
  readonly junkSent: number;
  readonly received: number;
  readonly rejected: Record<string, number>;
  readonly queueDropped: number;
  readonly queueHighWater: number;
  /** Highest resident set size of the server process seen (sampled every 100 ms). */
  readonly maxRssMB: number;
  readonly durationMs: number;
}

function bindSocket(address: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind({ address, port: 0 }, () => resolve(s));
  });
}

export async function benchJunkFlood(options: BenchJunkFloodOptions = {}): Promise<BenchJunkFloodResult> {
  const durationMs = Math.min(MAX_FLOOD_MS, Math.max(500, options.durationMs ?? 5000));
  const junkPerSecond = options.junkPerSecond ?? 20_000;
  const validPerSecond = options.validPerSecond ?? 50;
  const f = await knockFixtures();
  const firewall = new MemoryFirewallBackend({ maxEvents: 1 });
  const server = createServer({
    credentials: f.server,
    config: { listenAddress: '127.0.0.1', firewallBackend: 'memory', logLevel: 'silent' },
    firewall,
    logger: false,
    listenPort: 0,
  });
  const { port } = await server.start();
  const validSources = Array.from({ length: Math.max(1, options.validSources ?? 10) }, (_, i) => `127.0.0.${10 + i}`);
  const junkSources = Array.from({ length: Math.max(1, options.junkSources ?? 1) }, (_, i) => `127.0.${2 + (i >> 8)}.${(i & 255) || 1}`);
  const senders = await Promise.all(validSources.map(bindSocket));
  // 32 addresses, so that the copies (4 per valid knock) stay under the per-source rate limit.
  const racers = options.raceCopies === true ? await Promise.all(Array.from({ length: 32 }, (_, i) => bindSocket(`127.0.1.${i + 1}`))) : [];
  let maxRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    maxRss = Math.max(maxRss, process.memoryUsage().rss);
  }, 100);
  try {
    const replay = validSources.slice(0, 4).map((address) => Buffer.from(makeKnock(f, f.alice, { address })).toString('base64'));
    const plan = { host: '127.0.0.1', port, perSecond: junkPerSecond, durationMs, sources: junkSources, replay, mix: options.junkMix ?? 'mixed' };
    const child = fork(fileURLToPath(new URL('./support/flood-sender.js', import.meta.url)), [JSON.stringify(plan)], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let childOut = '';
    child.stdout?.on('data', (d: Buffer) => (childOut += d.toString()));
    const childDone = once(child, 'exit');

    // Valid knocks at a steady rate while the flood runs, each fresh (built on the spot).
    let validSent = 0;
    const started = Date.now();
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const elapsed = Date.now() - started;
        if (elapsed >= durationMs) {
          clearInterval(timer);
          resolve();
          return;
        }
        const due = Math.floor((elapsed * validPerSecond) / 1000);
        while (validSent < due) {
          const i = validSent % senders.length;
          const datagram = makeKnock(f, f.alice, { address: validSources[i] as string });
          if (racers.length > 0) {
            const copies = tamperedCopies(datagram, f.alice.certificate.length);
            const racer = racers[validSent % racers.length] as Socket;
            for (const copy of [copies.padding, copies.signature, copies.certificate, copies.genuine]) racer.send(copy, port, '127.0.0.1');
          }
          (senders[i] as Socket).send(datagram, port, '127.0.0.1');
          validSent += 1;
        }
      }, 20);
    });
    await childDone;
    await new Promise((r) => setTimeout(r, 500)); // let the queue drain
    const stats = server.stats();
    const junkSent = (JSON.parse(childOut.trim().split('\n').at(-1) ?? '{"sent":0}') as { sent: number }).sent;
    return {
      validSent,
      validAccepted: stats.accepted,
      acceptedRatio: validSent === 0 ? 0 : stats.accepted / validSent,
      junkSent,
      received: stats.received,
      rejected: Object.fromEntries(Object.entries(stats.rejected).filter(([, n]) => n > 0)),
      queueDropped: stats.queue.dropped,
      queueHighWater: stats.queue.highWater,
      maxRssMB: Math.round(maxRss / 1048576),
      durationMs,
    };
  } finally {
    clearInterval(sampler);
    for (const s of senders) s.close();
    for (const s of racers) s.close();
    await server.stop();
  }
}

/** Prints the figures of both benchmarks (`FIGURE` lines are what scripts/run-bench.mjs collects). */
export async function printPipelineFigures(): Promise<void> {
  const figure = (line: string): void => {
    console.log(line);
    console.log(`FIGURE ${line}`);
  };
  const p = await benchPipeline({});
  console.log(JSON.stringify({ bench: 'pipeline', ...p }));
  figure(`server: valid knocks through processKnock (returning clients, ${p.packets} packets): ${p.knocksPerSecond.toLocaleString('en-US')} /s, ${p.microsPerKnock} µs each (target ≥ 3,000 /s on one core)`);
  const j = await benchJunkFlood({});
  console.log(JSON.stringify({ bench: 'junk-flood', ...j }));
  figure(
    `server: valid knocks accepted under ${Math.round(j.junkSent / (j.durationMs / 1000)).toLocaleString('en-US')} junk/replayed datagrams/s: ` +
      `${(j.acceptedRatio * 100).toFixed(2)} % (${j.validAccepted}/${j.validSent}; target ≥ 99 %), max RSS ${j.maxRssMB} MB (target < 200 MB)`,
  );
  // An attacker on the path: each valid knock raced by copies of it from another address,
  // while 2,000 sources replay captured knocks and changed copies of them.
  const r = await benchJunkFlood({ junkMix: 'copies', junkSources: 2000, raceCopies: true });
  console.log(JSON.stringify({ bench: 'junk-flood-copies', ...r }));
  figure(
    `server: valid knocks each raced by 4 copies from another address, under ${Math.round(r.junkSent / (r.durationMs / 1000)).toLocaleString('en-US')} replayed/changed copies/s from 2,000 sources: ` +
      `${(r.acceptedRatio * 100).toFixed(2)} % (${r.validAccepted}/${r.validSent}) accepted, max RSS ${r.maxRssMB} MB`,
  );
  // Beyond the target: every junk datagram a fresh valid point from one of 2,000 sources, so
  // each costs a full ECDH; returning clients ride the priority lane.
  const w = await benchJunkFlood({ junkMix: 'fresh-points', junkSources: 2000 });
  console.log(JSON.stringify({ bench: 'junk-flood-fresh-points', ...w }));
  figure(
    `server: worst case, ${Math.round(w.junkSent / (w.durationMs / 1000)).toLocaleString('en-US')} fresh-point knocks/s from 2,000 sources: ` +
      `${(w.acceptedRatio * 100).toFixed(1)} % of returning clients' knocks accepted, ${w.received.toLocaleString('en-US')} of ${(w.junkSent + w.validSent).toLocaleString('en-US')} datagrams read, ` +
      `${w.queueDropped.toLocaleString('en-US')} dropped by the queue, max RSS ${w.maxRssMB} MB`,
  );
}

// Run directly: print the figures.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await printPipelineFigures();
}
