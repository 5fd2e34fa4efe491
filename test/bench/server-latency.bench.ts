/**
 * sknock-server latency: from sending a knock to the TCP port answering, with the real
 * daemon (nftables, policy reject) in a network namespace and the knocker in another. Each
 * knock comes from its own IPv6 address (so each opens a new grant) and is measured alone:
 * the knocker sends the datagram (to a random UDP port: anyPortKnocks) and tries to connect
 * from the same address every millisecond until the port answers. One client certificate
 * (a returning client: its chain is verified once). Targets (issue 5): p50 ≤ 5 ms, p99 ≤ 25 ms.
 *
 * Also split, per knock: until the daemon logged the accept (its clock, ms), and until the
 * element was in the kernel set (`nft monitor` in the server namespace).
 */
import { randomInt } from 'node:crypto';
import { sourceAddressOf } from '../e2e/support/daemon.js';
import { PASSPHRASE } from '../e2e/support/pki.js';
import { figure, percentile } from './measure.js';
import { benchSkipReason, supportScript, withBenchDaemon } from './support/daemon-topology.js';
import { monitorGrants } from './support/nft-monitor.js';

const WARMUP = 10;
const KNOCKS = 200;
const TCP_PORT = 2000;

interface KnockRecord {
  readonly address: string;
  readonly sentAt: number;
  readonly latencyMs: number;
}

const skip = await benchSkipReason();
if (skip) {
  console.log(`server latency: skipped (${skip})`);
  console.log(`FIGURE server latency: skipped (${skip})`);
} else {
  await withBenchDaemon(
    { prefix: 'sklat', addresses: WARMUP + KNOCKS, tcpPorts: [TCP_PORT], config: { PORT_OPEN_DURATION_IN_SECONDS: 60 } },
    async ({ client, server, pki, daemon, addresses }) => {
      const monitor = await monitorGrants(server);
      const input = {
        pfx: pki.alice.pfxFile,
        passphrase: PASSPHRASE,
        serverCert: pki.serverCertFile,
        host: server.ipv6,
        port: TCP_PORT,
        addresses,
        knockPort: randomInt(10_000, 60_001),
        gapMs: 15,
        timeoutMs: 2000,
      };
      let result: { knocks: KnockRecord[]; failures: number };
      try {
        const r = await client.exec(process.execPath, [supportScript('latency-knocker.js'), JSON.stringify(input)], { timeoutMs: 120_000 });
        result = JSON.parse(r.stdout) as typeof result;
      } finally {
        monitor.stop();
      }
      const measured = result.knocks.slice(WARMUP);
      const total = measured.map((k) => k.latencyMs);
      const acceptedAt = new Map(daemon.accepts().map((l) => [sourceAddressOf(l), Date.parse(String(l['time']))]));
      const toAccept = measured.flatMap((k) => (acceptedAt.has(k.address) ? [(acceptedAt.get(k.address) as number) - k.sentAt] : []));
      const toKernel = measured.flatMap((k) => (monitor.added.has(k.address) ? [(monitor.added.get(k.address) as number) - k.sentAt] : []));
      const summary = (v: number[]) => ({ n: v.length, p50: +percentile(v, 50).toFixed(2), p90: +percentile(v, 90).toFixed(2), p99: +percentile(v, 99).toFixed(2), max: +Math.max(...v).toFixed(2) });
      console.log(JSON.stringify({ bench: 'server-latency', failures: result.failures, total: summary(total), toAccept: summary(toAccept), toKernel: summary(toKernel) }));
      if (result.failures > 0) figure('server latency: knocks that never opened the port', result.failures, `of ${addresses.length}`, '0');
      const what = `daemon + nftables, ${measured.length} knocks from distinct addresses`;
      figure(`server latency, knock → TCP port answers (${what}), p50`, percentile(total, 50), 'ms', '≤ 5 ms');
      figure(`server latency, knock → TCP port answers (${what}), p99`, percentile(total, 99), 'ms', '≤ 25 ms');
      figure('server latency, knock → accepted by the daemon (log clock, ms resolution), p50', percentile(toAccept, 50), 'ms');
      figure('server latency, knock → element in the kernel set (nft monitor), p50', percentile(toKernel, 50), 'ms');
      figure('server latency, knock → element in the kernel set (nft monitor), p99', percentile(toKernel, 99), 'ms');
    },
  );
}
