import assert from 'node:assert/strict';
import { it } from 'node:test';
import { IptablesBackend } from '../src/firewall/iptables.js';
import {
  FAMILIES,
  KNOCK_PORT,
  MIN_KNOCK,
  OTHER_TCP_PORT,
  SERVICE_PORT,
  addressOf,
  checkOf,
  firewallSuite,
  markedKnock,
  probeBoth,
  setupFor,
  tcpGrant,
  withBackend,
  type FirewallSuiteSpec,
} from './support/firewall-suite.js';
import { netns, type Namespace } from './support/netns-harness.js';

const TOOLS = ['iptables-restore', 'iptables-save', 'ip6tables-restore', 'ip6tables-save'];
const skip = await netns.netnsSkipReason({ tools: TOOLS });

/** "The admin's" rules: a filter rule, a user chain, a nat rule, in both families. */
function adminRules(family: 4 | 6): string {
  return [
    '*filter',
    ':ADMIN - [0:0]',
    '-A INPUT -p tcp -m tcp --dport 7 -j ACCEPT',
    '-A INPUT -j ADMIN',
    `-A ADMIN -s ${family === 4 ? '192.0.2.1/32' : '2001:db8::1/128'} -j DROP`,
    'COMMIT',
    '*nat',
    '-A PREROUTING -p tcp -m tcp --dport 7777 -j REDIRECT --to-ports 7',
    'COMMIT',
    '',
  ].join('\n');
}

async function installAdminRules(server: Namespace): Promise<void> {
  await server.exec('iptables-restore', ['--noflush'], { input: adminRules(4) });
  await server.exec('ip6tables-restore', ['--noflush'], { input: adminRules(6) });
}

