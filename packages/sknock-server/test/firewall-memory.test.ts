import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FirewallSetup, Grant } from '../src/firewall/backend.js';
import { isSknockFirewallError } from '../src/firewall/errors.js';
import { createFirewallBackend, MemoryFirewallBackend, type MemoryFirewallEvent } from '../src/firewall/index.js';

const SETUP: FirewallSetup = {
  policy: 'reject',
  emergencyAccessPorts: [{ protocol: 'tcp', port: 22 }],
  knockPort: 62201,
  anyPortKnocks: true,
  minKnockDatagramLength: 700,
};

const G4: Grant = { address: '192.0.2.7', family: 4, protocol: 'tcp', port: 2000 };
const G6: Grant = { address: '2001:db8::7', family: 6, protocol: 'udp', port: 8000 };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function ready(): Promise<MemoryFirewallBackend> {
  const b = new MemoryFirewallBackend();
  await b.setup(SETUP);
  return b;
}

describe('memory firewall back end', () => {
  it('records the setup and refuses grants before it and after teardown', async () => {
    const b = new MemoryFirewallBackend();
    await assert.rejects(b.open(G4, 5), (e: unknown) => isSknockFirewallError(e, 'ERR_SKNOCK_FIREWALL_STATE'));
    await b.setup(SETUP);
    assert.deepEqual(b.currentSetup, SETUP);
    assert.notEqual(b.currentSetup, SETUP, 'keeps its own frozen copy');
    assert.ok(Object.isFrozen(b.currentSetup));
    await b.teardown();
    assert.equal(b.currentSetup, undefined);
    await assert.rejects(b.close(G4), (e: unknown) => isSknockFirewallError(e, 'ERR_SKNOCK_FIREWALL_STATE'));
    assert.deepEqual(b.events.map((e) => e.type), ['setup', 'teardown']);
  });

  it('allows exactly the granted address, protocol and port, in any spelling of the address', async () => {
    const b = await ready();
    await b.open(G4, 5);
    await b.open(G6, 5);
    assert.equal(b.isAllowed('192.0.2.7', 'tcp', 2000), true);
    assert.equal(b.isAllowed('192.0.2.8', 'tcp', 2000), false);
    assert.equal(b.isAllowed('192.0.2.7', 'udp', 2000), false);
    assert.equal(b.isAllowed('192.0.2.7', 'tcp', 2001), false);
    assert.equal(b.isAllowed('2001:0db8:0:0:0:0:0:7', 'udp', 8000), true);
    assert.equal(b.isAllowed('2001:DB8::7', 'udp', 8000), true);
    assert.equal(b.isAllowed('2001:db8::7', 'tcp', 8000), false);
    assert.equal(b.isAllowed('192.0.2.7', 'tcp', 22), false, 'emergency ports are policy, not grants');
    await b.teardown();
  });

  it('expires a grant after its duration, by itself', async () => {
    const b = await ready();
    const expired = new Promise<MemoryFirewallEvent>((resolve) => {
      const check = setInterval(() => {
        const e = b.events.find((x) => x.type === 'expire');
        if (e) {
          clearInterval(check);
          resolve(e);
        }
      }, 5);
    });
    const t0 = Date.now();
    await b.open(G4, 0.1);
    assert.equal(b.isAllowed(G4.address, 'tcp', 2000), true);
    const e = await expired;
    assert.ok(e.at - t0 >= 95, `expired after ${e.at - t0} ms`);
    assert.equal(b.isAllowed(G4.address, 'tcp', 2000), false);
    assert.deepEqual(await b.list(), []);
    await b.teardown();
  });

  it('re-open extends (never shortens) and never holds a grant twice', async () => {
    const b = await ready();
    await b.open(G4, 0.15);
    const first = (await b.list())[0]?.expiresAt ?? 0;
    await sleep(100);
    await b.open(G4, 0.15);
    const second = (await b.list())[0]?.expiresAt ?? 0;
    assert.ok(second >= first + 90, 'the second open moved the expiry');
    assert.equal((await b.list()).length, 1);
    await sleep(100); // past the first expiry, before the second
    assert.equal(b.isAllowed(G4.address, 'tcp', 2000), true);
    await b.open(G4, 0.01); // shorter: keeps the later expiry
    assert.equal((await b.list())[0]?.expiresAt, second);
    const opens = b.events.filter((x) => x.type === 'open');
    assert.deepEqual(opens.map((x) => (x.type === 'open' ? x.extended : null)), [false, true, true]);
    await b.teardown();
  });

  it('close() ends a grant at once; list() gives canonical grants with expiry', async () => {
    const b = await ready();
    const before = Date.now();
    await b.open({ ...G6, address: '2001:0DB8::0:7' }, 10);
    const [listed] = await b.list();
    assert.equal(listed?.address, '2001:db8::7');
    assert.equal(listed?.family, 6);
    assert.ok((listed?.expiresAt ?? 0) >= before + 10_000);
    await b.close(G6);
    assert.deepEqual(await b.list(), []);
    assert.equal(b.isAllowed(G6.address, 'udp', 8000), false);
    await b.teardown();
  });

  it('rejects malformed grants, durations and setups with typed errors that name the argument', async () => {
    const b = await ready();
    const bad: Array<[unknown, number, RegExp]> = [
      [{ ...G4, address: '192.0.2.300' }, 5, /grant\.address/],
      [{ ...G4, address: '::ffff:192.0.2.7', family: 6 }, 5, /IPv4-mapped/],
      [{ ...G4, family: 6 }, 5, /grant\.family/],
      [{ ...G4, protocol: 'icmp' }, 5, /grant\.protocol/],
      [{ ...G4, port: 0 }, 5, /grant\.port/],
      [{ ...G4, port: 65536 }, 5, /grant\.port/],
      [{ ...G4, port: 1.5 }, 5, /grant\.port/],
      [{ ...G4, address: 'fe80::1%eth0', family: 6 }, 5, /zone/],
      [null, 5, /grant must be an object/],
      [G4, 0, /durationSeconds/],
      [G4, -1, /durationSeconds/],
      [G4, Number.NaN, /durationSeconds/],
      [G4, 1e9, /durationSeconds/],
    ];
    for (const [grant, duration, message] of bad) {
      await assert.rejects(b.open(grant as Grant, duration), (e: unknown) => isSknockFirewallError(e, 'ERR_SKNOCK_INVALID_ARGUMENT') && message.test(e.message), `${JSON.stringify(grant)} ${duration}`);
    }
    const badSetups: Array<[Partial<Record<keyof FirewallSetup, unknown>>, RegExp]> = [
      [{ policy: 'accept' }, /setup\.policy/],
      [{ knockPort: 70000 }, /setup\.knockPort/],
      [{ emergencyAccessPorts: [{ protocol: 'tcp', port: -1 }] }, /emergencyAccessPorts\[0\]\.port/],
      [{ emergencyAccessPorts: 'tcp/22' }, /emergencyAccessPorts/],
      [{ anyPortKnocks: 'yes' }, /anyPortKnocks/],
      [{ minKnockDatagramLength: 70_000 }, /minKnockDatagramLength/],
    ];
    for (const [change, message] of badSetups) {
      await assert.rejects(b.setup({ ...SETUP, ...change } as FirewallSetup), (e: unknown) => isSknockFirewallError(e, 'ERR_SKNOCK_INVALID_ARGUMENT') && message.test(e.message));
    }
    assert.throws(() => b.isAllowed('nope', 'tcp', 1), (e: unknown) => isSknockFirewallError(e, 'ERR_SKNOCK_INVALID_ARGUMENT'));
    await b.teardown();
  });

  it('keeps only the latest events, and tells an observer about each', async () => {
    const seen: string[] = [];
    const b = new MemoryFirewallBackend({ maxEvents: 3, onEvent: (e) => seen.push(e.type) });
    await b.setup(SETUP);
    for (let port = 1; port <= 4; port++) await b.open({ ...G4, port }, 5);
    assert.equal(b.events.length, 3);
    assert.deepEqual(seen, ['setup', 'open', 'open', 'open', 'open']);
    await b.teardown();
  });

  it('the factory makes each back end by name and refuses unknown names and options', () => {
    assert.equal(createFirewallBackend('memory').name, 'memory');
    assert.equal(createFirewallBackend('nftables', { table: 'sk2' }).name, 'nftables');
    assert.equal(createFirewallBackend('iptables', { chain: 'SK2', families: [4] }).name, 'iptables');
    assert.throws(() => createFirewallBackend('pf' as 'memory'), (e: unknown) => isSknockFirewallError(e, 'ERR_SKNOCK_INVALID_ARGUMENT'));
    assert.throws(() => createFirewallBackend('nftables', { table: 'bad name' }), /options\.table/);
    assert.throws(() => createFirewallBackend('nftables', { netns: '../x' }), /options\.netns/);
    assert.throws(() => createFirewallBackend('iptables', { chain: 'THIS_CHAIN_NAME_IS_WAY_TOO_LONG' }), /options\.chain/);
    assert.throws(() => createFirewallBackend('iptables', { families: [5 as 4] }), /options\.families/);
    assert.throws(() => createFirewallBackend('memory', { maxEvents: 0 }), /options\.maxEvents/);
  });
});
