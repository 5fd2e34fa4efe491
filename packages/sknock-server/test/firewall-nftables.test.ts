import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { isSknockFirewallError, type SknockFirewallError } from '../src/firewall/errors.js';
import { NftablesBackend, type NftablesBackendOptions } from '../src/firewall/nftables.js';
import {
  FAMILIES,
  KNOCK_PORT,
  MIN_KNOCK,
  OTHER_TCP_PORT,
  SERVICE_PORT,
  EMERGENCY_PORT,
  addressOf,
  firewallSuite,
  probeBoth,
  setupFor,
  sleep,
  tcpGrant,
  withBackend,
} from './support/firewall-suite.js';
import { netns, type Namespace } from './support/netns-harness.js';

const skip = await netns.netnsSkipReason({ tools: ['nft'] });
/** The admin's own table, which must come through every test untouched. */
const ADMIN_TABLE = 'table inet admin {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t\ttcp dport 7 accept\n\t}\n}\n';
const make = (ns: string): NftablesBackend => new NftablesBackend({ netns: ns });
const makeWith =
  (options: NftablesBackendOptions) =>
  (ns: string): NftablesBackend =>
    new NftablesBackend({ netns: ns, ...options });

/** The `nft` processes this test process started that are still there (the session's, when idle). */
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

/** `nft -t -a list ruleset` in the namespace: handles, no set elements (their timers run). */
async function terseRuleset(server: Namespace): Promise<string> {
  return (await server.exec('nft', ['-t', '-a', 'list', 'ruleset'])).stdout;
}

async function gone(pid: number, ms = 3000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!existsSync(`/proc/${pid}`)) return true;
    await sleep(20);
  }
  return false;
}

