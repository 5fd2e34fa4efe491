/**
 * Benchmark of the nftables back end's grant throughput, in a network namespace of its own
 * (the firewall of the machine is never touched). Not a test: it prints figures. The bench
 * runner imports `benchNftablesGrants`; `node dist/test/bench-nftables.js` runs it alone.
 *
 * Bounded: at most `grants` grants per phase and `timeLimitMs` per phase.
 */
import { pathToFileURL } from 'node:url';
import { NftablesBackend } from '../src/firewall/nftables.js';
import type { Grant } from '../src/firewall/backend.js';
import { netns } from './support/netns-harness.js';

export interface NftablesBenchOptions {
  /** Distinct grants opened at once (default 2,000). */
  readonly grants?: number;
  /** Give up a phase after this long (default 30 s). */
  readonly timeLimitMs?: number;
  /** Through the long-lived `nft -i` session (default true) or one `nft -f -` per batch. */
  readonly session?: boolean;
}

export interface NftablesBenchResult {
  /** Grants per second with all `grants` opened at once (resolved = in the kernel). */
  readonly grantsPerSecond: number;
  /** Grants per second when they arrive spread out, 10 every millisecond-ish turn of the event loop. */
  readonly trickleGrantsPerSecond: number;
  /** Median time for one lone grant to be in force (one batch). */
  readonly singleGrantMs: number;
  readonly grants: number;
  /** Batches (nft transactions) the burst phase cost. */
  readonly burstBatches: number;
  /** Batches (nft transactions) the trickle phase cost. */
  readonly trickleBatches: number;
}

function grantNumber(i: number, port: number): Grant {
  return { address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, family: 4, protocol: 'tcp', port };
}

async function bounded<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export async function benchNftablesGrants(options: NftablesBenchOptions = {}): Promise<NftablesBenchResult> {
  const count = options.grants ?? 2000;
  const limit = options.timeLimitMs ?? 30_000;
  const skip = await netns.netnsSkipReason({ tools: ['nft'] });
  if (skip) throw new Error(skip);
  const topology = await netns.createTopology({ clients: 1, prefix: 'skbench', startAgents: false });
  const backend = new NftablesBackend({ netns: topology.server.name, session: options.session ?? true });
  try {
    await backend.setup({ policy: 'reject', emergencyAccessPorts: [{ protocol: 'tcp', port: 22 }], knockPort: 62201, anyPortKnocks: true, minKnockDatagramLength: 700 });

    // One grant at a time: the latency of a lone knock.
    const lone: number[] = [];
    for (let i = 0; i < 15; i++) {
      const t = performance.now();
      await backend.open(grantNumber(i, 1), 60);
      lone.push(performance.now() - t);
    }
    lone.sort((a, b) => a - b);

    // All at once.
    let b0 = backend.batches;
    let t0 = performance.now();
    await bounded(Promise.all(Array.from({ length: count }, (_, i) => backend.open(grantNumber(i, 2), 60))), limit, 'burst');
    const burstSeconds = (performance.now() - t0) / 1000;
    const burstBatches = backend.batches - b0;

    // Spread out: 10 new grants every turn of the event loop until `count` are in.
    b0 = backend.batches;
    t0 = performance.now();
    const pending: Promise<void>[] = [];
    await bounded(
      (async () => {
        for (let i = 0; i < count; i += 10) {
          for (let j = i; j < Math.min(count, i + 10); j++) pending.push(backend.open(grantNumber(j, 3), 60));
          await new Promise((r) => setTimeout(r, 1));
        }
        await Promise.all(pending);
      })(),
      limit,
      'trickle',
    );
    const trickleSeconds = (performance.now() - t0) / 1000;

    const listed = (await backend.list()).length;
    if (listed !== 15 + 2 * count) throw new Error(`expected ${15 + 2 * count} grants in force, list() has ${listed}`);
    return {
      grantsPerSecond: count / burstSeconds,
      trickleGrantsPerSecond: count / trickleSeconds,
      singleGrantMs: lone[Math.floor(lone.length / 2)] as number,
      grants: count,
      burstBatches,
      trickleBatches: backend.batches - b0,
    };
  } finally {
    try {
      await backend.teardown();
    } finally {
      await topology.cleanup();
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const session of [true, false]) {
    const how = session ? 'nft -i session' : 'nft -f - per batch';
    const r = await benchNftablesGrants({ session });
    console.log(`nftables grants (${how}), ${r.grants} at once: ${Math.round(r.grantsPerSecond)} grants/s in ${r.burstBatches} batches (target 1,000+)`);
    console.log(`nftables grants (${how}), ${r.grants} spread out: ${Math.round(r.trickleGrantsPerSecond)} grants/s in ${r.trickleBatches} batches`);
    console.log(`nftables lone grant (${how}): ${r.singleGrantMs.toFixed(1)} ms (median of 15)`);
  }
}
