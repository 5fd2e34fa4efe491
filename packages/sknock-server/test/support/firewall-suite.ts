/**
 * The behaviour every kernel firewall back end must show, checked against the real thing:
 * a server namespace with the back end, two client namespaces, a host behind the server
 * (which forwards: a gateway), TCP and UDP listeners, and probes from the clients over IPv4
 * and IPv6. Used by firewall-nftables.test.ts and firewall-iptables.test.ts, which add what
 * is particular to each back end.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import type { FirewallBackend, FirewallCheckResult, FirewallPolicy, FirewallSetup, Grant } from '../../src/firewall/backend.js';
import { isSknockFirewallError } from '../../src/firewall/errors.js';
import { netns, type Namespace, type Topology, type UdpListener } from './netns-harness.js';

export const SERVICE_PORT = 8080;
export const OTHER_TCP_PORT = 8081;
export const EMERGENCY_PORT = 2222;
export const KNOCK_PORT = 62201;
export const CLOSED_UDP_PORT = 9999;
/** A UDP service on the host behind the server. */
export const FAR_UDP_PORT = 5353;
export const MIN_KNOCK = 700;
export const FAMILIES = [4, 6] as const;

export type Family = 4 | 6;

export interface SuiteContext {
  readonly topology: Topology;
  readonly server: Namespace;
  readonly client1: Namespace;
  readonly client2: Namespace;
  /** A host behind the server, which routes between it and the clients. */
  readonly far: Namespace;
  readonly knockListener: UdpListener;
  /** The UDP service on `far`. */
  readonly farListener: UdpListener;
  /** What the server namespace's firewall looked like before any test ran. */
  readonly baseline: string;
}

export interface FirewallSuiteSpec {
  readonly name: string;
  readonly make: (netnsName: string) => FirewallBackend;
  /** Tools the back end needs (`nft`, `iptables-restore`, …). */
  readonly tools: readonly string[];
  /** Puts some unrelated firewall state of "the admin's" in place before the tests (it must survive them). */
  readonly prepare?: (server: Namespace) => Promise<void>;
  /** The back end's own view of the firewall, where each grant appears once (`nft list ruleset`, `iptables-save`…). */
  readonly ruleText: (server: Namespace) => Promise<string>;
  /** The back end's rules in a form that does not change by itself (no element timers, no counters). */
  readonly stableText: (server: Namespace) => Promise<string>;
  /** The back end's class as `src/firewall/index.ts` exports it, for a back end in another process. */
  readonly className: 'NftablesBackend' | 'IptablesBackend';
  /**
   * Whether under policy `reject` a knock-shaped datagram gets ICMP port unreachable like any
   * closed port while the daemon still reads it: `always`, or only `without anyPortKnocks`
   * (with it, knock-shaped datagrams are redirected and absorbed on every port).
   */
  readonly knocksAnswerLikeClosedPorts: 'always' | 'without anyPortKnocks';
  /** Further tests for this back end. */
  readonly extra?: (ctx: () => SuiteContext) => void;
}

export function addressOf(ns: Namespace, family: Family): string {
  return family === 4 ? ns.ipv4 : ns.ipv6;
}

export function tcpGrant(ns: Namespace, family: Family, port = SERVICE_PORT): Grant {
  return { address: addressOf(ns, family), family, protocol: 'tcp', port };
}

export function setupFor(policy: FirewallPolicy, anyPortKnocks = false): FirewallSetup {
  return {
    policy,
    emergencyAccessPorts: [{ protocol: 'tcp', port: EMERGENCY_PORT }],
    knockPort: KNOCK_PORT,
    anyPortKnocks,
    minKnockDatagramLength: MIN_KNOCK,
  };
}

