/**
 * What a junk datagram costs the daemon (`pnpm bench pipeline-junk`): µs per datagram of the
 * pipeline's step 1 (`screen`) for datagrams of a knock's size that are not knocks (wrong
 * magic byte, a newer version, a ciphertext that is not whole AES blocks), each kind a
 * fixed number of times, median of several runs. No socket: the figure is the check itself.
 */
import { performance } from 'node:perf_hooks';
import { knockFixtures } from '../support/knock-fixtures.js';
import { createKnockPipeline } from '../../src/pipeline/process-knock.js';
import { isReject } from '../../src/pipeline/reject.js';
import type { KnockSource } from '../../src/pipeline/types.js';

const PER_RUN = 200_000;
const RUNS = 5;

function junk(kind: 'bad-magic' | 'bad-version' | 'bad-length'): Uint8Array {
  // 4 header bytes, 672 bytes of "ciphertext" (42 blocks) and a 65-byte point: a knock's size.
  const d = new Uint8Array(4 + 672 + 65).fill(0x5a);
  d[0] = 0x61;
  d.set([1, 0, 0], 1);
  if (kind === 'bad-magic') d[0] = 0x17;
  if (kind === 'bad-version') d.set([9, 0, 0], 1);
  return kind === 'bad-length' ? d.subarray(0, d.length - 3) : d;
}

const f = await knockFixtures();
const pipeline = createKnockPipeline({
  settings: { knockPacketMinLength: 400, recvBuffer: 1600, timestampThresholdSeconds: 7, portOpenDurationSeconds: 15 },
  privateKey: f.server.privateKey,
  trust: { verify: () => ({ ok: false, reason: 'untrusted', detail: 'bench' }) },
  opener: { request: () => true },
});
const source: KnockSource = { address: '192.0.2.7', family: 4, port: 40000 };

for (const kind of ['bad-magic', 'bad-version', 'bad-length'] as const) {
  const datagram = junk(kind);
  const first = pipeline.screen(datagram, source, Date.now());
  if (!isReject(first) || first.code !== kind) throw new Error(`bench set-up: ${kind} junk gave ${JSON.stringify(first)}`);
  const runs: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const now = Date.now();
    let rejected = 0;
    const started = performance.now();
    for (let i = 0; i < PER_RUN; i++) if (isReject(pipeline.screen(datagram, source, now))) rejected++;
    const elapsed = performance.now() - started;
    if (rejected !== PER_RUN) throw new Error(`bench: ${PER_RUN - rejected} ${kind} datagrams passed step 1`);
    runs.push((elapsed * 1000) / PER_RUN);
  }
  const median = [...runs].sort((a, b) => a - b)[Math.floor(RUNS / 2)] as number;
  const line = `server: junk rejected at step 1 (${kind}, ${datagram.length} bytes): ${median.toFixed(3)} µs per datagram (median of ${RUNS} × ${PER_RUN.toLocaleString('en-US')})`;
  console.log(line);
  console.log(`FIGURE ${line}`);
}