firewallSuite(
  {
    name: 'nftables',
    tools: ['nft'],
    make,
    className: 'NftablesBackend',
    knocksAnswerLikeClosedPorts: 'always',
    ruleText: (server) => server.nftRuleset(),
    stableText: terseRuleset,
    // The admin's own table must come through every test untouched.
    prepare: async (server) => {
      await server.exec('nft', ['-f', '-'], { input: ADMIN_TABLE });
    },
    extra: (ctx) => {
      it('setup removes a stale table of an earlier run, with its grants', async () => {
        const c = ctx();
        await c.server.exec('nft', ['-f', '-'], {
          input: [
            'table inet sknock {',
            '\tset ipv4_grants { type ipv4_addr . inet_proto . inet_service; flags timeout; elements = { ' + `${c.client1.ipv4} . tcp . ${SERVICE_PORT} timeout 1h` + ' } }',
            '\tchain input { type filter hook input priority filter - 1; policy accept; ip saddr . meta l4proto . th dport @ipv4_grants accept; tcp dport 1234 accept; }',
            '}',
            '',
          ].join('\n'),
        });
        await withBackend(c, make, setupFor('reject'), async () => {
          assert.deepEqual(await probeBoth(c, c.client1, SERVICE_PORT), ['refused', 'refused'], 'the stale grant is gone');
          const ruleset = await c.server.nftRuleset();
          assert.doesNotMatch(ruleset, /1234/, 'the stale rule is gone');
          assert.equal(ruleset.match(/table inet sknock/g)?.length, 1);
        });
      });

      it('grants expire in the kernel after the process that made them is SIGKILLed', async () => {
        const c = ctx();
        const moduleUrl = new URL('../src/firewall/index.js', import.meta.url).href;
        const script = `
          const [mod, ns, a4, a6, port] = process.argv.slice(1);
          const { NftablesBackend } = await import(mod);
          const b = new NftablesBackend({ netns: ns });
          await b.setup(${JSON.stringify(setupFor('reject'))});
          await Promise.all([b.open({ address: a4, family: 4, protocol: 'tcp', port: Number(port) }, 2),
                             b.open({ address: a6, family: 6, protocol: 'tcp', port: Number(port) }, 2)]);
          process.stdout.write('ready\\n');
          setInterval(() => {}, 60_000);
        `;
        const child = spawn(process.execPath, ['--input-type=module', '-e', script, moduleUrl, c.server.name, c.client1.ipv4, c.client1.ipv6, String(SERVICE_PORT)], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        try {
          const [chunk] = (await once(child.stdout, 'data', { signal: AbortSignal.timeout(15_000) })) as [Buffer];
          assert.equal(String(chunk).trim(), 'ready');
          const granted = performance.now();
          const before = await terseRuleset(c.server);
          await assert.rejects(new NftablesBackend({ netns: c.server.name }).setup({ ...setupFor('reject'), knockPort: KNOCK_PORT + 1 }), (err: unknown) =>
            isSknockFirewallError(err, 'ERR_SKNOCK_FIREWALL_IN_USE') && err.message.includes(`(pid ${child.pid}, knock port ${KNOCK_PORT})`),
          );
          assert.equal(await terseRuleset(c.server), before, 'a daemon in another process is not taken over while it runs');
          child.kill('SIGKILL');
          await once(child, 'exit');
          assert.deepEqual(await probeBoth(c, c.client1, SERVICE_PORT), ['open', 'open'], 'the grant outlives its process');
          await sleep(granted + 2000 + 400 - performance.now());
          assert.deepEqual(await probeBoth(c, c.client1, SERVICE_PORT), ['refused', 'refused'], 'the kernel closed the port');
          const ruleset = await c.server.nftRuleset();
          assert.match(ruleset, /table inet sknock/, 'nobody tore the table down: the kernel expired the elements');
          assert.doesNotMatch(ruleset, /elements =/);
        } finally {
          child.kill('SIGKILL');
        }
        // The next run's setup takes the dead process's table over; its teardown leaves the ruleset as it was.
        const next = new NftablesBackend({ netns: c.server.name });
        await next.setup(setupFor('reject'));
        await next.teardown();
        assert.equal(await c.server.rulesetSnapshot(), c.baseline);
      });

      it('check(): intact costs no process; after nft flush ruleset, a flushed chain or a deleted copy table, it rebuilds with every grant', async () => {
        const c = ctx();
        const dir = mkdtempSync(join(tmpdir(), 'sknock-nft-log-'));
        const wrapper = join(dir, 'nft-logged');
        const log = join(dir, 'calls.log');
        writeFileSync(wrapper, `#!/bin/sh\necho "$*" >> ${log}\nexec nft "$@"\n`);
        chmodSync(wrapper, 0o755);
        const calls = (): string[] => readFileSync(log, 'utf8').trim().split('\n');
        try {
          await withBackend(c, makeWith({ nftCommand: wrapper }), setupFor('reject', true), async (b) => {
            const backend = b as NftablesBackend;
            await Promise.all(FAMILIES.map((f) => backend.open(tcpGrant(c.client1, f), 30)));
            const spawned = calls().length;
            assert.deepEqual(await backend.check(), { intact: true });
            assert.equal(calls().length, spawned, 'an intact check runs through the nft -i session');

            await c.server.exec('nft', ['flush', 'ruleset']);
            await c.server.exec('nft', ['-f', '-'], { input: ADMIN_TABLE });
            assert.equal(await c.client2.probeTcp(c.server.ipv4, SERVICE_PORT), 'open', 'sabotaged: no policy left');
            const flushed = await backend.check();
            assert.equal(flushed.intact, false);
            assert.match(flushed.problem ?? '', /table inet sknock and table ip sknock and table ip6 sknock are missing/);
            assert.equal(flushed.grants, 2);
            assert.deepEqual(await probeBoth(c, c.client1, SERVICE_PORT), ['open', 'open'], 'the grants are back');
            assert.deepEqual(await probeBoth(c, c.client2, SERVICE_PORT), ['refused', 'refused'], 'the policy is back');
            for (const f of FAMILIES) {
              const marker = netns.knockShapedDatagram(MIN_KNOCK + 10);
              marker[200] = 40 + f;
              await c.client2.sendUdp(addressOf(c.server, f), 4444, marker);
              await c.knockListener.waitForMessage({ predicate: (m) => m.address === addressOf(c.client2, f) && m.payload[200] === 40 + f });
            }

            await c.server.exec('nft', ['flush', 'chain', 'inet', 'sknock', 'input']);
            const emptied = await backend.check();
            assert.equal(emptied.intact, false);
            assert.match(emptied.problem ?? '', /rules of table sknock were changed/);
            assert.equal(await c.client2.probeTcp(c.server.ipv6, SERVICE_PORT), 'refused');

            await c.server.exec('nft', ['delete', 'table', 'ip6', 'sknock']);
            assert.match((await backend.check()).problem ?? '', /^table ip6 sknock is missing$/);
            assert.deepEqual(await backend.check(), { intact: true });
            assert.deepEqual(await probeBoth(c, c.client1, SERVICE_PORT), ['open', 'open']);
          });
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });

      it('check() after another instance took the table over (after a flush): IN_USE, and neither check nor teardown touches its table', async () => {
        const c = ctx();
        const first = make(c.server.name);
        const second = make(c.server.name);
        try {
          await first.setup(setupFor('reject'));
          await first.open(tcpGrant(c.client1, 4), 30);
          await c.server.exec('nft', ['delete', 'table', 'inet', 'sknock']);
          await second.setup({ ...setupFor('drop'), knockPort: KNOCK_PORT + 1 });
          const theirs = await terseRuleset(c.server);
          await assert.rejects(first.check(), (err: unknown) => isSknockFirewallError(err, 'ERR_SKNOCK_FIREWALL_IN_USE') && /leaves that table alone/.test(err.message));
          await first.teardown();
          assert.equal(await terseRuleset(c.server), theirs);
          assert.equal(await c.client1.probeTcp(c.server.ipv4, SERVICE_PORT), 'timeout', "the second one's policy (drop) is in force");
        } finally {
          await first.teardown();
          await second.teardown();
        }
        assert.equal(await c.server.rulesetSnapshot(), c.baseline);
      });

      it('rebuilds its table with every live grant when someone deleted it', async () => {
        const c = ctx();
        await withBackend(c, make, setupFor('reject'), async (backend) => {
          await backend.open(tcpGrant(c.client1, 4), 30);
          await c.server.exec('nft', ['delete', 'table', 'inet', 'sknock']);
          assert.equal(await c.client2.probeTcp(c.server.ipv4, SERVICE_PORT), 'open', 'sabotaged: no firewall left');
          await backend.open(tcpGrant(c.client2, 6), 30);
          assert.equal(await c.client1.probeTcp(c.server.ipv4, SERVICE_PORT), 'open', 'the earlier grant is back');
          assert.equal(await c.client2.probeTcp(c.server.ipv6, SERVICE_PORT), 'open', 'the new grant is in force');
          assert.equal(await c.client2.probeTcp(c.server.ipv4, SERVICE_PORT), 'refused', 'the policy is back');
          assert.equal(await c.client1.probeTcp(c.server.ipv4, OTHER_TCP_PORT), 'refused');
          assert.equal((await backend.list()).length, 2);
        });
      });

      it('batches go through one nft -i process; killed from outside between batches or during one, grants still go in', async () => {
        const c = ctx();
        const errors: SknockFirewallError[] = [];
        await withBackend(c, makeWith({ onError: (e) => errors.push(e) }), setupFor('reject'), async (backend) => {
          assert.equal((backend as NftablesBackend).sessionActive, true);
          const [pid] = nftChildren();
          assert.ok(pid !== undefined, 'setup started the session');
          await backend.open(tcpGrant(c.client1, 4), 30);
          await backend.open(tcpGrant(c.client1, 6), 30);
          assert.deepEqual(nftChildren(), [pid], 'the same process applied both batches');

          process.kill(pid, 'SIGKILL');
          assert.ok(await gone(pid));
          await backend.open(tcpGrant(c.client2, 4), 30);
          assert.equal(await c.client2.probeTcp(c.server.ipv4, SERVICE_PORT), 'open', 'a new process took over');
          const [pid2] = nftChildren();
          assert.ok(pid2 !== undefined && pid2 !== pid);
          await sleep(50);
          assert.equal(errors.length, 1, 'onError heard that the session ended between batches');
          assert.match(errors[0]?.message ?? '', /SIGKILL/);

          // During a batch: nft stopped, the batch sent, then nft killed. The batch is rebuilt with nft -f -.
          process.kill(pid2, 'SIGSTOP');
          const pending = backend.open(tcpGrant(c.client2, 6), 30);
          await sleep(150);
          process.kill(pid2, 'SIGKILL');
          await pending;
          assert.deepEqual(await probeBoth(c, c.client2, SERVICE_PORT), ['open', 'open']);
          assert.deepEqual(await probeBoth(c, c.client1, SERVICE_PORT), ['open', 'open'], 'the rebuild kept the earlier grants');
          assert.equal((await backend.list()).length, 4);
          await backend.close(tcpGrant(c.client1, 4));
          assert.equal(await c.client1.probeTcp(c.server.ipv4, SERVICE_PORT), 'refused');
          assert.equal(nftChildren().length, 1);
        });
      });

      it('a hung nft -i: the batch times out, the process is killed, the grant goes in through a rebuild', async () => {
        const c = ctx();
        await withBackend(c, makeWith({ commandTimeoutMs: 500 }), setupFor('reject'), async (backend) => {
          const [pid] = nftChildren();
          assert.ok(pid !== undefined);
          process.kill(pid, 'SIGSTOP');
          const t = performance.now();
          await backend.open(tcpGrant(c.client1, 4), 30);
          const took = performance.now() - t;
          assert.ok(took >= 450 && took < 5000, `took ${took} ms`);
          assert.ok(await gone(pid), 'the hung process was killed');
          assert.equal(await c.client1.probeTcp(c.server.ipv4, SERVICE_PORT), 'open');
          const t2 = performance.now();
          await backend.open(tcpGrant(c.client1, 6), 30);
          assert.ok(performance.now() - t2 < 450, 'the next batch went through a fresh session');
          assert.equal(nftChildren().length, 1);
          assert.equal(await c.client1.probeTcp(c.server.ipv6, SERVICE_PORT), 'open');
        });
      });

      it('teardown ends the nft -i process', async () => {
        const c = ctx();
        const backend = make(c.server.name);
        await backend.setup(setupFor('reject'));
        let pids: number[] = [];
        try {
          await backend.open(tcpGrant(c.client1, 4), 30);
          pids = nftChildren();
          assert.equal(pids.length, 1);
        } finally {
          await backend.teardown();
        }
        for (const pid of pids) assert.ok(await gone(pid, 500), 'the session process has exited');
        assert.deepEqual(nftChildren(), []);
        assert.equal(await c.server.rulesetSnapshot(), c.baseline);
      });

      it('after nft flush ruleset: one rebuild with nft -f -, then the same nft -i session goes on', async () => {
        const c = ctx();
        const dir = mkdtempSync(join(tmpdir(), 'sknock-nft-log-'));
        const wrapper = join(dir, 'nft-logged');
        const log = join(dir, 'calls.log');
        writeFileSync(wrapper, `#!/bin/sh\necho "$*" >> ${log}\nexec nft "$@"\n`);
        chmodSync(wrapper, 0o755);
        const calls = (): string[] => readFileSync(log, 'utf8').trim().split('\n');
        try {
          await withBackend(c, makeWith({ nftCommand: wrapper }), setupFor('reject'), async (backend) => {
            await backend.open(tcpGrant(c.client1, 4), 30);
            const setupCalls = ['-t -a list ruleset', '-f -', '-t -a -i'];
            assert.deepEqual(calls(), setupCalls, 'setup (who owns the table, then the table), then the session for the grant and the listings');
            const [pid] = nftChildren();
            await c.server.exec('nft', ['flush', 'ruleset']);
            await c.server.exec('nft', ['-f', '-'], { input: ADMIN_TABLE }); // the admin puts their own table back
            await backend.open(tcpGrant(c.client1, 6), 30);
            const rebuilt = [...setupCalls, '-t -a list ruleset', '-f -'];
            assert.deepEqual(calls(), rebuilt, 'the failed batch was rebuilt once');
            assert.deepEqual(await probeBoth(c, c.client1, SERVICE_PORT), ['open', 'open']);
            assert.equal(await c.client2.probeTcp(c.server.ipv4, SERVICE_PORT), 'refused', 'the policy is back');
            await backend.open(tcpGrant(c.client2, 4), 30);
            await backend.open(tcpGrant(c.client2, 6), 30);
            assert.deepEqual(calls(), rebuilt, 'later batches go through the session again');
            assert.deepEqual(nftChildren(), [pid]);
            assert.deepEqual(await probeBoth(c, c.client2, SERVICE_PORT), ['open', 'open']);
          });
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });

      it('an nft without interactive mode: onError is told, and batches run as nft -f -', async () => {
        const c = ctx();
        const dir = mkdtempSync(join(tmpdir(), 'sknock-nft-no-cli-'));
        const wrapper = join(dir, 'nft-no-cli');
        writeFileSync(wrapper, '#!/bin/sh\ncase " $* " in *" -i "*) echo "Error: interactive CLI not supported in this build" >&2; exit 1;; esac\nexec nft "$@"\n');
        chmodSync(wrapper, 0o755);
        const errors: SknockFirewallError[] = [];
        try {
          await withBackend(c, makeWith({ nftCommand: wrapper, onError: (e) => errors.push(e) }), setupFor('reject'), async (backend) => {
            assert.equal((backend as NftablesBackend).sessionActive, false);
            assert.equal(errors.length, 1);
            assert.match(errors[0]?.message ?? '', /could not start, using nft -f - per batch: .*interactive CLI not supported/);
            await backend.open(tcpGrant(c.client1, 4), 30);
            assert.equal(await c.client1.probeTcp(c.server.ipv4, SERVICE_PORT), 'open');
          });
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });

      it('with session: false each batch is its own nft -f -, with the same behaviour', async () => {
        const c = ctx();
        await withBackend(c, makeWith({ session: false }), setupFor('reject'), async (backend) => {
          assert.equal((backend as NftablesBackend).sessionActive, false);
          assert.deepEqual(nftChildren(), [], 'no long-lived process');
          await Promise.all(FAMILIES.map((f) => backend.open(tcpGrant(c.client1, f), 30)));
          assert.deepEqual(await probeBoth(c, c.client1, SERVICE_PORT), ['open', 'open']);
          const expiry = async (): Promise<number> => (await backend.list()).find((g) => g.family === 4)?.expiresAt ?? 0;
          const first = await expiry();
          await sleep(20);
          await backend.open(tcpGrant(c.client1, 4), 30);
          assert.ok((await expiry()) > first, 're-open extends');
          assert.equal((await backend.list()).length, 2);
          await c.server.exec('nft', ['delete', 'table', 'inet', 'sknock']);
          await backend.open(tcpGrant(c.client2, 4), 30);
          assert.equal(await c.client1.probeTcp(c.server.ipv6, SERVICE_PORT), 'open', 'rebuilt with the earlier grants');
          assert.equal(await c.client2.probeTcp(c.server.ipv6, SERVICE_PORT), 'refused', 'and the policy');
          await backend.close(tcpGrant(c.client1, 6));
          assert.equal(await c.client1.probeTcp(c.server.ipv6, SERVICE_PORT), 'refused');
          assert.deepEqual(nftChildren(), []);
        });
      });

      it('the generated table matches the documented layout', async () => {
        const c = ctx();
        await withBackend(c, make, setupFor('drop', true), async () => {
          const text = await c.server.nftRuleset();
          assert.match(text, /type filter hook input priority filter - 1; policy accept;/);
          assert.match(text, new RegExp(`tcp dport ${EMERGENCY_PORT} accept`));
          const shape = `udp length >= ${MIN_KNOCK + 8} @th,64,32 0x61010000`;
          assert.match(text, /comment "sknock-server pid=\d+ start=\d+ pidns=\d+ id=[0-9a-f]{16} port=62201"/);
          assert.match(text, new RegExp(`table ip sknock \\{\n\tchain knock_copy \\{\n\t\ttype filter hook input priority filter - 2; policy accept;\n\t\tiif != "lo" fib daddr type local ${shape} dup to 127\\.0\\.0\\.1 device "lo"`));
          assert.match(text, new RegExp(`table ip6 sknock \\{\n\tchain knock_copy \\{\n\t\ttype filter hook input priority filter - 2; policy accept;\n\t\tiif != "lo" fib daddr type local ${shape} dup to ::1 device "lo"`));
          assert.match(text, new RegExp(`iif "lo" fib saddr type != local udp dport != ${KNOCK_PORT} ${shape} udp dport set ${KNOCK_PORT}`));
          assert.doesNotMatch(text, /redirect|nat/);
          assert.match(text, /flags timeout/);
          for (const f of FAMILIES) assert.ok(addressOf(c.server, f));
        });
      });
    },
  },
  skip,
);
