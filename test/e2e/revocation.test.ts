/**
 * Revocation end to end, with nftables in network namespaces: the real `sknock-server` with
 * two trusted CAs (the CA of its PKCS#12, and a second one in caFile) and a crlFile, the
 * real `sknock` CLI in a client namespace, a TCP service behind a `reject` policy.
 *
 * - A CRL of the second CA (newer, higher number) put in crlFile and taken on SIGHUP does
 *   not lift the first CA's revocation of alice (before the fix it replaced it, and alice's
 *   knock was accepted again).
 * - A CRL revoking alice, taken on SIGHUP while her 10-minute grant is open, closes her port
 *   at once (probed from the client namespace), and the daemon logs the closure.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { createCrl } from '@sknock/ca';
import { createTopology, netnsSkipReason, type Namespace, type TcpListener, type Topology } from '../support/netns.js';
import { cliKnock, cliKnockOk } from './support/client.js';
import { Daemon, writeConfig } from './support/daemon.js';
import { makePki, makeSecondCa, PASSPHRASE, TCP_EMERGENCY, TCP_SERVICE, type E2ePki, type E2eSecondCa } from './support/pki.js';
import { waitUntil } from './support/wait.js';

const skip = await netnsSkipReason({ tools: ['nft'] });
/** Long enough that a grant that closes does so because of the CRL, not its time. */
const DURATION_SECONDS = 600;

