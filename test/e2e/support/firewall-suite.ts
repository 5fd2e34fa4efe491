/**
 * The end-to-end suite run once per firewall back end (nftables.test.ts, iptables.test.ts):
 * the real `sknock-server` program in a server namespace with real firewall rules, the real
 * `sknock` program in client namespaces, TCP and UDP services behind the firewall, over IPv4
 * and IPv6. One topology per back end: `server` + four clients —
 *   client1 knocks (and is refused when it should be), client2 never knocks (stays blocked),
 *   client3 checks expiry and UDP, client4 replays a captured datagram.
 * PORT_OPEN_DURATION_IN_SECONDS is 2, so expiry is seen in seconds; every wait is bounded.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createCrl } from '@sknock/ca';
import { createTopology, netnsSkipReason, type Namespace, type TcpListener, type Topology, type UdpListener } from '../../support/netns.js';
import { buildKnock, cliKnock, cliKnockOk, dryRunDatagram, randomKnockPort } from './client.js';
import { Daemon, writeConfig, type ConfigValue } from './daemon.js';
import { serveFile, type FileServer } from './file-server.js';
import { grantEntryCount, type BackendName } from './firewall-state.js';
import { makePki, TCP_EMERGENCY, TCP_NOT_GRANTED, TCP_SERVICE, UDP_SERVICE, PASSPHRASE, type E2ePki } from './pki.js';
import { addressOf, bothFamilies, FAMILIES, probeAll, probeName, type Family, type ProbeSpec } from './topology-helpers.js';
import { sleep, sleepUntil, waitUntil } from './wait.js';

const DURATION_SECONDS = 2;
const KNOCK_PORT = 62201;
/** How long after a grant's expiry the port must be closed (firewall write + probe). */
const CLOSE_SLACK_MS = 2500;

const TOOLS: Record<BackendName, string[]> = {
  nftables: ['nft'],
  iptables: ['iptables', 'ip6tables', 'iptables-save', 'ip6tables-save', 'iptables-restore', 'ip6tables-restore'],
};

