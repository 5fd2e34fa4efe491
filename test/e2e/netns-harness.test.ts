/**
 * The harness's probes tell a refused port from a dropped one even when the agent that
 * probes is stalled (a loaded machine): an answer that arrived while the agent could not run
 * is not reported as a timeout. (Seen before: firewall tests whose first probes got
 * 'timeout' instead of 'refused' while apt or builds loaded the machine.)
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