/** `fd00:5eed::2` → `fd00:5eed:0:0:0:0:0:2`. */
export function expandIpv6(address: string): string {
  const [left = '', right = ''] = address.split('::');
  const l = left === '' ? [] : left.split(':');
  const r = right === '' ? [] : right.split(':');
  return [...l, ...Array(8 - l.length - r.length).fill('0'), ...r].join(':');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** A knock-shaped datagram of `length` bytes that carries `tag` and `n` (to find it again). */
export function markedKnock(length: number, tag: number, n: number): Uint8Array {
  const d = netns.knockShapedDatagram(length);
  new DataView(d.buffer).setUint32(100, tag);
  d[104] = n;
  return d;
}

/** `backend.check()`, which every kernel back end has. */
export function checkOf(backend: FirewallBackend): Promise<FirewallCheckResult> {
  assert.ok(backend.check, `${backend.name} has check()`);
  return backend.check();
}

/** The answer a closed port gives under each policy. */
export function closedAnswer(policy: 'reject' | 'drop'): 'refused' | 'timeout' {
  return policy === 'reject' ? 'refused' : 'timeout';
}

/** Probes TCP `port` on the server from `from` over both families: [IPv4 result, IPv6 result]. */
export async function probeBoth(ctx: SuiteContext, from: Namespace, port: number, timeoutMs = 400): Promise<string[]> {
  return Promise.all(FAMILIES.map((f) => from.probeTcp(addressOf(ctx.server, f), port, { timeoutMs })));
}

/**
 * Runs `fn` with a fresh back end set up with `setup`; always tears it down, and then checks
 * that the server's firewall is exactly as it was before the suite.
 */
export async function withBackend(
  ctx: SuiteContext,
  make: (netnsName: string) => FirewallBackend,
  setup: FirewallSetup,
  fn: (backend: FirewallBackend) => Promise<void>,
): Promise<void> {
  const backend = make(ctx.server.name);
  try {
    await backend.setup(setup);
    await fn(backend);
  } finally {
    await backend.teardown();
  }
  assert.equal(await ctx.server.rulesetSnapshot(), ctx.baseline, 'teardown must leave the ruleset exactly as before setup');
}

export function firewallSuite(spec: FirewallSuiteSpec, skip: string | false): void {
  describe(`${spec.name} back end in network namespaces`, { skip }, () => {
    let context: SuiteContext | undefined;
    const ctx = (): SuiteContext => {
      assert.ok(context, 'suite context not ready');
      return context;
    };

    before(async () => {
      const topology = await netns.createTopology({ clients: 2, far: 1, prefix: 'skfw' });
      try {
        const server = topology.server;
        await server.listenTcp(SERVICE_PORT);
        await server.listenTcp(EMERGENCY_PORT);
        const knockListener = await server.listenUdp(KNOCK_PORT);
        const far = topology.far[0] as Namespace;
        const farListener = await far.listenUdp(FAR_UDP_PORT);
        await spec.prepare?.(server);
        const baseline = await server.rulesetSnapshot();
        context = {
          topology,
          server,
          client1: topology.clients[0] as Namespace,
          client2: topology.clients[1] as Namespace,
          far,
          knockListener,
          farListener,
          baseline,
        };
      } catch (err) {
        await topology.cleanup();
        throw err;
      }
    });

    after(async () => {
      await context?.topology.cleanup();
    });

    it('policy reject: refused before the grant, open for that source only, re-open extends, then closed again', async () => {
      const c = ctx();
      await withBackend(c, spec.make, setupFor('reject'), async (backend) => {
        // 'refused' means an answer (RST) came within the probe's 400 ms; drop gives 'timeout'.
        assert.deepEqual(await probeBoth(c, c.client1, SERVICE_PORT), ['refused', 'refused']);
        assert.deepEqual(await probeBoth(c, c.client1, EMERGENCY_PORT), ['open', 'open'], 'the emergency port stays reachable');

        await Promise.all(FAMILIES.map((f) => backend.open(tcpGrant(c.client1, f), 2)));
        const opened = performance.now();
        assert.deepEqual(await probeBoth(c, c.client1, SERVICE_PORT), ['open', 'open'], 'granted source reaches the port');
        assert.deepEqual(await probeBoth(c, c.client2, SERVICE_PORT), ['refused', 'refused'], 'another source is still refused');
        assert.deepEqual(await probeBoth(c, c.client1, OTHER_TCP_PORT), ['refused', 'refused'], 'another port is still refused');
        assert.deepEqual(await probeBoth(c, c.client2, EMERGENCY_PORT), ['open', 'open']);
        const listed = await backend.list();
        assert.deepEqual(listed.map((g) => `${g.address} ${g.protocol}/${g.port}`).sort(), [
          `${c.client1.ipv4} tcp/${SERVICE_PORT}`,
          `${c.client1.ipv6} tcp/${SERVICE_PORT}`,
        ].sort());

        // Re-open after 1 s for 2 s: the grant now ends ~3 s after the first open, not 2 s.
        await sleep(opened + 1000 - performance.now());
        await Promise.all(FAMILIES.map((f) => backend.open(tcpGrant(c.client1, f), 2)));
        const reopened = performance.now();
        await sleep(opened + 2500 - performance.now());
        assert.deepEqual(await probeBoth(c, c.client1, SERVICE_PORT), ['open', 'open'], 're-open extended the grant past its first end');

        await sleep(reopened + 2000 + 400 - performance.now());
        assert.deepEqual(await probeBoth(c, c.client1, SERVICE_PORT), ['refused', 'refused'], 'the grant closed when its time was up');
        assert.deepEqual(await backend.list(), []);
      });
    });

    it('policy drop: unanswered before the grant, open after it, unanswered again after close()', async () => {
      const c = ctx();
      await withBackend(c, spec.make, setupFor('drop'), async (backend) => {
        assert.deepEqual(await probeBoth(c, c.client1, SERVICE_PORT), ['timeout', 'timeout']);
        assert.deepEqual(await probeBoth(c, c.client1, EMERGENCY_PORT), ['open', 'open']);
        await Promise.all(FAMILIES.map((f) => backend.open(tcpGrant(c.client1, f), 60)));
        assert.deepEqual(await probeBoth(c, c.client1, SERVICE_PORT), ['open', 'open']);
        assert.deepEqual(await probeBoth(c, c.client2, SERVICE_PORT), ['timeout', 'timeout']);
        await Promise.all(FAMILIES.map((f) => backend.close(tcpGrant(c.client1, f))));
        assert.deepEqual(await probeBoth(c, c.client1, SERVICE_PORT), ['timeout', 'timeout']);
        assert.deepEqual(await backend.list(), []);
      });
    });

    for (const policy of ['reject', 'drop'] as const) {
      it(`policy ${policy}: the knock port answers a non-knock datagram exactly like a closed port, and takes knocks`, async () => {
        const c = ctx();
        await withBackend(c, spec.make, setupFor(policy), async () => {
          const zeros = new Uint8Array(900); // long enough, wrong magic
          const shortKnock = netns.knockShapedDatagram(MIN_KNOCK - 1); // right magic, too short
          const before = c.knockListener.messages.length;
          for (const f of FAMILIES) {
            const host = addressOf(c.server, f);
            for (const payload of [zeros, shortKnock, new Uint8Array(8)]) {
              const [toKnockPort, toClosedPort] = await Promise.all([
                c.client1.probeUdp(host, KNOCK_PORT, { payload, timeoutMs: 400 }),
                c.client1.probeUdp(host, CLOSED_UDP_PORT, { payload, timeoutMs: 400 }),
              ]);
              assert.equal(toKnockPort, toClosedPort, `IPv${f}, ${payload.length} bytes: knock port and closed port must look alike`);
              assert.equal(toKnockPort, closedAnswer(policy));
            }
          }
          assert.equal(c.knockListener.messages.length, before, 'no non-knock datagram reached the daemon socket');
          for (const f of FAMILIES) {
            await c.client2.sendUdp(addressOf(c.server, f), KNOCK_PORT, netns.knockShapedDatagram(MIN_KNOCK));
            const got = await c.knockListener.waitForMessage({ predicate: (m) => m.address === addressOf(c.client2, f) });
            assert.equal(got.payload.length, MIN_KNOCK);
          }
        });
      });
    }

    it('anyPortKnocks: a knock-shaped datagram sent to any UDP port reaches the knock socket with its true source', async () => {
      const c = ctx();
      await withBackend(c, spec.make, setupFor('reject', true), async () => {
        for (const f of FAMILIES) {
          const port = 10_000 + Math.floor(Math.random() * 50_000);
          const host = addressOf(c.server, f);
          const marker = netns.knockShapedDatagram(869);
          marker[100] = f; // tell the two families' datagrams apart
          await c.client1.sendUdp(host, port, marker);
          const got = await c.knockListener.waitForMessage({ predicate: (m) => m.address === addressOf(c.client1, f) && m.payload[100] === f });
          assert.equal(got.payload.length, 869);
          const before = c.knockListener.messages.length;
          assert.equal(await c.client1.probeUdp(host, port, { payload: new Uint8Array(869), timeoutMs: 400 }), 'refused', 'a non-knock datagram is not redirected');
          assert.equal(c.knockListener.messages.length, before);
        }
      });
    });

    for (const policy of ['reject', 'none'] as const) {
      it(`anyPortKnocks on a gateway (policy ${policy}): knock-shaped UDP it forwards passes untouched; knock-shaped UDP addressed to it reaches the daemon`, async () => {
        const c = ctx();
        await withBackend(c, spec.make, setupFor(policy, true), async () => {
          for (const f of FAMILIES) {
            const tag = Math.floor(Math.random() * 2 ** 31);
            const forwarded = markedKnock(MIN_KNOCK + 100, tag, 1);
            await c.client1.sendUdp(addressOf(c.far, f), FAR_UDP_PORT, forwarded);
            const got = await c.farListener.waitForMessage({ predicate: (m) => m.payload.equals(Buffer.from(forwarded)) });
            assert.equal(got.address, addressOf(c.client1, f), `IPv${f}: the far host got it from the client`);
            const local = markedKnock(MIN_KNOCK + 100, tag, 2);
            await c.client1.sendUdp(addressOf(c.server, f), FAR_UDP_PORT, local);
            await c.knockListener.waitForMessage({ predicate: (m) => m.payload.equals(Buffer.from(local)) && m.address === addressOf(c.client1, f) });
            await sleep(100);
            assert.ok(!c.knockListener.messages.some((m) => m.payload.equals(Buffer.from(forwarded))), `IPv${f}: the forwarded datagram did not reach the daemon`);
          }
        });
      });
    }

    for (const anyPortKnocks of [false, true]) {
      const hides = spec.knocksAnswerLikeClosedPorts === 'always' || !anyPortKnocks;
      it(
        hides
          ? `policy reject${anyPortKnocks ? ', anyPortKnocks' : ''}: a knock-shaped datagram gets ICMP port unreachable like any closed port, and the daemon still reads it with its true source`
          : `policy reject, anyPortKnocks: knock-shaped datagrams are absorbed on every port (the documented trade-off of this back end) and reach the daemon`,
        async () => {
          const c = ctx();
          await withBackend(c, spec.make, setupFor('reject', anyPortKnocks), async () => {
            for (const f of FAMILIES) {
              for (const port of [KNOCK_PORT, CLOSED_UDP_PORT]) {
                const payload = markedKnock(MIN_KNOCK + 50, Math.floor(Math.random() * 2 ** 31), port === KNOCK_PORT ? 1 : 2);
                const reaches = port === KNOCK_PORT || anyPortKnocks;
                const answer = await c.client1.probeUdp(addressOf(c.server, f), port, { payload, timeoutMs: 400 });
                assert.equal(answer, hides ? 'refused' : reaches ? 'timeout' : 'refused', `IPv${f} udp/${port}`);
                const seen = (m: { payload: Buffer; address: string }): boolean => m.payload.equals(Buffer.from(payload)) && m.address === addressOf(c.client1, f);
                if (reaches) await c.knockListener.waitForMessage({ predicate: seen });
                else assert.ok(!c.knockListener.messages.some(seen), `IPv${f}: without anyPortKnocks udp/${port} does not reach the daemon`);
              }
            }
          });
        },
      );
    }

    it('one instance per network namespace: another one (another knock port) is refused with ERR_SKNOCK_FIREWALL_IN_USE, changing nothing, and its teardown leaves the first one\'s rules', async () => {
      const c = ctx();
      await withBackend(c, spec.make, setupFor('reject'), async (first) => {
        await first.open(tcpGrant(c.client1, 4), 30);
        const before = await spec.stableText(c.server);
        const second = spec.make(c.server.name);
        await assert.rejects(second.setup({ ...setupFor('reject', true), knockPort: KNOCK_PORT + 1 }), (err: unknown) => {
          assert.ok(isSknockFirewallError(err, 'ERR_SKNOCK_FIREWALL_IN_USE'), String(err));
          assert.match(err.message, new RegExp(`another running sknock-server \\(pid ${process.pid}, knock port ${KNOCK_PORT}\\)`));
          return true;
        });
        assert.equal(await spec.stableText(c.server), before, 'the refused setup changed nothing');
        await second.teardown();
        assert.equal(await spec.stableText(c.server), before, "the second one's teardown left the first one's rules");
        assert.equal(await c.client1.probeTcp(c.server.ipv4, SERVICE_PORT), 'open', "the first one's grant is in force");
        assert.equal(await c.client2.probeTcp(c.server.ipv4, SERVICE_PORT), 'refused', "and the first one's policy");
        assert.deepEqual(await checkOf(first), { intact: true });
      });
    });

    it('one instance per network namespace across processes: refused while the first process runs; after it is SIGKILLed, a new one takes over', async () => {
      const c = ctx();
      const moduleUrl = new URL('../../src/firewall/index.js', import.meta.url).href;
      // anyPortKnocks: with iptables, only tables that exist already (the killed process's
      // successor cannot know which tables it made, and leaves them).
      const script = `
        const [mod, cls, ns, a4, port] = process.argv.slice(1);
        const b = new (await import(mod))[cls]({ netns: ns });
        await b.setup(${JSON.stringify(setupFor('reject', true))});
        await b.open({ address: a4, family: 4, protocol: 'tcp', port: Number(port) }, 30);
        process.stdout.write('ready\\n');
        setInterval(() => {}, 60_000);
      `;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script, moduleUrl, spec.className, c.server.name, c.client1.ipv4, String(SERVICE_PORT)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      try {
        const [chunk] = (await once(child.stdout, 'data', { signal: AbortSignal.timeout(15_000) })) as [Buffer];
        assert.equal(String(chunk).trim(), 'ready');
        const before = await spec.stableText(c.server);
        await assert.rejects(spec.make(c.server.name).setup({ ...setupFor('drop'), knockPort: KNOCK_PORT + 1 }), (err: unknown) =>
          isSknockFirewallError(err, 'ERR_SKNOCK_FIREWALL_IN_USE') && err.message.includes(`(pid ${child.pid}, knock port ${KNOCK_PORT})`),
        );
        assert.equal(await spec.stableText(c.server), before, 'a daemon in another process is not taken over while it runs');
        child.kill('SIGKILL');
        await once(child, 'exit');
      } finally {
        child.kill('SIGKILL');
      }
      await withBackend(c, spec.make, setupFor('drop'), async (next) => {
        assert.equal(await c.client1.probeTcp(c.server.ipv4, SERVICE_PORT, { timeoutMs: 400 }), 'timeout', "the dead one's table was taken over: policy drop, and its grant is gone");
        assert.deepEqual(await checkOf(next), { intact: true });
      });
    });

    it('a second knock for an open grant never adds a second rule, and many grants share few processes', async () => {
      const c = ctx();
      await withBackend(c, spec.make, setupFor('reject'), async (backend) => {
        const g4 = tcpGrant(c.client1, 4);
        const g6 = tcpGrant(c.client1, 6);
        const g6Long = { ...g6, address: expandIpv6(g6.address) }; // same address, other spelling
        await Promise.all([backend.open(g4, 30), backend.open(g4, 30), backend.open(g6, 30), backend.open(g6Long, 30)]);
        await backend.open(g4, 30);
        await backend.open(g6Long, 30);
        const text = await spec.ruleText(c.server);
        for (const address of [g4.address, g6.address]) {
          assert.equal(text.split(address).length - 1, 1, `exactly one rule/element mentions ${address}:\n${text}`);
        }
        assert.equal((await backend.list()).length, 2);
        assert.deepEqual(await probeBoth(c, c.client1, SERVICE_PORT), ['open', 'open']);

        const counter = backend as unknown as { readonly batches: number };
        const batchesBefore = counter.batches;
        const many = Array.from({ length: 200 }, (_, i) => ({ ...g4, port: 30_000 + i }));
        await Promise.all(many.map((g) => backend.open(g, 30)));
        assert.ok(counter.batches - batchesBefore <= 2, `200 concurrent grants took ${counter.batches - batchesBefore} batches`);
        assert.equal((await backend.list()).length, 202);
      });
    });

    it('policy none: adds accepts only; nothing else is blocked', async () => {
      const c = ctx();
      await withBackend(c, spec.make, setupFor('none'), async (backend) => {
        assert.deepEqual(await probeBoth(c, c.client2, SERVICE_PORT), ['open', 'open']);
        assert.deepEqual(await probeBoth(c, c.client2, OTHER_TCP_PORT), ['refused', 'refused'], 'a closed port answers as the kernel does');
        await Promise.all(FAMILIES.map((f) => backend.open(tcpGrant(c.client1, f), 30)));
        assert.deepEqual(await probeBoth(c, c.client1, SERVICE_PORT), ['open', 'open']);
        assert.equal((await backend.list()).length, 2);
      });
    });

    spec.extra?.(ctx);
  });
}
