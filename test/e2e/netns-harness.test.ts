/**
 * The harness itself. Firewall tests saw their first probes read 'timeout' instead of
 * 'refused' now and then. Two causes, both fixed here and pinned below:
 *
 * - A fresh topology was not ready when createTopology resolved: a bridge port stays
 *   `disabled` (and a device's queue inactive) until the kernel's link-state work runs, at
 *   most once a second for most devices. The first ARP request and neighbour solicitation
 *   were dropped, and retried only a second later. createTopology now waits for every link and
 *   bridge port.
 * - A stalled agent (a loaded machine) let its probe timer fire in the timers phase before the
 *   poll phase read the RST or ICMP error that had arrived meanwhile.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTopology, netnsSkipReason, type Namespace, type Topology } from '../support/netns.js';

const skip = await netnsSkipReason({ tools: ['nft'] });
const CLOSED_PORT = 9;
const DROPPED_PORT = 10;

describe('netns harness probes', { skip }, () => {
  let topo: Topology;
  let client: Namespace;
  before(async () => {
    topo = await createTopology({ clients: 1, prefix: 'harness' });
    client = topo.clients[0] as Namespace;
    const dropRules = `table inet t {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t\tth dport ${DROPPED_PORT} drop\n\t}\n}\n`;
    await topo.server.exec('nft', ['-f', '-'], { input: dropRules });
  });
  after(() => topo?.cleanup());

  for (const family of [4, 6] as const) {
    it(`IPv${family}: an agent stalled past the timeout still reports the RST / port unreachable that came meanwhile`, async () => {
      const host = family === 4 ? topo.server.ipv4 : topo.server.ipv6;
      assert.equal(await client.probeTcp(host, CLOSED_PORT, { timeoutMs: 300, stallMs: 700 }), 'refused');
      assert.equal(await client.probeUdp(host, CLOSED_PORT, { timeoutMs: 300, stallMs: 700 }), 'refused');
    });

    it(`IPv${family}: a dropped probe is still a timeout, stalled or not, and takes at least its window`, async () => {
      const host = family === 4 ? topo.server.ipv4 : topo.server.ipv6;
      const t = performance.now();
      assert.equal(await client.probeTcp(host, DROPPED_PORT, { timeoutMs: 300 }), 'timeout');
      assert.ok(performance.now() - t >= 290);
      assert.equal(await client.probeUdp(host, DROPPED_PORT, { timeoutMs: 300, stallMs: 500 }), 'timeout');
    });
  }
});

describe('netns harness topologies', { skip }, () => {
  it('every bridge port forwards and every link is up when createTopology resolves: a probe at once gets its answer', async () => {
    for (let round = 0; round < 3; round++) {
      const t = await createTopology({ clients: 3, prefix: 'harnessup', startAgents: false });
      try {
        const ports = JSON.parse((await t.server.exec('bridge', ['-j', 'link', 'show'])).stdout) as Array<{ ifname: string; state: string }>;
        assert.deepEqual(
          ports.map((p) => `${p.ifname} ${p.state}`),
          ['vc1 forwarding', 'vc2 forwarding', 'vc3 forwarding'],
          'a port that is not forwarding yet drops the first ARP request and neighbour solicitation',
        );
        const probes = t.clients.flatMap((c) => [c.probeTcp(t.server.ipv4, CLOSED_PORT, { timeoutMs: 400 }), c.probeTcp(t.server.ipv6, CLOSED_PORT, { timeoutMs: 400 })]);
        assert.deepEqual(await Promise.all(probes), Array(6).fill('refused'));
      } finally {
        await t.cleanup();
      }
    }
  });

  it('far hosts: the server routes between its clients and the hosts behind it, in both families', async () => {
    const t = await createTopology({ clients: 1, far: 1, prefix: 'harnessfar' });
    try {
      const [client, far] = [t.clients[0] as Namespace, t.far[0] as Namespace];
      const listener = await far.listenUdp(5353);
      for (const [to, from] of [
        [far.ipv4, client.ipv4],
        [far.ipv6, client.ipv6],
      ] as const) {
        await client.sendUdp(to, 5353, Buffer.from(`to ${to}`));
        const got = await listener.waitForMessage({ predicate: (m) => m.payload.toString() === `to ${to}` });
        assert.equal(got.address, from, 'forwarded with the client source address (no NAT)');
      }
      assert.equal(await far.probeTcp(client.ipv4, CLOSED_PORT, { timeoutMs: 400 }), 'refused', 'and back');
      assert.equal(await far.probeTcp(client.ipv6, CLOSED_PORT, { timeoutMs: 400 }), 'refused');
    } finally {
      await t.cleanup();
    }
  });
});
