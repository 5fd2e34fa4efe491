/**
 * `--local-address` on a real multi-address host: the real `sknock-server` on nftables in a
 * server namespace, a client namespace with two addresses per family (its own and one added),
 * the `sknock` program run inside the client namespace. A knock with `--local-address` set to
 * the second address leaves from it and the grant is for it; `--source-address` alone writes
 * the second address into a knock that leaves from the first, and the daemon refuses it
 * (`address-mismatch`), which is the bug `--local-address` fixes. Which address the kernel
 * picks is its choice (for IPv6, Linux prefers the newer one), so the test asks it first
 * (`--dry-run` reports it) and binds the other one. Then `--source-address auto` with a STUN
 * responder in another namespace, the request bound through `--local-address` as well. Last,
 * `sknock connect --local-address` from a third address (added then, so it holds no grant):
 * the connection tried first, the knock and the connection handed over all leave from it, and
 * the service sees that one connection.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTopology, netnsSkipReason, type Namespace, type TcpListener, type Topology } from '../support/netns.js';
import { cliKnock, sknock } from './support/client.js';
import { Daemon, sourceAddressOf, writeConfig } from './support/daemon.js';
import { makePki, PASSPHRASE, TCP_SERVICE, type E2ePki } from './support/pki.js';
import { startStunServer, type StunServer } from './support/stun-server.js';
import { addressOf, FAMILIES, type Family } from './support/topology-helpers.js';
import { waitUntil } from './support/wait.js';

const KNOCK_PORT = 62201;
const SECOND: Record<Family, string> = { 4: '10.200.0.77', 6: 'fd00:5eed::77' };
/** Added for the last test only (a new IPv6 address would change the kernel's choice above). */
const THIRD: Record<Family, string> = { 4: '10.200.0.78', 6: 'fd00:5eed::78' };

const skip = await netnsSkipReason({ tools: ['nft'] });