describe('revocation end to end (nftables, two trusted CAs)', { skip }, () => {
  let topo: Topology;
  let pki: E2ePki;
  let second: E2eSecondCa;
  let server: Namespace;
  let client: Namespace;
  let service: TcpListener;
  const daemons: Daemon[] = [];

  async function startDaemon(name: string, crl: Uint8Array): Promise<{ daemon: Daemon; crlFile: string }> {
    const crlFile = `${pki.dir}/${name}.crl`;
    await writeFile(crlFile, crl);
    const config = await writeConfig(pki.dir, `${name}.ini`, {
      PORT_OPEN_DURATION_IN_SECONDS: DURATION_SECONDS,
      serverPFXFile: pki.serverPfxFile,
      PFXPasswd: PASSPHRASE,
      caFile: second.caFile,
      crlFile,
      firewallBackend: 'nftables',
      firewallPolicy: 'reject',
      emergencyAccessPorts: `tcp/${TCP_EMERGENCY}`,
      knockPort: 62201,
    });
    const daemon = await Daemon.start(server, config);
    daemons.push(daemon);
    return { daemon, crlFile };
  }

  async function sighup(daemon: Daemon): Promise<void> {
    const since = daemon.mark();
    daemon.child.kill('SIGHUP');
    await daemon.waitForLog((l) => l['event'] === 'reload', 'the reload line', { since });
  }

  before(async () => {
    pki = await makePki();
    second = await makeSecondCa(pki);
    topo = await createTopology({ clients: 1, prefix: 'e2erevoke' });
    server = topo.server;
    client = topo.clients[0] as Namespace;
    service = await server.listenTcp(TCP_SERVICE);
  });

  after(async () => {
    for (const d of daemons) if (d.running) await d.stop('SIGKILL', 3000).catch(() => undefined);
    await service?.close().catch(() => undefined);
    await topo?.cleanup();
    await pki?.dispose();
  });

  it('a newer CRL of the second CA in crlFile, taken on SIGHUP, does not un-revoke alice (revoked by the first CA)', async () => {
    const now = Date.now();
    const { daemon, crlFile } = await startDaemon('two-cas', await createCrl(pki.ca, { revoked: [{ serial: pki.alice.serial, date: new Date(now - 60_000) }], crlNumber: 1 }));
    try {
      const before = daemon.mark();
      const refused = await cliKnock(client, pki, pki.alice, server.ipv4, TCP_SERVICE, { noVerify: true });
      assert.equal(refused.code, 0, `the knock was sent: ${refused.stderr}`);
      await daemon.waitForReject('revoked', client.ipv4, { since: before });

      // The reviewer's reproduction: the second CA's empty CRL, with a higher number, replaces the file.
      await writeFile(crlFile, await createCrl(second.ca, { revoked: [], crlNumber: 99 }));
      await sighup(daemon);
      const sinceHup = daemon.mark();
      const again = await cliKnock(client, pki, pki.alice, server.ipv4, TCP_SERVICE, { noVerify: true });
      assert.equal(again.code, 0, `the knock was sent: ${again.stderr}`);
      await daemon.waitForReject('revoked', client.ipv4, { since: sinceHup });
      assert.deepEqual(daemon.accepts(sinceHup), [], 'alice is still revoked');
      assert.equal(await client.probeTcp(server.ipv4, TCP_SERVICE), 'refused');
      // The second CA's own client is served; its CRL is in force for it.
      const sinceFrank = daemon.mark();
      await cliKnockOk(client, pki, second.frank, server.ipv6, TCP_SERVICE, { noVerify: true });
      await daemon.waitForAccept(client.ipv6, TCP_SERVICE, { since: sinceFrank });
      const reload = daemon.lines.filter((l) => l['event'] === 'reload').at(-1) as Record<string, unknown>;
      const issuers = (reload['crl'] as { issuers: Array<{ issuer: string; haveCrl: boolean; crlNumber?: string }> }).issuers;
      assert.deepEqual(
        issuers.map((i) => [i.issuer, i.haveCrl, i.crlNumber]),
        [
          ['CN=sKnock E2E CA', true, '1'],
          ['CN=sKnock E2E Second CA', true, '99'],
        ],
        'the reload line says what is held from each CA',
      );
    } finally {
      assert.equal(await daemon.stop('SIGTERM'), 0);
    }
  });

  it('a CRL revoking alice, taken on SIGHUP while her grant is open, closes her port at once and logs it', async () => {
    const { daemon, crlFile } = await startDaemon('close-on-revoke', await createCrl(pki.ca, { revoked: [], crlNumber: 1 }));
    try {
      const since = daemon.mark();
      await cliKnockOk(client, pki, pki.alice, server.ipv4, TCP_SERVICE);
      const { expiresAt } = await daemon.waitForAccept(client.ipv4, TCP_SERVICE, { since });
      assert.ok(expiresAt - Date.now() > 500_000, 'a 10-minute grant');
      assert.equal(await client.probeTcp(server.ipv4, TCP_SERVICE), 'open');

      await writeFile(crlFile, await createCrl(pki.ca, { revoked: [{ serial: pki.alice.serial, date: new Date() }], crlNumber: 2 }));
      const sinceHup = daemon.mark();
      const hupAt = Date.now();
      daemon.child.kill('SIGHUP');
      const closed = await daemon.waitForLog((l) => l['event'] === 'close' && l['reason'] === 'revoked', 'the closure of the revoked grant', { since: sinceHup });
      assert.equal(closed['level'], 'warn');
      assert.equal(closed['subject'], 'CN=alice');
      assert.equal(closed['serial'], pki.alice.serial.replace(/^0+/, ''));
      assert.equal(closed['issuer'], 'CN=sKnock E2E CA');
      assert.deepEqual(closed['grant'], { address: client.ipv4, family: 4, protocol: 'tcp', port: TCP_SERVICE });
      const closedAt = await waitUntil(
        'alice\'s port to close',
        async () => ((await client.probeTcp(server.ipv4, TCP_SERVICE, { timeoutMs: 300 })) === 'refused' ? Date.now() : undefined),
        { timeoutMs: 5000, intervalMs: 50 },
      );
      assert.ok(closedAt - hupAt < 5000 && closedAt < expiresAt - 500_000, `closed ${closedAt - hupAt} ms after SIGHUP, long before its expiry`);
      // And a new knock of hers is refused.
      const sinceKnock = daemon.mark();
      await cliKnock(client, pki, pki.alice, server.ipv4, TCP_SERVICE, { noVerify: true });
      await daemon.waitForReject('revoked', client.ipv4, { since: sinceKnock });
      assert.equal(await client.probeTcp(server.ipv4, TCP_SERVICE), 'refused');
    } finally {
      assert.equal(await daemon.stop('SIGTERM'), 0);
    }
  });
});
