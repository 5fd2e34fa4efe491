/**
 * @sknock/ca figures (printed, never asserted): the time `createCrl` takes for 10,000 and
 * 100,000 revoked certificates (target: 10,000 under 1 s; `sknock-ca crl` signs what it
 * lists), as a ratio to the floor measured in the same run, one ECDSA P-256 signature over
 * and one copy of a buffer of the same size (what any encoder must do at least), and
 * against `@peculiar/x509`'s X509CrlGenerator, which wrote the CRLs before crl-encode.ts, at
 * 2,000 entries (its time grows with the square: 10,000 took 2.7–8.9 s). Bounded: about 2 s.
 * Run: node packages/sknock-ca/dist/test/bench/crl.bench.js
 */
import { sign } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createCa, createCrl, type CertificateAuthority, type RevokedEntry } from '../../src/index.js';
import { ECDSA_SHA256 } from '../../src/authority.js';
import { issuerName } from '../../src/issuer-name.js';
import { signingKeyFor } from '../../src/keys.js';
import { x509 } from '../../src/x509.js';

function figure(name: string, value: number, unit: string, extra = ''): void {
  const line = `ca: ${name}: ${value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(2)} ${unit}${extra}`;
  console.log(line);
  console.log(`FIGURE ${line}`);
}

function entries(n: number): RevokedEntry[] {
  return Array.from({ length: n }, (_, i) => ({
    serial: `${(0x1000000 + i).toString(16)}abcdef0123456789`,
    date: new Date(1_700_000_000_000 + i * 1000),
    ...(i % 3 === 0 ? { reason: 'keyCompromise' as const } : {}),
  }));
}

/** Median of `runs` timings of `fn`, ms. */
async function medianMs(runs: number, fn: () => unknown): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)] as number;
}

/** The CRL as it was written before crl-encode.ts: X509CrlGenerator (no extensions, the cost is the entries). */
async function peculiarCrl(ca: CertificateAuthority, revoked: readonly RevokedEntry[]): Promise<void> {
  await x509.X509CrlGenerator.create({
    issuer: issuerName(ca),
    thisUpdate: new Date(),
    nextUpdate: new Date(Date.now() + 86_400_000),
    signingKey: await signingKeyFor(ca.privateKey),
    signingAlgorithm: ECDSA_SHA256,
    entries: revoked.map((e) => ({ serialNumber: e.serial.length % 2 === 1 ? `0${e.serial}` : e.serial, revocationDate: e.date, ...(e.reason === undefined ? {} : { reason: x509.X509CrlReason.keyCompromise }) })),
  });
}

const ca = await createCa({ name: 'Bench CA', validityDays: 2 });
await createCrl(ca, { revoked: entries(1000), crlNumber: 1 }); // warm-up

for (const n of [10_000, 100_000]) {
  const revoked = entries(n);
  let size = 0;
  const ms = await medianMs(n > 10_000 ? 3 : 5, async () => {
    size = (await createCrl(ca, { revoked, crlNumber: 2 })).length;
  });
  const bytes = Buffer.alloc(size, 0x5a);
  const floor = await medianMs(5, () => sign('sha256', Buffer.from(bytes), { key: ca.privateKey, dsaEncoding: 'der' }));
  figure(`createCrl, ${n.toLocaleString('en-US')} entries`, ms, 'ms', ` (${(size / 1e6).toFixed(2)} MB; ${(ms / floor).toFixed(1)}× the floor of signing and copying as many bytes, ${floor.toFixed(2)} ms${n === 10_000 ? '; target < 1,000 ms' : ''})`);
}

const old = entries(2000);
const oldMs = await medianMs(1, () => peculiarCrl(ca, old));
const newMs = await medianMs(5, () => createCrl(ca, { revoked: old, crlNumber: 3 }));
figure('X509CrlGenerator (before), 2,000 entries', oldMs, 'ms', ` (createCrl now: ${newMs.toFixed(1)} ms, ${(oldMs / newMs).toFixed(0)}× faster)`);