/** Defines the suite for `backend`; call at the top level of a test file (it awaits the skip check). */
export async function defineFirewallSuite(backend: BackendName): Promise<void> {
  const skip = await netnsSkipReason({ tools: TOOLS[backend] });

  describe(`sknock-server end to end with ${backend}`, { skip }, () => {
    let topo: Topology;
    let pki: E2ePki;
    let server: Namespace;
    let client1: Namespace;
    let client2: Namespace;
    let client3: Namespace;
    let client4: Namespace;
    let tcpService: TcpListener;
    let udpService: UdpListener;
    let baseline: string;
    const listeners: Array<{ close(): Promise<void> }> = [];
    const daemons: Daemon[] = [];
    const fileServers: FileServer[] = [];

    const srv = (family: Family): string => addressOf(server, family);

    function config(extra: Readonly<Record<string, ConfigValue>>): Promise<string> {
      const name = `config-${daemons.length}-${Object.values(extra).join('-').replace(/[^a-z0-9]+/gi, '_').slice(0, 40)}.ini`;
      return writeConfig(pki.dir, name, {
        PORT_OPEN_DURATION_IN_SECONDS: DURATION_SECONDS,
        TIMESTAMP_THRESHOLD_IN_SECONDS: 7,
        serverPFXFile: pki.serverPfxFile,
        firewallBackend: backend,
        emergencyAccessPorts: `tcp/${TCP_EMERGENCY}`,
        knockPort: KNOCK_PORT,
        anyPortKnocks: true,
        ...extra,
      });
    }

    async function startDaemon(extra: Readonly<Record<string, ConfigValue>>): Promise<Daemon> {
      const daemon = await Daemon.start(server, await config(extra));
      daemons.push(daemon);
      return daemon;
    }

    /** Polls a TCP probe until it gives `want` (bounded). */
    function waitForTcp(from: Namespace, family: Family, port: number, want: 'open' | 'refused', timeoutMs: number): Promise<number> {
      return waitUntil(
        `${from.role} -> tcp/${port} over IPv${family} to be ${want}`,
        async () => ((await from.probeTcp(srv(family), port, { timeoutMs: 300 })) === want ? Date.now() : undefined),
        { timeoutMs, intervalMs: 50 },
      );
    }

    before(async () => {
      pki = await makePki();
      topo = await createTopology({ clients: 4, prefix: backend === 'nftables' ? 'e2enft' : 'e2eipt' });
      [client1, client2, client3, client4] = topo.clients as [Namespace, Namespace, Namespace, Namespace];
      server = topo.server;
      tcpService = await server.listenTcp(TCP_SERVICE);
      udpService = await server.listenUdp(UDP_SERVICE);
      listeners.push(tcpService, udpService, await server.listenTcp(TCP_NOT_GRANTED), await server.listenTcp(TCP_EMERGENCY));
      baseline = await server.rulesetSnapshot();
    });

    after(async () => {
      for (const d of daemons) if (d.running) await d.stop('SIGKILL', 3000).catch(() => undefined);
      for (const f of fileServers) await f.close().catch(() => undefined);
      await topo?.cleanup();
      await pki?.dispose();
    });

    it('with no daemon running every service answers (what the firewall takes away is really there)', async () => {
      const probes: ProbeSpec[] = FAMILIES.flatMap((family) =>
        [TCP_SERVICE, TCP_NOT_GRANTED, TCP_EMERGENCY].map((port) => ({ from: client1, family, protocol: 'tcp' as const, port })),
      );
      const results = await probeAll(server, probes);
      assert.deepEqual(results, Object.fromEntries(probes.map((p) => [probeName(p), 'open'])));
      // And a UDP datagram reaches the UDP service.
      await bothFamilies(async (family) => {
        const payload = Buffer.from(`hello over IPv${family} ${Math.random()}`);
        await client1.sendUdp(srv(family), UDP_SERVICE, payload);
        await udpService.waitForMessage({ predicate: (m) => m.payload.equals(payload), timeoutMs: 2000 });
      });
    });

    describe('firewallPolicy = reject, CRL from crlFile', () => {
      let daemon: Daemon;
      before(async () => {
        daemon = await startDaemon({ firewallPolicy: 'reject', PFXPasswd: PASSPHRASE, crlFile: pki.crlFile });
      });
      after(async () => {
        if (daemon?.running) await daemon.stop('SIGKILL', 3000).catch(() => undefined);
      });

      it('before any knock: TCP refused (RST), UDP refused (ICMP port unreachable), the emergency port answers; IPv4 and IPv6', async () => {
        const probes: ProbeSpec[] = [];
        const expected: Record<string, string> = {};
        for (const from of [client1, client2]) {
          for (const family of FAMILIES) {
            for (const [protocol, port, want] of [
              ['tcp', TCP_SERVICE, 'refused'],
              ['tcp', TCP_NOT_GRANTED, 'refused'],
              ['udp', UDP_SERVICE, 'refused'],
              ['tcp', TCP_EMERGENCY, 'open'],
            ] as const) {
              const p = { from, family, protocol, port };
              probes.push(p);
              expected[probeName(p)] = want;
            }
          }
        }
        assert.deepEqual(await probeAll(server, probes), expected);
        assert.equal(udpService.messages.filter((m) => m.address === client2.ipv4 || m.address === client2.ipv6).length, 0, 'no datagram got through');
      });

      it('opens nothing for: a port not granted, a revoked certificate (crlFile), a stale timestamp, a bound address that is not the source', async () => {
        const since = daemon.mark();
        await bothFamilies(async (family) => {
          const me = addressOf(client1, family);
          // tcp/2002: alice's certificate grants tcp/2000 and udp/2001 only (the CLI refuses to make it: built here).
          await client1.sendUdp(srv(family), randomKnockPort(), buildKnock(pki, pki.alice, { port: TCP_NOT_GRANTED, address: me }));
          await daemon.waitForReject('not-granted', me, { since });
          // carol is on the CRL in crlFile.
          const revoked = await cliKnock(client1, pki, pki.carol, srv(family), TCP_SERVICE, { noVerify: true });
          assert.equal(revoked.code, 0, `the knock was sent: ${revoked.stderr}`);
          await daemon.waitForReject('revoked', me, { since });
          // A timestamp 60 s old (the window is 7 s).
          const stale = buildKnock(pki, pki.alice, { port: TCP_SERVICE, address: me, timestamp: Math.floor(Date.now() / 1000) - 60 });
          await client1.sendUdp(srv(family), randomKnockPort(), stale);
          await daemon.waitForReject('stale-timestamp', me, { since });
          // Bound to client2's address, sent from client1.
          const spoofed = await cliKnock(client1, pki, pki.alice, srv(family), TCP_SERVICE, { noVerify: true, sourceAddress: addressOf(client2, family) });
          assert.equal(spoofed.code, 0, `the knock was sent: ${spoofed.stderr}`);
          await daemon.waitForReject('address-mismatch', me, { since });
        });
        assert.deepEqual(daemon.accepts(since), [], 'no knock was accepted');
        const probes: ProbeSpec[] = FAMILIES.flatMap((family) => [
          { from: client1, family, protocol: 'tcp' as const, port: TCP_SERVICE },
          { from: client1, family, protocol: 'tcp' as const, port: TCP_NOT_GRANTED },
          { from: client2, family, protocol: 'tcp' as const, port: TCP_SERVICE },
        ]);
        assert.deepEqual(await probeAll(server, probes), Object.fromEntries(probes.map((p) => [probeName(p), 'refused'])));
        for (const from of [client1, client2]) {
          for (const family of FAMILIES) {
            assert.equal(await grantEntryCount(server, backend, { address: addressOf(from, family), protocol: 'tcp', port: TCP_SERVICE }), 0);
          }
        }
      });

      it('a knock (sknock CLI, to a random UDP port) opens TCP 2000 for the knocking address only', async () => {
        await bothFamilies(async (family) => {
          const since = daemon.mark();
          const result = await cliKnockOk(client1, pki, pki.alice, srv(family), TCP_SERVICE);
          assert.equal(result['verified'], true);
          assert.equal(result['sourceAddress'], addressOf(client1, family));
          await daemon.waitForAccept(addressOf(client1, family), TCP_SERVICE, { since });
        });
        const probes: ProbeSpec[] = FAMILIES.flatMap((family) => [
          { from: client1, family, protocol: 'tcp' as const, port: TCP_SERVICE },
          { from: client1, family, protocol: 'tcp' as const, port: TCP_NOT_GRANTED },
          { from: client2, family, protocol: 'tcp' as const, port: TCP_SERVICE },
          { from: client3, family, protocol: 'tcp' as const, port: TCP_SERVICE },
        ]);
        const expected = Object.fromEntries(probes.map((p) => [probeName(p), p.from === client1 && p.port === TCP_SERVICE ? 'open' : 'refused']));
        assert.deepEqual(await probeAll(server, probes), expected);
        for (const family of FAMILIES) {
          assert.ok(tcpService.connections.some((c) => c.address === addressOf(client1, family)), `the service saw client1 over IPv${family}`);
          assert.equal(await grantEntryCount(server, backend, { address: addressOf(client1, family), protocol: 'tcp', port: TCP_SERVICE }), 1);
          assert.equal(await grantEntryCount(server, backend, { address: addressOf(client2, family), protocol: 'tcp', port: TCP_SERVICE }), 0);
        }
      });

      it('a UDP knock lets datagrams from that address reach UDP 2001, and only from it', async () => {
        await bothFamilies(async (family) => {
          const me = addressOf(client3, family);
          assert.equal(await client3.probeUdp(srv(family), UDP_SERVICE), 'refused');
          const since = daemon.mark();
          const result = await cliKnockOk(client3, pki, pki.alice, srv(family), UDP_SERVICE, { protocol: 'udp' });
          assert.equal(result['protocol'], 'udp');
          await daemon.waitForAccept(me, UDP_SERVICE, { since });
          await waitUntil(`a datagram from ${client3.role} over IPv${family} to reach udp/${UDP_SERVICE}`, async () => {
            const payload = Buffer.from(`through ${me} ${Math.random()}`);
            const r = await client3.probeUdp(srv(family), UDP_SERVICE, { payload, timeoutMs: 150 });
            return r !== 'refused' && udpService.messages.some((m) => m.payload.equals(payload));
          });
          assert.equal(await client2.probeUdp(srv(family), UDP_SERVICE), 'refused', 'client2 stays blocked');
          assert.equal(await client3.probeTcp(srv(family), TCP_SERVICE), 'refused', 'a UDP grant opens no TCP port');
        });
      });

      it(`a grant closes after PORT_OPEN_DURATION_IN_SECONDS (${DURATION_SECONDS} s), and the kernel entry goes with it`, async () => {
        await bothFamilies(async (family) => {
          const me = addressOf(client3, family);
          const since = daemon.mark();
          await cliKnockOk(client3, pki, pki.alice, srv(family), TCP_SERVICE);
          const { expiresAt, line } = await daemon.waitForAccept(me, TCP_SERVICE, { since });
          const acceptedAt = Date.parse(String(line['time']));
          assert.ok(Math.abs(expiresAt - acceptedAt - DURATION_SECONDS * 1000) < 250, `expiresAt ${expiresAt - acceptedAt} ms after the accept`);
          await sleepUntil(expiresAt - 600);
          assert.equal(await client3.probeTcp(srv(family), TCP_SERVICE), 'open', 'still open before the duration is up');
          const closedAt = await waitForTcp(client3, family, TCP_SERVICE, 'refused', expiresAt + CLOSE_SLACK_MS - Date.now());
          assert.ok(closedAt >= expiresAt - 600, 'closed after the duration');
          await waitUntil('the grant to leave the kernel', async () => (await grantEntryCount(server, backend, { address: me, protocol: 'tcp', port: TCP_SERVICE })) === 0, { timeoutMs: 2000 });
          // The UDP grant of the test before has expired too.
          assert.equal(await client3.probeUdp(srv(family), UDP_SERVICE), 'refused');
        });
      });

      it('a second knock while the port is open extends the grant, with no second rule', async () => {
        await bothFamilies(async (family) => {
          const me = addressOf(client1, family);
          // client1's grant of an earlier test has expired by now; make sure.
          await waitForTcp(client1, family, TCP_SERVICE, 'refused', 4000);
          // The second knock, made now by the real CLI, sent later with no process start in between.
          const second = await dryRunDatagram(client1, pki, pki.alice, srv(family), TCP_SERVICE);
          const since = daemon.mark();
          await cliKnockOk(client1, pki, pki.alice, srv(family), TCP_SERVICE);
          const first = await daemon.waitForAccept(me, TCP_SERVICE, { since });
          await sleep(900);
          const since2 = daemon.mark();
          await client1.sendUdp(srv(family), randomKnockPort(), second);
          const extended = await daemon.waitForAccept(me, TCP_SERVICE, { since: since2 });
          assert.ok(Date.parse(String(extended.line['time'])) < first.expiresAt - 300, 'the second knock came while the first grant was open');
          assert.ok(extended.expiresAt - first.expiresAt >= 800, `expiry moved from ${first.expiresAt} to ${extended.expiresAt}`);
          const grant = { address: me, protocol: 'tcp' as const, port: TCP_SERVICE };
          assert.equal(await grantEntryCount(server, backend, grant), 1, 'one rule/element after two knocks');
          await sleepUntil(first.expiresAt + 350);
          assert.equal(await client1.probeTcp(srv(family), TCP_SERVICE), 'open', 'still open after the first grant would have closed');
          assert.equal(await grantEntryCount(server, backend, grant), 1);
          await waitForTcp(client1, family, TCP_SERVICE, 'refused', extended.expiresAt + CLOSE_SLACK_MS - Date.now());
        });
      });

      it('a replayed datagram opens nothing (captured with sknock --dry-run, sent again after the grant expired)', async () => {
        await bothFamilies(async (family) => {
          const me = addressOf(client4, family);
          const datagram = await dryRunDatagram(client4, pki, pki.alice, srv(family), TCP_SERVICE);
          const since = daemon.mark();
          await client4.sendUdp(srv(family), randomKnockPort(), datagram);
          const { expiresAt } = await daemon.waitForAccept(me, TCP_SERVICE, { since });
          await waitForTcp(client4, family, TCP_SERVICE, 'open', 2000);
          // Replayed while open: refused, the grant is not extended.
          const sinceOpen = daemon.mark();
          await client4.sendUdp(srv(family), randomKnockPort(), datagram);
          await daemon.waitForReject('replayed-key', me, { since: sinceOpen });
          await waitForTcp(client4, family, TCP_SERVICE, 'refused', expiresAt + CLOSE_SLACK_MS - Date.now());
          // Replayed after it closed: still refused, nothing opens.
          const sinceClosed = daemon.mark();
          await client4.sendUdp(srv(family), randomKnockPort(), datagram);
          await daemon.waitForReject('replayed-key', me, { since: sinceClosed });
          assert.equal(await client4.probeTcp(srv(family), TCP_SERVICE), 'refused');
          assert.equal(await grantEntryCount(server, backend, { address: me, protocol: 'tcp', port: TCP_SERVICE }), 0);
          assert.deepEqual(daemon.accepts(sinceOpen, me), [], 'no accept after the first');
        });
      });

      it('anyPortKnocks: a knock sent to the knock port itself and one sent to a random UDP port both open', async () => {
        await bothFamilies(async (family) => {
          for (const [from, knockPort] of [
            [client4, KNOCK_PORT],
            [client2, randomKnockPort()],
          ] as const) {
            const since = daemon.mark();
            const datagram = await dryRunDatagram(from, pki, pki.alice, srv(family), TCP_SERVICE, { knockPort });
            await from.sendUdp(srv(family), knockPort, datagram);
            await daemon.waitForAccept(addressOf(from, family), TCP_SERVICE, { since });
            await waitForTcp(from, family, TCP_SERVICE, 'open', 2000);
          }
        });
      });

      it('SIGHUP re-reads crlFile: a certificate revoked since the start is refused from then on', async () => {
        const since = daemon.mark();
        await cliKnockOk(client1, pki, pki.erin, server.ipv4, TCP_SERVICE, { noVerify: true });
        await daemon.waitForAccept(client1.ipv4, TCP_SERVICE, { since });
        const now = Date.now();
        const crl = await createCrl(pki.ca, {
          revoked: [
            { serial: pki.carol.serial, date: new Date(now - 60_000) },
            { serial: pki.erin.serial, date: new Date(now - 1000) },
          ],
          crlNumber: 2,
        });
        await writeFile(pki.crlFile, crl);
        const sinceHup = daemon.mark();
        daemon.child.kill('SIGHUP');
        await daemon.waitForLog((l) => l['event'] === 'reload', 'the reload line', { since: sinceHup });
        const sinceRevoked = daemon.mark();
        await cliKnockOk(client1, pki, pki.erin, server.ipv6, TCP_SERVICE, { noVerify: true });
        await daemon.waitForReject('revoked', client1.ipv6, { since: sinceRevoked });
        assert.equal(await client1.probeTcp(server.ipv6, TCP_SERVICE), 'refused');
      });

      it('SIGTERM: exit 0, every rule removed (grants still open included); the ruleset is exactly as before start', async () => {
        await bothFamilies((family) => cliKnockOk(client3, pki, pki.alice, srv(family), TCP_SERVICE));
        for (const family of FAMILIES) {
          assert.equal(await grantEntryCount(server, backend, { address: addressOf(client3, family), protocol: 'tcp', port: TCP_SERVICE }), 1, 'a grant is open');
        }
        assert.equal(await daemon.stop('SIGTERM'), 0);
        assert.equal(await server.rulesetSnapshot(), baseline);
        assert.equal(await client3.probeTcp(server.ipv4, TCP_SERVICE), 'open', 'no firewall: the service answers again');
      });
    });

    describe('firewallPolicy = drop, CRL from crlUrl (requireCrl on)', () => {
      let daemon: Daemon;
      let fetchedCrl: string;
      before(async () => {
        const served = join(pki.dir, 'served.crl');
        await writeFile(served, pki.urlCrl);
        const files = await serveFile(server, served);
        fileServers.push(files);
        fetchedCrl = join(pki.dir, 'fetched.crl');
        const passwordFile = join(pki.dir, 'server-password.txt');
        await writeFile(passwordFile, `${PASSPHRASE}\n`);
        daemon = await startDaemon({ firewallPolicy: 'drop', PFXPasswdFile: passwordFile, crlUrl: files.url, crlFile: fetchedCrl, requireCrl: true });
      });
      after(async () => {
        if (daemon?.running) await daemon.stop('SIGKILL', 3000).catch(() => undefined);
      });

      it('fetched the CRL from crlUrl at start and wrote it to crlFile', async () => {
        assert.ok((fileServers[0]?.requests.length ?? 0) >= 1, 'the CRL was requested');
        assert.deepEqual(new Uint8Array(await readFile(fetchedCrl)), pki.urlCrl);
      });

      it('before any knock: TCP and UDP time out (dropped: no RST, no ICMP), the emergency port answers; IPv4 and IPv6', async () => {
        const probes: ProbeSpec[] = [];
        const expected: Record<string, string> = {};
        for (const family of FAMILIES) {
          for (const [protocol, port, want] of [
            ['tcp', TCP_SERVICE, 'timeout'],
            ['udp', UDP_SERVICE, 'timeout'],
            ['tcp', TCP_EMERGENCY, 'open'],
          ] as const) {
            const p = { from: client2, family, protocol, port };
            probes.push(p);
            expected[probeName(p)] = want;
          }
        }
        const seenBefore = udpService.messages.length;
        assert.deepEqual(await probeAll(server, probes), expected);
        assert.equal(udpService.messages.length, seenBefore, 'the UDP probes were dropped, not delivered');
      });

      it('a knock opens TCP 2000 for the knocking address only', async () => {
        await bothFamilies(async (family) => {
          const since = daemon.mark();
          await cliKnockOk(client1, pki, pki.alice, srv(family), TCP_SERVICE);
          await daemon.waitForAccept(addressOf(client1, family), TCP_SERVICE, { since });
        });
        const probes: ProbeSpec[] = FAMILIES.flatMap((family) => [
          { from: client1, family, protocol: 'tcp' as const, port: TCP_SERVICE },
          { from: client2, family, protocol: 'tcp' as const, port: TCP_SERVICE },
        ]);
        const expected = Object.fromEntries(probes.map((p) => [probeName(p), p.from === client1 ? 'open' : 'timeout']));
        assert.deepEqual(await probeAll(server, probes), expected);
      });

      it('a certificate revoked by the CRL from crlUrl opens nothing', async () => {
        const since = daemon.mark();
        await bothFamilies(async (family) => {
          const me = addressOf(client3, family);
          const r = await cliKnock(client3, pki, pki.dave, srv(family), TCP_SERVICE, { noVerify: true });
          assert.equal(r.code, 0, r.stderr);
          await daemon.waitForReject('revoked', me, { since });
          assert.equal(await client3.probeTcp(srv(family), TCP_SERVICE, { timeoutMs: 400 }), 'timeout');
        });
        assert.deepEqual(daemon.accepts(since), []);
      });

      it('SIGTERM: exit 0 and the ruleset is exactly as before start', async () => {
        assert.equal(await daemon.stop('SIGTERM'), 0);
        assert.equal(await server.rulesetSnapshot(), baseline);
      });
    });

    describe('one daemon per network namespace, and a firewall that is watched (firewallCheckIntervalSeconds = 1)', () => {
      // nftables answers knock-shaped datagrams like a closed port on every port; iptables only
      // without anyPortKnocks (see docs/firewall.md), so its daemon here takes knocks on its port.
      const anyPortKnocks = backend === 'nftables';
      const SECOND_KNOCK_PORT = KNOCK_PORT + 1;
      let first: Daemon;
      const watched = (extra: Readonly<Record<string, ConfigValue>> = {}): Readonly<Record<string, ConfigValue>> => ({
        firewallPolicy: 'reject',
        PFXPasswd: PASSPHRASE,
        PORT_OPEN_DURATION_IN_SECONDS: 60,
        firewallCheckIntervalSeconds: 1,
        anyPortKnocks,
        ...extra,
      });
      /** The firewall as it stands, without what changes by itself (element timers, counters). */
      const firewallText = async (): Promise<string> =>
        backend === 'nftables' ? (await server.exec('nft', ['-t', '-a', 'list', 'ruleset'])).stdout : server.rulesetSnapshot();
      /** Whether the firewall is whole again in both families (the last thing a repair puts back is the knock copy). */
      const knockReaches = async (): Promise<boolean> => {
        const text = await server.rulesetSnapshot();
        return (text.match(/-A SKNOCK-COPY /g) ?? []).length === 2 && (text.match(/-A INPUT -j SKNOCK\n/g) ?? []).length === 2;
      };
      /** A knock from `from` to `daemonPort` (or, with anyPortKnocks, a random port), sent from a connected socket. */
      const knockAndProbe = async (from: Namespace, family: Family, daemonPort: number): Promise<string> => {
        const datagram = buildKnock(pki, pki.alice, { port: TCP_SERVICE, address: addressOf(from, family) });
        return from.probeUdp(srv(family), anyPortKnocks ? randomKnockPort() : daemonPort, { payload: datagram, timeoutMs: 400 });
      };

      before(async () => {
        first = await startDaemon(watched());
      });
      after(async () => {
        if (first?.running) await first.stop('SIGKILL', 3000).catch(() => undefined);
      });

      it('a knock gets ICMP port unreachable like any closed port, and the daemon still accepts it and opens the port', async () => {
        await bothFamilies(async (family) => {
          const since = first.mark();
          assert.equal(await knockAndProbe(client1, family, KNOCK_PORT), 'refused', `IPv${family}: the knock was answered like a closed port`);
          await first.waitForAccept(addressOf(client1, family), TCP_SERVICE, { since });
          await waitForTcp(client1, family, TCP_SERVICE, 'open', 2000);
        });
        const probes: ProbeSpec[] = FAMILIES.map((family) => ({ from: client2, family, protocol: 'udp' as const, port: KNOCK_PORT }));
        assert.deepEqual(await probeAll(server, probes), Object.fromEntries(probes.map((p) => [probeName(p), 'refused'])), 'and so is a non-knock datagram to the knock port');
      });

      it(`a second daemon on another knock port refuses to start (exit 1, ERR_SKNOCK_FIREWALL_IN_USE) and leaves the first one's rules and grants`, async () => {
        const before = await firewallText();
        const started = Daemon.start(server, await config(watched({ knockPort: SECOND_KNOCK_PORT })));
        await assert.rejects(started, (err: Error) => {
          assert.match(err.message, /sknock-server exited \(1\) before listening/);
          assert.match(err.message, /ERR_SKNOCK_FIREWALL_IN_USE/);
          assert.match(err.message, new RegExp(`belongs to another running sknock-server \\(pid ${first.child.pid}, knock port ${KNOCK_PORT}\\)`));
          return true;
        });
        assert.equal(await firewallText(), before, 'the refused daemon changed nothing, on start nor on exit');
        await bothFamilies(async (family) => {
          assert.equal(await client1.probeTcp(srv(family), TCP_SERVICE), 'open', "the first daemon's grant is in force");
          assert.equal(await client2.probeTcp(srv(family), TCP_SERVICE), 'refused', "and its policy");
          const since = first.mark();
          await knockAndProbe(client3, family, KNOCK_PORT);
          await first.waitForAccept(addressOf(client3, family), TCP_SERVICE, { since });
        });
      });

      it(
        backend === 'nftables'
          ? 'nft flush ruleset: within firewallCheckIntervalSeconds the daemon rebuilds its tables, logs it at warn, and its grants and policy are back'
          : 'iptables -F and -X of every table (both families): within firewallCheckIntervalSeconds the daemon rebuilds its chains and jumps, logs it at warn, and its grants and policy are back',
        async () => {
          await waitForTcp(client1, 4, TCP_SERVICE, 'open', 2000);
          const since = first.mark();
          const flushedAt = Date.now();
          if (backend === 'nftables') {
            await server.exec('nft', ['flush', 'ruleset']);
          } else {
            // -F and -X of every table, as one transaction per family: done as two commands, the
            // daemon's watchdog may put a jump back between them and -X then fails (EBUSY).
            for (const tool of ['iptables-restore', 'ip6tables-restore']) {
              await server.exec(tool, [], { input: '*filter\nCOMMIT\n*nat\nCOMMIT\n*mangle\nCOMMIT\n' });
            }
          }
          const repaired = await first.waitForLog((l) => l['event'] === 'firewall-repaired', 'the firewall-repaired line', { since, timeoutMs: 4000 });
          assert.equal(repaired['level'], 'warn');
          const took = Date.parse(String(repaired['time'])) - flushedAt;
          assert.ok(took <= 1000 + 1000, `repaired ${took} ms after the flush (check every 1 s, plus the check itself)`);
          if (backend === 'nftables') {
            assert.equal(repaired['grants'], 4, 'client1 and client3, IPv4 and IPv6');
            assert.match(String(repaired['problem']), /table inet sknock .*missing/);
          } else {
            // The flush is a dozen commands: a check may come between them and repair what is
            // flushed so far; the next one repairs the rest. Wait until both families are done.
            const problems = async (): Promise<string> =>
              first.lines
                .slice(since)
                .filter((l) => l['event'] === 'firewall-repaired')
                .map((l) => String(l['problem']))
                .join('; ');
            await waitUntil('both families repaired', async () => {
              const p = await problems();
              return /iptables: chain SKNOCK or SKNOCK-GRANTS is missing/.test(p) && /ip6tables: chain SKNOCK or SKNOCK-GRANTS is missing/.test(p) && (await knockReaches());
            }, { timeoutMs: 4000, intervalMs: 100 });
          }
          await bothFamilies(async (family) => {
            assert.equal(await client1.probeTcp(srv(family), TCP_SERVICE), 'open', 'the grants are back');
            assert.equal(await client3.probeTcp(srv(family), TCP_SERVICE), 'open');
            assert.equal(await client2.probeTcp(srv(family), TCP_SERVICE), 'refused', 'the policy is back');
            const sinceKnock = first.mark();
            assert.equal(await knockAndProbe(client4, family, KNOCK_PORT), 'refused');
            await first.waitForAccept(addressOf(client4, family), TCP_SERVICE, { since: sinceKnock });
          });
          assert.equal(first.lines.slice(since).filter((l) => l['event'] === 'firewall-check-failed').length, 0);
        },
      );

      it('after the first daemon is SIGKILLed, the second one starts, takes its rules over and works; its stop removes them', async () => {
        assert.equal(await first.stop('SIGKILL'), null);
        const second = await startDaemon(watched({ knockPort: SECOND_KNOCK_PORT }));
        await bothFamilies(async (family) => {
          assert.equal(await client1.probeTcp(srv(family), TCP_SERVICE), 'refused', "the dead daemon's grants went with its table");
          const since = second.mark();
          assert.equal(await knockAndProbe(client1, family, SECOND_KNOCK_PORT), 'refused');
          await second.waitForAccept(addressOf(client1, family), TCP_SERVICE, { since });
          await waitForTcp(client1, family, TCP_SERVICE, 'open', 2000);
        });
        assert.equal(await second.stop('SIGTERM'), 0);
        const after = await server.rulesetSnapshot();
        if (backend === 'nftables') assert.equal(after, baseline);
        else assert.doesNotMatch(after, /SKNOCK/);
      });
    });

    it(
      backend === 'nftables'
        ? 'a daemon killed with SIGKILL: its grants still expire (kernel set timeouts); a restart removes what it left, a stop restores the ruleset'
        : 'a daemon killed with SIGKILL: a restart removes the rules it left (stale grants included); its stop leaves no rule',
      async () => {
        const daemon = await startDaemon({ firewallPolicy: 'reject', PFXPasswd: PASSPHRASE });
        const grants = await bothFamilies(async (family) => {
          const since = daemon.mark();
          await cliKnockOk(client1, pki, pki.alice, srv(family), TCP_SERVICE);
          return (await daemon.waitForAccept(addressOf(client1, family), TCP_SERVICE, { since })).expiresAt;
        });
        assert.equal(await daemon.stop('SIGKILL'), null);
        if (backend === 'nftables') {
          await bothFamilies(async (family) => {
            const grant = { address: addressOf(client1, family), protocol: 'tcp' as const, port: TCP_SERVICE };
            assert.equal(await client1.probeTcp(srv(family), TCP_SERVICE), 'open', 'the grant outlives the daemon');
            assert.equal(await grantEntryCount(server, backend, grant), 1);
            await waitForTcp(client1, family, TCP_SERVICE, 'refused', Math.max(...grants) + CLOSE_SLACK_MS - Date.now());
            assert.equal(await grantEntryCount(server, backend, grant), 0, 'the kernel removed the element');
            assert.equal(await client2.probeTcp(srv(family), TCP_SERVICE), 'refused', 'the policy stays in force');
          });
        }
        assert.notEqual(await server.rulesetSnapshot(), baseline, 'the killed daemon left its rules');
        const again = await startDaemon({ firewallPolicy: 'reject', PFXPasswd: PASSPHRASE });
        await bothFamilies(async (family) => {
          assert.equal(await client1.probeTcp(srv(family), TCP_SERVICE), 'refused', 'no stale grant after the restart');
          assert.equal(await grantEntryCount(server, backend, { address: addressOf(client1, family), protocol: 'tcp', port: TCP_SERVICE }), 0);
        });
        assert.equal(await again.stop('SIGTERM'), 0);
        const after = await server.rulesetSnapshot();
        if (backend === 'nftables') {
          assert.equal(after, baseline);
        } else {
          // The restarted daemon found the filter and nat tables already there (made by the
          // killed one), so it leaves them, empty; every chain and rule of its own is gone.
          assert.doesNotMatch(after, /SKNOCK/);
          assert.deepEqual(after.split('\n').filter((l) => l.startsWith('-A ') || /^:\S+ (DROP|REJECT)/.test(l)), [], 'no rule, no DROP policy left');
        }
      },
    );
  });
}
