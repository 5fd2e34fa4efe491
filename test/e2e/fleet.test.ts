/**
 * A fleet: ten sknock-server daemons in ten network namespaces (nftables, policy drop), one
 * CA, a server certificate per host, and one CRL URL served over HTTP from a namespace of
 * the same test network (10.200.0.1, routed to every daemon). A knocker in an eleventh
 * namespace sends real knocks to each.
 *
 * - A revocation published at the URL is refused by every daemon within one
 *   CRL_UPDATE_INTERVAL_IN_MINUTES (set to 0.1, six seconds); the time from publishing to
 *   each daemon's first refusal is printed as a FIGURE.
 * - With the CRL server down, every daemon keeps its last good CRL (requireCrl on: knocks
 *   still checked against it, the revoked one refused, the others accepted).
 * - A knock made for one host and replayed to another is not accepted there (each host has
 *   its own key; the knock is encrypted to one).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import type { KeyObject } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createKnockPacket, type PortGrant } from '@sknock/protocol';
import { createCa, createCrl, issueClientCertificate, issueServerCertificate, type CertificateAuthority } from '@sknock/ca';
import { createTopology, netnsSkipReason, type Namespace, type Topology } from '../support/netns.js';
import { Daemon, writeConfig } from './support/daemon.js';
import { serveFile, type FileServer } from './support/file-server.js';
import { PASSPHRASE, TCP_SERVICE } from './support/pki.js';
import { sleep } from './support/wait.js';

const HOSTS = 10;
const KNOCK_PORT = 62201;
/** CRL_UPDATE_INTERVAL_IN_MINUTES for the fleet: six seconds. */
const INTERVAL_MINUTES = 0.1;
const INTERVAL_MS = INTERVAL_MINUTES * 60_000;
/** Beyond one interval: the fetch itself and a knock's round trip, on a loaded 2-core machine. */
const SLACK_MS = 3000;

const GRANTS: readonly PortGrant[] = [{ protocol: 'tcp', port: TCP_SERVICE }];

interface Host {
  readonly ns: Namespace;
  readonly certificate: Uint8Array;
  daemon: Daemon;
}

interface Client {
  readonly name: string;
  readonly privateKey: KeyObject;
  readonly certificate: Uint8Array;
  readonly serial: string;
}

const skip = await netnsSkipReason({ tools: ['nft'] });

