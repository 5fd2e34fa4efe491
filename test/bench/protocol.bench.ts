/**
 * @sknock/protocol: knocks built per second, and knocks opened and signature-checked per
 * second, for certificates never seen before and for returning ones. One core, median of
 * several bounded runs. Targets (issue 2): 2,500 built/s; 3,000 opened/s (new); 5,000 (seen).
 */
import { createKnockPacket, openKnockPacket, verifyKnockSignature } from '@sknock/protocol';
import { createCa, issueClientCertificate, issueServerCertificate } from '@sknock/ca';
import { figure, medianRate } from './measure.js';

const RUNS = 5;
const PER_RUN = 400;

const ca = await createCa({ name: 'Bench CA' });
const server = await issueServerCertificate(ca, { name: 'bench.test' });
const grants = [{ protocol: 'tcp' as const, port: 2000 }];
const returning = await issueClientCertificate(ca, { name: 'returning', grants });
const knockOptions = (c: { privateKey: import('node:crypto').KeyObject; certificate: Uint8Array }) => ({
  credentials: c,
  serverCertificate: server.certificate,
  protocol: 'tcp' as const,
  port: 2000,
  address: '127.0.0.1',
});

const built = await medianRate(PER_RUN, RUNS, () => createKnockPacket(knockOptions(returning)));
figure('protocol: knocks built', built.perSecond, 'per second', '≥ 2,500');

const serverCredentials = { privateKey: server.privateKey };
function openAndVerify(d: Uint8Array): void {
  const opened = openKnockPacket(d, serverCredentials, { family: 4 });
  if (!verifyKnockSignature(opened)) throw new Error('bench packet did not verify');
}

// Returning client: the certificate's key is kept after its first knock.
const seenPackets = Array.from({ length: PER_RUN }, () => createKnockPacket(knockOptions(returning)));
openAndVerify(seenPackets[0] as Uint8Array);
const seen = await medianRate(PER_RUN, RUNS, (i) => openAndVerify(seenPackets[i] as Uint8Array));
figure('protocol: knocks opened + verified, returning client', seen.perSecond, 'per second', '≥ 5,000');

// Never seen: every packet of every run carries a certificate not seen before.
const fresh: Uint8Array[][] = [];
for (let r = 0; r < RUNS; r++) {
  const run: Uint8Array[] = [];
  for (let i = 0; i < PER_RUN; i++) {
    const c = await issueClientCertificate(ca, { name: `client-${r}-${i}`, grants });
    run.push(createKnockPacket(knockOptions(c)));
  }
  fresh.push(run);
}
let run = 0;
const rates: number[] = [];
for (; run < RUNS; run++) {
  const packets = fresh[run] as Uint8Array[];
  const r = await medianRate(PER_RUN, 1, (i) => openAndVerify(packets[i] as Uint8Array));
  rates.push(r.perSecond);
}
rates.sort((a, b) => a - b);
figure('protocol: knocks opened + verified, certificate never seen', rates[Math.floor(RUNS / 2)] as number, 'per second', '≥ 3,000');
