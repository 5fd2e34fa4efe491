/**
 * The nftables back end's figures for `pnpm bench` (scripts/run-bench.mjs collects the
 * FIGURE lines): grants per second into the kernel, in a network namespace of its own.
 * Needs root; without it the figures are reported as skipped. See ../bench-nftables.ts.
 */
import { benchNftablesGrants } from '../bench-nftables.js';
import { netns } from '../support/netns-harness.js';

function figure(line: string): void {
  console.log(line);
  console.log(`FIGURE ${line}`);
}

const { available, reason } = await netns.netnsAvailable({ tools: ['nft'] });
if (!available) {
  figure(`nftables grants: skipped (${reason})`);
} else {
  for (const session of [true, false]) {
    const how = session ? 'one nft -i session' : 'nft -f - per batch';
    const r = await benchNftablesGrants({ grants: 2000, timeLimitMs: 30_000, session });
    figure(`nftables grants (${how}), ${r.grants} at once: ${Math.round(r.grantsPerSecond).toLocaleString('en-US')} grants/s in ${r.burstBatches} batch(es) (target 1,000+)`);
    figure(`nftables grants (${how}), ${r.grants} arriving 10 per event-loop turn: ${Math.round(r.trickleGrantsPerSecond).toLocaleString('en-US')} grants/s in ${r.trickleBatches} batches`);
    figure(`nftables lone grant in force (${how}): ${r.singleGrantMs.toFixed(1)} ms (median of 15)`);
  }
}