describe(`a fleet of ${HOSTS} daemons, one CA, one CRL URL`, { skip }, () => {
  let topo: Topology;
  let dir: string;
  let ca: CertificateAuthority;
  let alice: Client;
  let mallory: Client;
  let crlPath: string;
  let crlServer: FileServer;
  const hosts: Host[] = [];
  let knocker: Namespace;

  const knock = async (host: Host, who: Client): Promise<void> => {
    const packet = createKnockPacket({
      credentials: { privateKey: who.privateKey, certificate: who.certificate },
      serverCertificate: host.certificate,
      protocol: 'tcp',
      port: TCP_SERVICE,
      address: knocker.ipv4,
    });
    await knocker.sendUdp(host.ns.ipv4, KNOCK_PORT, packet);
  };

  /** Publishes a CRL at the URL the way a web server's document root is updated: write, then rename. */
  const publish = async (crl: Uint8Array): Promise<number> => {
    const next = `${crlPath}.new`;
    await writeFile(next, crl);
    await rename(next, crlPath);
    return Date.now();
  };

  /** Knocks as `who` until the host logs a verdict for it: 'accept' or a reject code. */
  const verdict = async (host: Host, who: Client, timeoutMs = 3000): Promise<string> => {
    const since = host.daemon.mark();
    await knock(host, who);
    const line = await host.daemon.waitForLog(
      (l) => (l['event'] === 'accept' && l['serial'] === who.serial) || (l['event'] === 'reject' && typeof l['code'] === 'string' && String(l['source'] ?? '').startsWith(`${knocker.ipv4}:`)),
      `a verdict on ${who.name}'s knock`,
      { since, timeoutMs },
    );
    return line['event'] === 'accept' ? 'accept' : String(line['code']);
  };

  before(async () => {
    topo = await createTopology({ prefix: 'sknockfleet', clients: HOSTS + 1, startAgents: false });
    knocker = topo.clients[HOSTS] as Namespace;
    dir = await mkdtemp(join(tmpdir(), 'sknock-fleet-'));
    ca = await createCa({ name: 'Fleet CA' });
    const client = async (name: string): Promise<Client> => {
      const c = await issueClientCertificate(ca, { name, grants: GRANTS });
      return { name, privateKey: c.privateKey, certificate: c.certificate, serial: c.serial };
    };
    alice = await client('alice');
    mallory = await client('mallory');
    crlPath = join(dir, 'published.crl');
    await publish(await createCrl(ca, { revoked: [], crlNumber: 1 }));
    crlServer = await serveFile(topo.server, crlPath, topo.server.ipv4);
    await writeFile(join(dir, 'server.pass'), `${PASSPHRASE}\n`, { mode: 0o600 });
    // Ten hosts, each with its own server certificate, started side by side.
    const started = await Promise.all(
      topo.clients.slice(0, HOSTS).map(async (ns, i) => {
        const name = `host${i + 1}.fleet.test`;
        const server = await issueServerCertificate(ca, { name, pkcs12: { passphrase: PASSPHRASE } });
        const hostDir = join(dir, name);
        await mkdir(hostDir, { mode: 0o700 });
        await writeFile(join(hostDir, 'server.pfx'), server.pfx as Uint8Array, { mode: 0o600 });
        const config = await writeConfig(hostDir, 'config.ini', {
          serverPFXFile: join(hostDir, 'server.pfx'),
          PFXPasswdFile: join(dir, 'server.pass'),
          crlUrl: crlServer.url,
          crlFile: join(hostDir, 'state', 'crl.der'),
          CRL_UPDATE_INTERVAL_IN_MINUTES: INTERVAL_MINUTES,
          requireCrl: true,
          firewallPolicy: 'drop',
          knockPort: KNOCK_PORT,
          PORT_OPEN_DURATION_IN_SECONDS: 5,
        });
        const daemon = await Daemon.start(ns, config, 30_000);
        return { ns, certificate: server.certificate, daemon };
      }),
    );
    hosts.push(...started);
  });

  after(async () => {
    await Promise.all(hosts.map((h) => h.daemon.stop().catch(() => undefined)));
    await crlServer?.close();
    await topo?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('every host fetched the CRL at start and accepts both clients', async () => {
    for (const h of hosts) {
      assert.ok(h.daemon.lines.some((l) => l['msg'] === 'CRL in force' && l['crlNumber'] === '1' && l['source'] === 'url'), h.daemon.output);
    }
    const verdicts = await Promise.all(hosts.map(async (h) => [await verdict(h, alice), await verdict(h, mallory)].join(' ')));
    assert.deepEqual(verdicts, Array(HOSTS).fill('accept accept'));
  });

  it(`a revocation is refused by every host within one interval (${INTERVAL_MS / 1000} s)`, async () => {
    const published = await publish(await createCrl(ca, { revoked: [{ serial: mallory.serial, date: new Date() }], crlNumber: 2 }));
    const deadline = published + INTERVAL_MS + SLACK_MS;
    const times = await Promise.all(
      hosts.map(async (h) => {
        for (;;) {
          const v = await verdict(h, mallory, 2000).catch(() => 'none');
          if (v === 'revoked') return Date.now() - published;
          if (Date.now() > deadline) return Number.POSITIVE_INFINITY;
          await sleep(200);
        }
      }),
    );
    const taken = hosts.map((h) => {
      const line = h.daemon.lines.find((l) => l['msg'] === 'CRL in force' && l['crlNumber'] === '2');
      return line === undefined ? Number.NaN : Date.parse(String(line['time'])) - published;
    });
    for (const [i, ms] of times.entries()) {
      console.log(`FIGURE fleet revocation host${i + 1}: CRL taken ${taken[i]} ms, first refusal ${ms} ms after publishing (interval ${INTERVAL_MS} ms)`);
    }
    const finite = times.filter((t) => Number.isFinite(t)).sort((a, b) => a - b);
    console.log(`FIGURE fleet revocation: ${finite.length}/${HOSTS} hosts refused, median ${finite[Math.floor(finite.length / 2)]} ms, max ${finite[finite.length - 1]} ms`);
    assert.ok(
      times.every((t) => t <= INTERVAL_MS + SLACK_MS),
      `hosts that did not refuse within ${INTERVAL_MS + SLACK_MS} ms: ${times.map((t, i) => (t > INTERVAL_MS + SLACK_MS ? `host${i + 1}` : '')).filter(Boolean).join(', ')}`,
    );
    // The CRL itself arrived within one interval on every host.
    assert.ok(taken.every((t) => t <= INTERVAL_MS + 1000), `CRL taken after: ${taken.join(', ')} ms`);
    assert.deepEqual(await Promise.all(hosts.map((h) => verdict(h, alice))), Array(HOSTS).fill('accept'), 'the others still get in');
  });

  it('with the CRL server down every host keeps its last good CRL', async () => {
    const marks = hosts.map((h) => h.daemon.mark());
    await crlServer.close();
    // Two intervals: every host tried at least once and failed.
    await Promise.all(
      hosts.map((h, i) =>
        h.daemon.waitForLog((l) => typeof l['msg'] === 'string' && (l['msg'] as string).startsWith('CRL download not taken') && l['code'] === 'ERR_SKNOCK_CRL_FETCH', 'a failed CRL download', {
          since: marks[i],
          timeoutMs: 2 * INTERVAL_MS + SLACK_MS,
        }),
      ),
    );
    const verdicts = await Promise.all(hosts.map(async (h) => [await verdict(h, alice), await verdict(h, mallory)].join(' ')));
    assert.deepEqual(verdicts, Array(HOSTS).fill('accept revoked'), 'the last good CRL is still in force');
    for (const [i, h] of hosts.entries()) {
      assert.ok(!h.daemon.lines.slice(marks[i]).some((l) => l['code'] === 'no-crl'), `host${i + 1} lost its CRL`);
      assert.ok(h.daemon.running, `host${i + 1} is running`);
    }
  });

  it('a knock made for one host and replayed to another opens nothing there', async () => {
    const [a, b] = hosts as [Host, Host];
    const packet = createKnockPacket({
      credentials: { privateKey: alice.privateKey, certificate: alice.certificate },
      serverCertificate: a.certificate,
      protocol: 'tcp',
      port: TCP_SERVICE,
      address: knocker.ipv4,
    });
    const since = b.daemon.mark();
    await knocker.sendUdp(b.ns.ipv4, KNOCK_PORT, packet);
    const line = await b.daemon.waitForLog((l) => l['event'] === 'reject' || l['event'] === 'accept', 'a verdict on the replayed knock', { since, timeoutMs: 3000 });
    assert.equal(line['event'], 'reject');
    assert.equal(line['code'], 'decrypt-failed', 'encrypted to host1, host2 cannot open it');
  });
});
