/**
 * Issue #5 "done when": an original sKnock client's knock, sent to a random UDP port with the
 * sKnock 1.0 development credentials (`../shared/interop/sknock-1.0/` beside the repository:
 * devclient.pfx, devserver.pfx, devserver.cer, password `portknocking`), opens TCP 2000 for
 * that client on our server loading the legacy devserver.pfx from an original-style
 * config.ini, under nftables and under iptables, over IPv4 and IPv6.
 *
 * The original Python client is not here; it is emulated by the independent openssl-based
 * implementation (support/original-client.ts). The reference files are read where they are,
 * never copied. When the folder is absent the test is skipped with a message saying so.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTopology, netnsSkipReason, type Namespace, type Topology } from '../support/netns.js';
import { randomKnockPort } from './support/client.js';
import { Daemon } from './support/daemon.js';
import { grantEntryCount, type BackendName } from './support/firewall-state.js';
import { originalKnockDatagram, readOriginalCredentials, type OriginalClientCredentials } from './support/original-client.js';
import { INTEROP_DIR } from './support/repo.js';
import { addressOf, bothFamilies, type Family } from './support/topology-helpers.js';
import { waitUntil } from './support/wait.js';

const PASSWORD = 'portknocking';
const FILES = ['devclient.pfx', 'devserver.pfx', 'devserver.cer'];
const missing = FILES.filter((f) => !existsSync(join(INTEROP_DIR, f)));
const interopSkip = missing.length > 0 ? `sKnock 1.0 reference credentials not found (${missing.join(', ')} in ${INTEROP_DIR}): reference data outside the repository` : false;

/** The dev client certificate grants 1.2000,1.3000,0.8000. */
const GRANTED_TCP = 2000;
const NOT_GRANTED_TCP = 2002;

/** A config.ini as the original sKnock wrote it: upper-case keys in [DEFAULT], serverPFXFile, PFXPasswd, firewallPolicy. */
function originalConfig(backend: BackendName): string {
  return [
    '[DEFAULT]',
    'KNOCKPACKET_MIN_LENGTH = 800',
    'PORT_OPEN_DURATION_IN_SECONDS = 15',
    'TIMESTAMP_THRESHOLD_IN_SECONDS = 7',
    'CRL_UPDATE_INTERVAL_IN_MINUTES = 30',
    'SIGNATURE_SIZE = 72',
    'RECV_BUFFER = 1600',
    `serverPFXFile = ${join(INTEROP_DIR, 'devserver.pfx')}`,
    `PFXPasswd = ${PASSWORD}`,
    'firewallPolicy = reject',
    // The one key of this project's own: which firewall (nftables is the default).
    ...(backend === 'iptables' ? ['firewallBackend = iptables'] : []),
    '',
  ].join('\n');
}

const TOOLS: Record<BackendName, string[]> = {
  nftables: ['nft'],
  iptables: ['iptables', 'ip6tables', 'iptables-save', 'ip6tables-save', 'iptables-restore', 'ip6tables-restore'],
};

const skips: Record<BackendName, string | false> = {
  nftables: interopSkip || (await netnsSkipReason({ tools: TOOLS.nftables })),
  iptables: interopSkip || (await netnsSkipReason({ tools: TOOLS.iptables })),
};

describe('an original sKnock 1.0 client (emulated with openssl) knocks on sknock-server', { skip: interopSkip }, () => {
  let dir: string;
  let topo: Topology;
  let credentials: OriginalClientCredentials;
  let baseline: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sknock-e2e-original-'));
    credentials = readOriginalCredentials(join(INTEROP_DIR, 'devclient.pfx'), PASSWORD, join(INTEROP_DIR, 'devserver.cer'));
    if (skips.nftables === false || skips.iptables === false) {
      topo = await createTopology({ clients: 2, prefix: 'e2eorig' });
      await topo.server.listenTcp(GRANTED_TCP);
      await topo.server.listenTcp(NOT_GRANTED_TCP);
      baseline = await topo.server.rulesetSnapshot();
    }
  });

  after(async () => {
    await topo?.cleanup();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  for (const backend of ['nftables', 'iptables'] as const) {
    describe(`under ${backend}`, { skip: skips[backend] }, () => {
      let daemon: Daemon;
      let server: Namespace;
      let client1: Namespace;
      let client2: Namespace;

      before(async () => {
        server = topo.server;
        [client1, client2] = topo.clients as [Namespace, Namespace];
        const config = join(dir, `config-${backend}.ini`);
        await writeFile(config, originalConfig(backend));
        daemon = await Daemon.start(server, config);
      });

      after(async () => {
        if (daemon?.running) await daemon.stop('SIGKILL', 3000).catch(() => undefined);
      });

      it('opens TCP 2000 for the knocking client only (a knock to a random UDP port 10000-60000, from the legacy devclient.pfx)', async () => {
        await bothFamilies(async (family: Family) => {
          const me = addressOf(client1, family);
          const datagram = originalKnockDatagram(credentials, GRANTED_TCP, me);
          assert.equal(datagram.length, 869, 'the 869-byte knock of PROTOCOL.md "Sizes"');
          const since = daemon.mark();
          await client1.sendUdp(addressOf(server, family), randomKnockPort(), datagram);
          const { line } = await daemon.waitForAccept(me, GRANTED_TCP, { since });
          assert.match(String(line['subject']), /CN=sKnock Test Client/);
          const srv = addressOf(server, family);
          await waitUntil(`tcp/${GRANTED_TCP} to open for client1 over IPv${family}`, async () => (await client1.probeTcp(srv, GRANTED_TCP)) === 'open', { timeoutMs: 3000 });
          assert.equal(await client2.probeTcp(srv, GRANTED_TCP), 'refused', 'client2 stays blocked');
          assert.equal(await client1.probeTcp(srv, NOT_GRANTED_TCP), 'refused', 'only the knocked port opens');
          assert.equal(await grantEntryCount(server, backend, { address: me, protocol: 'tcp', port: GRANTED_TCP }), 1);
        });
      });

      it('a knock for a port the dev certificate does not grant opens nothing', async () => {
        const me = client2.ipv4;
        const since = daemon.mark();
        await client2.sendUdp(server.ipv4, randomKnockPort(), originalKnockDatagram(credentials, NOT_GRANTED_TCP, me));
        await daemon.waitForReject('not-granted', me, { since });
        assert.equal(await client2.probeTcp(server.ipv4, NOT_GRANTED_TCP), 'refused');
      });

      it('SIGTERM: exit 0, the ruleset as before start', async () => {
        assert.equal(await daemon.stop('SIGTERM'), 0);
        assert.equal(await server.rulesetSnapshot(), baseline);
      });
    });
  }
});