describe('--local-address on a client with two addresses, daemon on nftables', { skip }, () => {
  let topo: Topology;
  let pki: E2ePki;
  let server: Namespace;
  let client: Namespace;
  let stunHost: Namespace;
  let daemon: Daemon;
  let service: TcpListener;
  const stun: StunServer[] = [];

  before(async () => {
    pki = await makePki();
    topo = await createTopology({ clients: 2, prefix: 'e2eloc' });
    server = topo.server;
    [client, stunHost] = topo.clients as [Namespace, Namespace];
    for (const family of FAMILIES) await client.addAddress(SECOND[family]);
    service = await server.listenTcp(TCP_SERVICE);
    const config = await writeConfig(pki.dir, 'config-local-address.ini', {
      PORT_OPEN_DURATION_IN_SECONDS: 30,
      TIMESTAMP_THRESHOLD_IN_SECONDS: 7,
      serverPFXFile: pki.serverPfxFile,
      PFXPasswd: PASSPHRASE,
      firewallBackend: 'nftables',
      firewallPolicy: 'reject',
      knockPort: KNOCK_PORT,
      anyPortKnocks: false,
    });
    daemon = await Daemon.start(server, config);
  });

  after(async () => {
    for (const s of stun) await s.close().catch(() => undefined);
    if (daemon?.running) await daemon.stop('SIGKILL', 3000).catch(() => undefined);
    await topo?.cleanup();
    await pki?.dispose();
  });

  /** The address the kernel sends from toward the server (what `sknock` binds by default). */
  async function kernelChoice(family: Family): Promise<string> {
    const r = await sknock(client, [
      'knock', addressOf(server, family), '-p', String(TCP_SERVICE), '--no-profile',
      '--pfx', pki.alice.pfxFile, '--passphrase-file', pki.passphraseFile, '--server-cert', pki.serverCertFile,
      '--dry-run', '--output', '/dev/null', '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout.trim()) as { sourceAddress: string }).sourceAddress;
  }

  for (const family of FAMILIES) {
    it(`IPv${family}: without --local-address the knock leaves from the kernel's choice, and --source-address naming the other address is refused (address-mismatch)`, async () => {
      const chosen = await kernelChoice(family);
      const other = chosen === SECOND[family] ? addressOf(client, family) : SECOND[family];
      assert.ok([addressOf(client, family), SECOND[family]].includes(chosen), chosen);
      const since = daemon.mark();
      const r = await cliKnock(client, pki, pki.alice, addressOf(server, family), TCP_SERVICE, { knockPort: KNOCK_PORT, sourceAddress: other, timeoutSeconds: 1 });
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.json?.['ok'], false);
      await daemon.waitForReject('address-mismatch', chosen, { since });
      assert.equal(daemon.accepts(since).length, 0);
    });

    it(`IPv${family}: --local-address with either address: the knock leaves from it, binds it, and the grant is for it only`, async () => {
      // The address the kernel would not pick proves the binding; then the one it would.
      const chosen = await kernelChoice(family);
      const other = chosen === SECOND[family] ? addressOf(client, family) : SECOND[family];
      await knockFrom(family, other, chosen);
      await knockFrom(family, chosen, undefined);
    });
  }

  /** Knocks with `--local-address local`; `stillClosed`, if given, must stay refused. */
  async function knockFrom(family: Family, local: string, stillClosed: string | undefined): Promise<void> {
    const since = daemon.mark();
    const r = await sknock(client, [
      'knock', addressOf(server, family), '-p', String(TCP_SERVICE), '--no-profile',
      '--pfx', pki.alice.pfxFile, '--passphrase-file', pki.passphraseFile, '--server-cert', pki.serverCertFile,
      '--knock-port', String(KNOCK_PORT), '--local-address', local, '--timeout', '6', '--json',
    ]);
    assert.equal(r.code, 0, `${r.stdout} ${r.stderr}`);
    const out = JSON.parse(r.stdout.trim()) as { verified: boolean; sourceAddress: string };
    assert.equal(out.verified, true, 'the TCP probe (bound to the same address) reached the port');
    assert.equal(out.sourceAddress, local);
    await daemon.waitForAccept(local, TCP_SERVICE, { since });
    assert.deepEqual(daemon.accepts(since).map(sourceAddressOf), [local]);
    assert.equal(await client.probeTcp(addressOf(server, family), TCP_SERVICE, { localAddress: local }), 'open');
    if (stillClosed !== undefined) assert.equal(await client.probeTcp(addressOf(server, family), TCP_SERVICE, { localAddress: stillClosed }), 'refused');
  }

  it('--source-address auto --stun-server, bound by --local-address: the STUN request and the knock leave from the second address', async () => {
    const family: Family = 4;
    // Behind the daemon's firewall a STUN server would be refused too: it runs on another host.
    const responder = await startStunServer(stunHost, addressOf(stunHost, family));
    stun.push(responder);
    // The second address may hold a grant from above already: this knock extends it (a new accept line).
    const since = daemon.mark();
    const r = await sknock(client, [
      'knock', addressOf(server, family), '-p', String(TCP_SERVICE), '--no-profile',
      '--pfx', pki.alice.pfxFile, '--passphrase-file', pki.passphraseFile, '--server-cert', pki.serverCertFile,
      '--knock-port', String(KNOCK_PORT), '--local-address', SECOND[family],
      '--source-address', 'auto', '--stun-server', `${addressOf(stunHost, family)}:${responder.port}`, '--timeout', '6', '--json',
    ]);
    assert.equal(r.code, 0, `${r.stdout} ${r.stderr}`);
    assert.deepEqual(responder.requests, [SECOND[family]]);
    assert.equal((JSON.parse(r.stdout.trim()) as { sourceAddress: string }).sourceAddress, SECOND[family]);
    await daemon.waitForAccept(SECOND[family], TCP_SERVICE, { since });
  });

  for (const family of FAMILIES) {
    it(`IPv${family}: sknock connect --local-address: the knock and the connection handed over leave from it; the service sees that one connection`, async () => {
      const local = THIRD[family];
      await client.addAddress(local);
      const since = daemon.mark();
      const seen = service.connections.length;
      const r = await sknock(client, [
        'connect', addressOf(server, family), String(TCP_SERVICE), '--no-profile',
        '--pfx', pki.alice.pfxFile, '--passphrase-file', pki.passphraseFile, '--server-cert', pki.serverCertFile,
        '--knock-port', String(KNOCK_PORT), '--local-address', local, '--timeout', '6',
      ]);
      // The service accepts and closes: sknock relays nothing and ends with status 0.
      assert.equal(r.code, 0, r.stderr);
      await daemon.waitForAccept(local, TCP_SERVICE, { since });
      assert.deepEqual(daemon.accepts(since).map(sourceAddressOf), [local], 'one knock, bound to and sent from the third address');
      const peers = await waitUntil('the connection at the service', () => (service.connections.length > seen ? service.connections.slice(seen) : undefined));
      assert.deepEqual(
        peers.map((c) => c.address.replace(/^::ffff:/, '')),
        [local],
        'the service saw exactly the connection handed over, from the third address',
      );
    });
  }
});
