/**
 * The admin commands and /healthz against the real daemon on real nftables and iptables, in
 * network namespaces (removed by the test whatever happens): grants opened by real knocks
 * from two clients (IPv4 and IPv6) are listed, one is closed (its kernel rule is gone and the
 * client's next connection is refused), the rest flushed; status counts them. /healthz is 200,
 * turns 503 naming the problem after `nft delete table inet sknock` / `iptables -F` (the
 * watchdog's interval is an hour: the check /healthz makes finds it and rebuilds), then 200.
 * The memory back end: packages/sknock-server/test/admin-control.test.ts.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTopology, netnsSkipReason, type ExecResult, type Namespace, type Topology } from '../support/netns.js';
import { cliKnockOk, randomKnockPort } from './support/client.js';
import { Daemon, writeConfig } from './support/daemon.js';
import { grantEntryCount, type BackendName } from './support/firewall-state.js';
import { makePki, PASSPHRASE, TCP_EMERGENCY, TCP_SERVICE, UDP_SERVICE, type E2ePki } from './support/pki.js';
import { SERVER_BIN } from './support/repo.js';
import { sleep, waitUntil } from './support/wait.js';

const METRICS_PORT = 9464;

const TOOLS: Record<BackendName, string[]> = {
  nftables: ['nft'],
  iptables: ['iptables', 'ip6tables', 'iptables-save', 'ip6tables-save', 'iptables-restore', 'ip6tables-restore'],
};

for (const backend of ['nftables', 'iptables'] as const) {
  const skip = await netnsSkipReason({ tools: TOOLS[backend] });
  describe(`admin commands and /healthz with ${backend}`, { skip }, () => {
    let topo: Topology;
    let pki: E2ePki;
    let server: Namespace;
    let client1: Namespace;
    let client2: Namespace;
    let daemon: Daemon;
    let config: string;
    const closers: Array<{ close(): Promise<void> }> = [];

    /** `sknock-server ARGS --config …` inside the server namespace. */
    const admin = (args: readonly string[]): Promise<ExecResult> => server.exec(process.execPath, [SERVER_BIN, ...args, '--config', config], { allowFailure: true, timeoutMs: 15_000 });
    /** GET http://127.0.0.1:9464/PATH from inside the server namespace: status line, then the body. */
    const get = async (path: string): Promise<{ status: number; body: string }> => {
      const script = `fetch('http://127.0.0.1:${METRICS_PORT}${path}',{signal:AbortSignal.timeout(5000)}).then(async r=>process.stdout.write(r.status+'\\n'+await r.text()))`;
      const r = await server.exec(process.execPath, ['-e', script], { timeoutMs: 10_000 });
      const nl = r.stdout.indexOf('\n');
      return { status: Number(r.stdout.slice(0, nl)), body: r.stdout.slice(nl + 1) };
    };

    before(async () => {
      pki = await makePki();
      topo = await createTopology({ clients: 2, prefix: backend === 'nftables' ? 'admnft' : 'admipt' });
      server = topo.server;
      [client1, client2] = topo.clients as [Namespace, Namespace];
      closers.push(await server.listenTcp(TCP_SERVICE), await server.listenTcp(TCP_EMERGENCY));
      config = await writeConfig(pki.dir, `admin-${backend}.ini`, {
        serverPFXFile: pki.serverPfxFile,
        PFXPasswd: PASSPHRASE,
        crlFile: pki.crlFile,
        firewallBackend: backend,
        firewallPolicy: 'reject',
        emergencyAccessPorts: `tcp/${TCP_EMERGENCY}`,
        PORT_OPEN_DURATION_IN_SECONDS: 600,
        firewallCheckIntervalSeconds: 3600,
        controlSocket: join(pki.dir, `control-${backend}.sock`),
        metricsAddress: `127.0.0.1:${METRICS_PORT}`,
      });
      daemon = await Daemon.start(server, config);
      await daemon.waitForLog((l) => l['event'] === 'metrics-listening', 'metrics-listening');
    });

    after(async () => {
      if (daemon?.running) await daemon.stop('SIGKILL', 3000).catch(() => undefined);
      for (const c of closers) await c.close().catch(() => undefined);
      await topo?.cleanup();
      await pki?.dispose();
    });

    it('lists grants opened by real knocks; closing one removes its kernel rule and refuses the client; flush closes the rest', async () => {
      assert.equal(await client1.probeTcp(server.ipv4, TCP_SERVICE), 'refused', 'nothing granted yet');
      await cliKnockOk(client1, pki, pki.alice, server.ipv4, TCP_SERVICE, { knockPort: randomKnockPort() });
      await cliKnockOk(client1, pki, pki.alice, server.ipv4, UDP_SERVICE, { protocol: 'udp', knockPort: randomKnockPort() });
      await cliKnockOk(client2, pki, pki.alice, server.ipv6, TCP_SERVICE, { knockPort: randomKnockPort() });
      assert.equal(await client1.probeTcp(server.ipv4, TCP_SERVICE), 'open');
      assert.equal(await client2.probeTcp(server.ipv6, TCP_SERVICE), 'open');

      const table = await admin(['grants']);
      assert.equal(table.code, 0, table.stderr);
      console.log(`--- sknock-server grants (${backend})\n${table.stdout}`);
      const rows = table.stdout.trim().split('\n');
      assert.equal(rows.length, 4, table.stdout);
      assert.match(rows[1] ?? '', new RegExp(`^${client1.ipv4.replaceAll('.', '\\.')}\\s+tcp/${TCP_SERVICE}\\s+(9m|10m) .*CN=alice\\s+${pki.alice.serial}$`));
      assert.match(rows[2] ?? '', new RegExp(`^${client1.ipv4.replaceAll('.', '\\.')}\\s+udp/${UDP_SERVICE}\\s`));
      assert.match(rows[3] ?? '', new RegExp(`^${client2.ipv6}\\s+tcp/${TCP_SERVICE}\\s`));
      const listed = JSON.parse((await admin(['grants', '--json'])).stdout) as Array<{ address: string; protocol: string; port: number }>;
      assert.deepEqual(listed.map((g) => `${g.address} ${g.protocol}/${g.port}`), [`${client1.ipv4} tcp/${TCP_SERVICE}`, `${client1.ipv4} udp/${UDP_SERVICE}`, `${client2.ipv6} tcp/${TCP_SERVICE}`]);

      const status = await admin(['status']);
      assert.equal(status.code, 0, status.stderr);
      console.log(`--- sknock-server status (${backend})\n${status.stdout}`);
      assert.match(status.stdout, new RegExp(`^firewall\\s+${backend}, policy reject`, 'm'));
      assert.match(status.stdout, /^knocks\s+3 received, 3 accepted, 0 rejected$/m);
      assert.match(status.stdout, /^grants\s+3 open/m);

      const closed = await admin(['grants', 'close', client1.ipv4, `tcp/${TCP_SERVICE}`]);
      assert.equal(closed.code, 0, closed.stderr);
      assert.match(closed.stdout, /^closed 1 grant:/);
      assert.equal(await grantEntryCount(server, backend, { address: client1.ipv4, protocol: 'tcp', port: TCP_SERVICE }), 0, 'its kernel rule is gone');
      assert.equal(await grantEntryCount(server, backend, { address: client1.ipv4, protocol: 'udp', port: UDP_SERVICE }), 1, 'its other grant stays');
      assert.equal(await client1.probeTcp(server.ipv4, TCP_SERVICE), 'refused', 'the client cannot connect any more');
      assert.equal(await client2.probeTcp(server.ipv6, TCP_SERVICE), 'open', 'the other client still can');

      const flushed = await admin(['grants', 'flush']);
      assert.equal(flushed.code, 0, flushed.stderr);
      assert.match(flushed.stdout, /^closed 2 grants:/);
      assert.equal(await grantEntryCount(server, backend, { address: client2.ipv6, protocol: 'tcp', port: TCP_SERVICE }), 0);
      assert.equal(await grantEntryCount(server, backend, { address: client1.ipv4, protocol: 'udp', port: UDP_SERVICE }), 0);
      assert.equal(await client2.probeTcp(server.ipv6, TCP_SERVICE), 'refused');
      assert.equal((await admin(['grants'])).stdout, 'no grants open\n');
      assert.equal(await client1.probeTcp(server.ipv4, TCP_EMERGENCY), 'open', 'the emergency port still answers');
    });

    it('/healthz is 200, 503 naming the problem once the firewall rules are removed, 200 again after the rebuild', async () => {
      const ok = await get('/healthz');
      assert.equal(ok.status, 200, ok.body);
      if (backend === 'nftables') await server.exec('nft', ['delete', 'table', 'inet', 'sknock']);
      else await server.exec('iptables', ['-F']);
      await sleep(1100); // /healthz checks the firewall at most once a second
      const failed = await get('/healthz');
      assert.equal(failed.status, 503, failed.body);
      const report = JSON.parse(failed.body) as { status: string; reasons: string[] };
      console.log(`--- /healthz after the ${backend} rules were removed\n${failed.body}`);
      assert.equal(report.status, 'fail');
      assert.match(report.reasons.join(' '), new RegExp(`^${backend}: the rules were missing or changed \\(.+\\); rebuilt$`));
      await waitUntil('/healthz to be 200 again', async () => ((await get('/healthz')).status === 200 ? true : undefined), { timeoutMs: 8000, intervalMs: 300 });
      assert.equal(await client1.probeTcp(server.ipv4, TCP_SERVICE), 'refused', 'the policy is back');
      const metrics = await get('/metrics');
      assert.match(metrics.body, /^sknock_firewall_repairs_total 1$/m);
      assert.match(metrics.body, /^sknock_knocks_accepted_total 3$/m);
    });
  });
}
