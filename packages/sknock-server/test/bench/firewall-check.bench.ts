/**
 * What the firewall watchdog costs (`pnpm bench firewall-check`): CPU and wall time of one
 * `FirewallBackend.check()` that finds the rules intact (what it does every
 * firewallCheckIntervalSeconds), for nftables through its `nft -i` session and with one
 * `nft` process per table, and for iptables (one `iptables-save` per family), with few and
 * many grants in force. In a network namespace of its own; needs root (else: skipped).
 *
 * CPU is counted where it is spent: the daemon's own (process.cpuUsage), the session's nft
 * process (/proc/PID/stat), and processes that ran and exited (the children's times in
 * /proc/self/stat). Linux counts process time in clock ticks (10 ms), so each figure is the
 * total over CHECKS checks divided by CHECKS.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { FirewallBackend, FirewallSetup, Grant } from '../../src/firewall/backend.js';
import { IptablesBackend } from '../../src/firewall/iptables.js';
import { NftablesBackend } from '../../src/firewall/nftables.js';
import { netns } from '../support/netns-harness.js';

const CHECKS = 200;
/** Clock ticks per second of /proc's process times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

const SETUP: FirewallSetup = {
  policy: 'reject',
  emergencyAccessPorts: [{ protocol: 'tcp', port: 22 }],
  knockPort: 62201,
  anyPortKnocks: true,
  minKnockDatagramLength: 700,
};

function figure(line: string): void {
  console.log(line);
  console.log(`FIGURE ${line}`);
}

/** utime + stime (+ cutime + cstime) of a process, in ms. */
function processMs(pid: number | 'self', children: boolean): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]?.split(' ') ?? [];
  const ticks = [11, 12, ...(children ? [13, 14] : [])].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0);
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/** The nft processes this process started that are still running (the session's). */
function nftChildren(): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const m = /^\d+ \((.*)\) \S+ (\d+)/.exec(readFileSync(`/proc/${entry}/stat`, 'utf8'));
      if (m?.[1] === 'nft' && Number(m[2]) === process.pid) found.push(Number(entry));
    } catch {
      // ended meanwhile
    }
  }
  return found;
}

function grants(n: number, port: number): Grant[] {
  return Array.from({ length: n }, (_, i) => ({ address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, family: 4, protocol: 'tcp', port }));
}

async function measure(name: string, make: (ns: string) => FirewallBackend, grantCount: number): Promise<void> {
  const topology = await netns.createTopology({ clients: 1, prefix: 'skcheck', startAgents: false });
  const backend = make(topology.server.name);
  try {
    await backend.setup(SETUP);
    const all = grants(grantCount, 2000);
    for (let i = 0; i < all.length; i += 2000) await Promise.all(all.slice(i, i + 2000).map((g) => backend.open(g, 600)));
    const check = backend.check?.bind(backend);
    if (check === undefined) throw new Error(`${backend.name} has no check()`);
    await check();
    const session = nftChildren();
    const sessionBefore = session.reduce((sum, pid) => sum + processMs(pid, false), 0);
    const selfBefore = process.cpuUsage();
    const childrenBefore = processMs('self', true) - processMs('self', false);
    const start = performance.now();
    for (let i = 0; i < CHECKS; i++) {
      const r = await check();
      if (!r.intact) throw new Error(`check ${i} found ${r.problem}`);
    }
    const wallMs = (performance.now() - start) / CHECKS;
    const self = process.cpuUsage(selfBefore);
    const daemonMs = (self.user + self.system) / 1000 / CHECKS;
    const sessionMs = (session.reduce((sum, pid) => sum + processMs(pid, false), 0) - sessionBefore) / CHECKS;
    const processesMs = (processMs('self', true) - processMs('self', false) - childrenBefore) / CHECKS;
    const total = daemonMs + sessionMs + processesMs;
    figure(
      `firewall check, ${name}, ${grantCount.toLocaleString('en-US')} grants: ${total.toFixed(2)} ms CPU per check ` +
        `(daemon ${daemonMs.toFixed(2)}, nft session ${sessionMs.toFixed(2)}, processes ${processesMs.toFixed(2)}), ${wallMs.toFixed(2)} ms wall; ` +
        `every 5 s: ${((total / 5000) * 100).toFixed(3)} % of a core`,
    );
  } finally {
    await backend.teardown().catch(() => undefined);
    await topology.cleanup();
  }
}

const { available, reason } = await netns.netnsAvailable({ tools: ['nft', 'iptables-save', 'ip6tables-save'] });
if (!available) {
  figure(`firewall check: skipped (${reason})`);
} else {
  for (const count of [10, 10_000]) await measure('nftables through nft -i', (ns) => new NftablesBackend({ netns: ns }), count);
  await measure('nftables, one nft process per check (session: false)', (ns) => new NftablesBackend({ netns: ns, session: false }), 10);
  for (const count of [10, 1000]) await measure('iptables (iptables-save per family)', (ns) => new IptablesBackend({ netns: ns }), count);
}
