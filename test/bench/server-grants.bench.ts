/**
 * sknock-server grant throughput: many distinct valid knocks through the real daemon
 * (nftables, policy reject) in a network namespace, each from its own IPv6 address of the
 * client namespace (so each is a new grant and no per-source rate limit applies), sent to
 * random UDP ports (anyPortKnocks) at a fixed offered rate. A grant counts once its element
 * is in the kernel set (`nft monitor` in the server namespace). Two phases: one at the target
 * rate, one well above it (what the daemon sustains when saturated). Bounded: a fixed number
 * of knocks per phase and a time limit. Target (issue 5): ≥ 1,000 grants/s.
 *
 * Everything runs on the same machine: the sender, the kernel's forwarding, nft and the daemon
 * share its cores (the sender builds its knocks and binds its sockets before the clock starts).
 */
import { readFileSync } from 'node:fs';
import { PASSPHRASE } from '../e2e/support/pki.js';
import { sleep } from '../e2e/support/wait.js';
import { figure } from './measure.js';
import { benchSkipReason, supportScript, withBenchDaemon } from './support/daemon-topology.js';
import { monitorGrants } from './support/nft-monitor.js';

const TCP_PORT = 2000;
/** Longest wait for the last grants of a phase after the last send. */
const DRAIN_LIMIT_MS = 15_000;

interface Phase {
  readonly knocks: number;
  /** Offered knocks per second. */
  readonly rate: number;
}

const PHASES: readonly Phase[] = [
  { knocks: 2000, rate: 1000 },
  { knocks: 2000, rate: 2500 },
];

interface SenderResult {
  readonly sent: number;
  readonly failed: number;
  readonly buildMs: number;
  readonly firstSendAt: number;
  readonly lastSendAt: number;
}

/** CPU ms (user + system) a process has used so far. */
function cpuMs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

const skip = await benchSkipReason();
if (skip) {
  console.log(`server grants: skipped (${skip})`);
  console.log(`FIGURE server grants: skipped (${skip})`);
} else {
  const total = PHASES.reduce((n, p) => n + p.knocks, 0);
  await withBenchDaemon(
    { prefix: 'skgrant', addresses: total, tcpPorts: [TCP_PORT], config: { PORT_OPEN_DURATION_IN_SECONDS: 120 } },
    async ({ client, server, pki, daemon, addresses }) => {
      const monitor = await monitorGrants(server);
      try {
        let offset = 0;
        for (const phase of PHASES) {
          const mine = addresses.slice(offset, offset + phase.knocks);
          offset += phase.knocks;
          const input = { pfx: pki.alice.pfxFile, passphrase: PASSPHRASE, serverCert: pki.serverCertFile, host: server.ipv6, port: TCP_PORT, addresses: mine, rate: phase.rate };
          const acceptsBefore = daemon.accepts().length;
          const generationsBefore = monitor.generations.length;
          const cpuBefore = cpuMs(daemon.child.pid);
          const r = await client.exec(process.execPath, [supportScript('grant-sender.js'), JSON.stringify(input)], { timeoutMs: 60_000 });
          const sent = JSON.parse(r.stdout) as SenderResult;
          // Until every grant is in the kernel, or none has arrived for 2 s (bounded).
          const deadline = Date.now() + DRAIN_LIMIT_MS;
          let seen = -1;
          let lastChange = Date.now();
          for (;;) {
            const inKernel = mine.filter((a) => monitor.added.has(a)).length;
            if (inKernel !== seen) [seen, lastChange] = [inKernel, Date.now()];
            if (inKernel === mine.length || Date.now() > deadline || Date.now() - lastChange > 2000) break;
            await sleep(50);
          }
          const times = mine.flatMap((a) => (monitor.added.has(a) ? [monitor.added.get(a) as number] : []));
          const seconds = (Math.max(...times) - sent.firstSendAt) / 1000;
          const offered = sent.sent / ((sent.lastSendAt - sent.firstSendAt) / 1000);
          const rate = times.length / seconds;
          const daemonCpuMs = cpuMs(daemon.child.pid) - cpuBefore;
          console.log(
            JSON.stringify({
              bench: 'server-grants',
              phase,
              offeredPerSecond: Math.round(offered),
              sent: sent.sent,
              sendFailed: sent.failed,
              accepted: daemon.accepts().length - acceptsBefore,
              inKernel: times.length,
              seconds: +seconds.toFixed(3),
              grantsPerSecond: Math.round(rate),
              nftTransactions: monitor.generations.length - generationsBefore,
              daemonCpuMsPerKnock: +(daemonCpuMs / sent.sent).toFixed(3),
            }),
          );
          figure(
            `server grants (daemon + nftables), ${phase.knocks.toLocaleString('en-US')} distinct knocks offered at ${Math.round(offered).toLocaleString('en-US')}/s, ` +
              `${((times.length / phase.knocks) * 100).toFixed(1)} % in the kernel set`,
            rate,
            'grants/s (first send → last grant in force)',
            '≥ 1,000/s',
          );
        }
      } finally {
        monitor.stop();
      }
    },
  );
}