const spec: FirewallSuiteSpec = {
  name: 'iptables',
  tools: TOOLS,
  make: (ns) => new IptablesBackend({ netns: ns }),
  className: 'IptablesBackend',
  knocksAnswerLikeClosedPorts: 'without anyPortKnocks',
  stableText: (server) => server.rulesetSnapshot(),
  prepare: installAdminRules,
  ruleText: async (server) => (await server.exec('iptables-save')).stdout + (await server.exec('ip6tables-save')).stdout,
  extra: (ctx) => {
    it('puts its jump first in INPUT, before the admin rules, in both families', async () => {
      const c = ctx();
      await withBackend(c, spec.make, setupFor('reject', true), async () => {
        for (const tool of ['iptables-save', 'ip6tables-save']) {
          const text = (await c.server.exec(tool)).stdout;
          const input = text.split('\n').filter((l) => l.startsWith('-A INPUT '));
          assert.equal(input[0], '-A INPUT -j SKNOCK', `${tool}: our jump is the first INPUT rule`);
          assert.equal(input.filter((l) => l === '-A INPUT -j SKNOCK').length, 1);
          assert.ok(input.includes('-A INPUT -j ADMIN'), 'the admin rules are still there');
          assert.match(text, /-A PREROUTING -j SKNOCK-KNOCK/);
        }
      });
    });

    it('policy none: grants get through an admin REJECT further down INPUT', async () => {
      const c = ctx();
      const rule = ['-p', 'tcp', '-m', 'tcp', '--dport', String(SERVICE_PORT), '-j', 'REJECT', '--reject-with', 'tcp-reset'];
      await c.server.exec('iptables', ['-A', 'INPUT', ...rule]);
      await c.server.exec('ip6tables', ['-A', 'INPUT', ...rule]);
      const backend = new IptablesBackend({ netns: c.server.name });
      try {
        await backend.setup(setupFor('none'));
        assert.deepEqual(await probeBoth(c, c.client1, SERVICE_PORT), ['refused', 'refused']);
        await Promise.all(FAMILIES.map((f) => backend.open(tcpGrant(c.client1, f), 30)));
        assert.deepEqual(await probeBoth(c, c.client1, SERVICE_PORT), ['open', 'open']);
        assert.deepEqual(await probeBoth(c, c.client2, SERVICE_PORT), ['refused', 'refused']);
      } finally {
        await backend.teardown();
        await c.server.exec('iptables', ['-D', 'INPUT', ...rule]);
        await c.server.exec('ip6tables', ['-D', 'INPUT', ...rule]);
      }
      assert.equal(await c.server.rulesetSnapshot(), c.baseline);
    });

    it('setup removes the chains, jumps and grants an earlier run left', async () => {
      const c = ctx();
      for (const family of FAMILIES) {
        const stale = [
          '*filter',
          ':SKNOCK - [0:0]',
          ':SKNOCK-GRANTS - [0:0]',
          '-I INPUT 1 -j SKNOCK',
          '-I INPUT 1 -j SKNOCK',
          '-A SKNOCK -j SKNOCK-GRANTS',
          `-A SKNOCK-GRANTS -s ${addressOf(c.client2, family)} -p tcp -m tcp --dport ${SERVICE_PORT} -j ACCEPT`,
          'COMMIT',
          '*nat',
          ':SKNOCK-KNOCK - [0:0]',
          '-I PREROUTING 1 -j SKNOCK-KNOCK',
          'COMMIT',
          '',
        ].join('\n');
        await c.server.exec(family === 4 ? 'iptables-restore' : 'ip6tables-restore', ['--noflush'], { input: stale });
      }
      await withBackend(c, spec.make, setupFor('reject'), async () => {
        assert.deepEqual(await probeBoth(c, c.client2, SERVICE_PORT), ['refused', 'refused'], 'the stale grant is gone');
        for (const tool of ['iptables-save', 'ip6tables-save']) {
          const text = (await c.server.exec(tool)).stdout;
          assert.equal(text.split('\n').filter((l) => l === '-A INPUT -j SKNOCK').length, 1, `${tool}: one jump`);
          assert.doesNotMatch(text, /SKNOCK-KNOCK/, `${tool}: stale knock chain removed (anyPortKnocks is off)`);
          assert.doesNotMatch(text, new RegExp(`-A SKNOCK-GRANTS`), `${tool}: no grant rules`);
        }
      });
    });

    it('rebuilds its chains with every live grant when someone flushed them', async () => {
      const c = ctx();
      await withBackend(c, spec.make, setupFor('reject'), async (backend) => {
        await backend.open(tcpGrant(c.client1, 4), 30);
        // The admin reloads the filter table from a file that knows nothing of us.
        await c.server.exec('iptables-restore', [], { input: adminRules(4).split('*nat')[0] as string });
        assert.equal(await c.client2.probeTcp(c.server.ipv4, SERVICE_PORT), 'open', 'sabotaged: no policy left');
        await backend.open(tcpGrant(c.client2, 4), 30);
        assert.equal(await c.client1.probeTcp(c.server.ipv4, SERVICE_PORT), 'open', 'the earlier grant is back');
        assert.equal(await c.client2.probeTcp(c.server.ipv4, SERVICE_PORT), 'open', 'the new grant is in force');
        assert.equal(await c.client1.probeTcp(c.server.ipv4, OTHER_TCP_PORT), 'refused', 'the policy is back');
        assert.equal((await backend.list()).length, 2);
      });
    });

    for (const anyPortKnocks of [false, true]) {
      it(`check()${anyPortKnocks ? ' (anyPortKnocks)' : ''}: intact as set up; after iptables -F and -X of every table in both families, it rebuilds the chains, the jumps and every grant`, async () => {
        const c = ctx();
        const backend = spec.make(c.server.name);
        try {
          await backend.setup(setupFor('reject', anyPortKnocks));
          await Promise.all(FAMILIES.map((f) => backend.open(tcpGrant(c.client1, f), 30)));
          assert.deepEqual(await checkOf(backend), { intact: true });
          for (const tool of ['iptables', 'ip6tables']) {
            for (const table of ['filter', 'nat', 'mangle']) {
              await c.server.exec(tool, ['-t', table, '-F']);
              await c.server.exec(tool, ['-t', table, '-X']);
            }
          }
          assert.deepEqual(await probeBoth(c, c.client2, SERVICE_PORT), ['open', 'open'], 'sabotaged: no policy left');
          const repaired = await checkOf(backend);
          assert.equal(repaired.intact, false);
          assert.match(repaired.problem ?? '', /^iptables: chain SKNOCK or SKNOCK-GRANTS is missing; ip6tables: chain SKNOCK or SKNOCK-GRANTS is missing$/);
          assert.equal(repaired.grants, 2);
          assert.deepEqual(await probeBoth(c, c.client1, SERVICE_PORT), ['open', 'open'], 'the grants are back');
          assert.deepEqual(await probeBoth(c, c.client2, SERVICE_PORT), ['refused', 'refused'], 'the policy is back');
          for (const f of FAMILIES) {
            const knock = markedKnock(MIN_KNOCK + 10, Math.floor(Math.random() * 2 ** 31), f);
            await c.client2.sendUdp(addressOf(c.server, f), anyPortKnocks ? 4444 : KNOCK_PORT, knock);
            await c.knockListener.waitForMessage({ predicate: (m) => m.payload.equals(Buffer.from(knock)) && m.address === addressOf(c.client2, f) });
          }
          await c.server.exec('iptables', ['-D', 'INPUT', '1']);
          assert.match((await checkOf(backend)).problem ?? '', /^iptables: the jump to SKNOCK is not the first rule of INPUT$/);
          await c.server.exec('ip6tables', ['-t', anyPortKnocks ? 'nat' : 'mangle', '-F', anyPortKnocks ? 'SKNOCK-KNOCK' : 'SKNOCK-COPY']);
          assert.match((await checkOf(backend)).problem ?? '', anyPortKnocks ? /^ip6tables: the rules of chain SKNOCK-KNOCK were changed$/ : /^ip6tables: the rules of chain SKNOCK-COPY were changed$/);
          await c.server.exec('iptables', ['-D', 'SKNOCK-GRANTS', '1']);
          assert.match((await checkOf(backend)).problem ?? '', /^iptables: the grant rules in SKNOCK-GRANTS were changed$/);
          assert.deepEqual(await checkOf(backend), { intact: true });
          assert.deepEqual(await probeBoth(c, c.client1, SERVICE_PORT), ['open', 'open']);
        } finally {
          await backend.teardown();
          // The admin's own rules went with the flush: put them back as they were made at the start.
          for (const table of ['ip filter', 'ip nat', 'ip mangle', 'ip6 filter', 'ip6 nat', 'ip6 mangle']) {
            await c.server.exec('nft', ['delete', 'table', ...table.split(' ')], { allowFailure: true });
          }
          await installAdminRules(c.server);
        }
        assert.equal(await c.server.rulesetSnapshot(), c.baseline);
      });
    }

    it('a setup that fails for one family takes the other family\'s chains out again (no chain left marked by an instance that never came up)', async () => {
      const c = ctx();
      const backend = new IptablesBackend({ netns: c.server.name, commands: { ip6tablesRestore: 'false' } });
      await assert.rejects(backend.setup(setupFor('reject')), (err: unknown) => (err as { code?: string }).code === 'ERR_SKNOCK_FIREWALL_COMMAND');
      assert.equal(await c.server.rulesetSnapshot(), c.baseline);
    });

    it('on a host without iptables tables, teardown also removes the tables setup made', async () => {
      const c = ctx();
      await c.server.exec('nft', ['flush', 'ruleset']);
      try {
        assert.equal(await c.server.nftRuleset(), '');
        const backend = new IptablesBackend({ netns: c.server.name });
        await backend.setup(setupFor('drop', true));
        await backend.open(tcpGrant(c.client1, 6), 30);
        assert.match(await c.server.nftRuleset(), /table ip6 filter/);
        await backend.teardown();
        assert.equal(await c.server.nftRuleset(), '');
      } finally {
        await installAdminRules(c.server);
      }
      assert.equal(await c.server.rulesetSnapshot(), c.baseline);
    });

    it('an expired grant is removed by the back end (iptables has no timeouts)', async () => {
      const c = ctx();
      await withBackend(c, spec.make, setupFor('reject'), async (backend) => {
        await backend.open(tcpGrant(c.client1, 4), 0.5);
        assert.equal(await c.client1.probeTcp(c.server.ipv4, SERVICE_PORT), 'open');
        await new Promise((resolve) => setTimeout(resolve, 900));
        assert.equal(await c.client1.probeTcp(c.server.ipv4, SERVICE_PORT), 'refused');
        assert.doesNotMatch((await c.server.exec('iptables-save')).stdout, /-A SKNOCK-GRANTS/);
      });
    });
  },
};

firewallSuite(spec, skip);
