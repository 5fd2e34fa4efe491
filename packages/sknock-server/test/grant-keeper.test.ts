/**
 * GrantKeeper and revocation: the timing cases the daemon tests cannot steer. The firewall is
 * the memory back end, with its open() held back where a test needs a write in flight.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GRANT_HOLDERS_MAX } from '../src/constants.js';
import type { CertificateRef } from '../src/crl/certificate-ref.js';
import { GrantKeeper, type GrantCloseEvent, type GrantEvent } from '../src/daemon/grant-keeper.js';
import type { FirewallBackend, Grant } from '../src/firewall/backend.js';
import { MemoryFirewallBackend } from '../src/firewall/memory.js';
import type { GrantMeta } from '../src/pipeline/types.js';
import { recordingLogger } from './support/recording-logger.js';

const GRANT: Grant = { address: '192.0.2.7', family: 4, protocol: 'tcp', port: 22 };

function meta(name: string, issuerId = 'ca-one', viaCa?: string): GrantMeta {
  const chain: CertificateRef[] = [{ issuerId: viaCa === undefined ? issuerId : `${viaCa}-id`, issuer: viaCa ?? 'CN=CA One', serial: `${name}01`, subject: `CN=${name}` }];
  if (viaCa !== undefined) chain.push({ issuerId, issuer: 'CN=CA One', serial: 'ca02', subject: viaCa });
  return { subject: `CN=${name}`, serial: `${name}01`, issuer: chain[0]!.issuer, certificateId: `id-${name}`, chain };
}

/** The memory back end with open() held until `release()` when `hold` is set. */
class HeldBackend implements FirewallBackend {
  readonly name = 'held';
  readonly memory = new MemoryFirewallBackend();
  hold = false;
  failOpens = 0;
  readonly #waiting: Array<() => void> = [];
  setup = this.memory.setup.bind(this.memory);
  close = this.memory.close.bind(this.memory);
  list = this.memory.list.bind(this.memory);
  teardown = this.memory.teardown.bind(this.memory);
  async open(grant: Grant, seconds: number): Promise<void> {
    if (this.failOpens > 0) {
      this.failOpens--;
      throw new Error('nft said no');
    }
    if (this.hold) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    await this.memory.open(grant, seconds);
  }
  release(): void {
    for (const go of this.#waiting.splice(0)) go();
  }
}

async function rig(options: { retryBaseMs?: number } = {}) {
  const firewall = new HeldBackend();
  await firewall.setup({ policy: 'none', emergencyAccessPorts: [], knockPort: 62201, anyPortKnocks: false, minKnockDatagramLength: 738 });
  const revoked = new Set<string>();
  const log = recordingLogger();
  const keeper = new GrantKeeper({
    firewall,
    logger: log,
    now: Date.now,
    retryBaseMs: options.retryBaseMs ?? 10,
    revokedLink: (chain) => chain.find((l) => revoked.has(`${l.issuerId}|${l.serial}`)),
  });
  const events: Array<{ type: string; event: GrantEvent | GrantCloseEvent }> = [];
  keeper.on('open', (event: GrantEvent) => events.push({ type: 'open', event }));
  keeper.on('close', (event: GrantCloseEvent) => events.push({ type: 'close', event }));
  return { firewall, keeper, revoked, log, events, allowed: () => firewall.memory.isAllowed(GRANT.address, GRANT.protocol, GRANT.port) };
}

const settle = (ms = 30): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('a write in flight when the CRL revoking its certificate is taken: closed as soon as it lands', async () => {
  const r = await rig();
  try {
    r.firewall.hold = true;
    assert.equal(r.keeper.request(GRANT, 3600, meta('alice')), true);
    r.revoked.add('ca-one|alice01');
    assert.equal(r.keeper.closeRevoked(), 0, 'nothing is held yet');
    r.firewall.release();
    await settle();
    assert.deepEqual(r.events.map((e) => e.type), ['open', 'close']);
    assert.equal((r.events[1]?.event as GrantCloseEvent).reason, 'revoked');
    assert.equal(r.allowed(), false);
    assert.deepEqual(r.keeper.held(), []);
  } finally {
    r.keeper.stop();
  }
});

test('the revoked holder had extended the grant: it is cut back to what the other holder is owed', async () => {
  const r = await rig();
  try {
    r.keeper.request(GRANT, 10, meta('bob'));
    await settle();
    r.keeper.request(GRANT, 3600, meta('alice'));
    await settle();
    assert.ok(((await r.firewall.list())[0]?.expiresAt ?? 0) - Date.now() > 3_000_000);
    r.revoked.add('ca-one|alice01');
    assert.equal(r.keeper.closeRevoked(), 1);
    await settle();
    const [listed] = await r.firewall.list();
    assert.ok(listed !== undefined && listed.expiresAt - Date.now() <= 11_000 && listed.expiresAt - Date.now() > 5_000, `open again for bob's ~10 s (${listed ? listed.expiresAt - Date.now() : 'none'})`);
    assert.equal(r.keeper.held()[0]?.subject, 'CN=bob');
    assert.deepEqual(
      r.firewall.memory.events.filter((e) => e.type === 'open' || e.type === 'close').map((e) => e.type),
      ['open', 'open', 'close', 'open'],
    );
    assert.equal(r.keeper.stats().revoked, 0);
  } finally {
    r.keeper.stop();
  }
});

test('an intermediate on a CRL closes the grants of every certificate under it', async () => {
  const r = await rig();
  try {
    r.keeper.request(GRANT, 3600, meta('dave', 'ca-one', 'CN=Issuing CA'));
    await settle();
    r.revoked.add('ca-one|ca02');
    assert.equal(r.keeper.closeRevoked(), 1);
    await settle();
    assert.equal(r.allowed(), false);
    const line = r.log.records.find((x) => x.level === 'warn' && x.fields['reason'] === 'revoked');
    assert.equal(line?.fields['revokedCa'], 'CN=Issuing CA');
  } finally {
    r.keeper.stop();
  }
});

test('a write waiting for its retry is given up when its certificate is revoked', async () => {
  const r = await rig({ retryBaseMs: 60_000 });
  try {
    r.firewall.failOpens = 1;
    r.keeper.request(GRANT, 3600, meta('alice'));
    await settle();
    assert.equal(r.keeper.stats().pending, 1, 'waiting for its retry');
    r.revoked.add('ca-one|alice01');
    r.keeper.closeRevoked();
    assert.equal(r.keeper.stats().pending, 0);
    assert.match(r.log.records.at(-1)?.msg ?? '', /firewall open of a revoked certificate given up/);
  } finally {
    r.keeper.stop();
  }
});

test('without revokedLink, or with nothing revoked, nothing closes', async () => {
  const r = await rig();
  const plain = new GrantKeeper({ firewall: r.firewall, logger: recordingLogger(), now: Date.now });
  try {
    plain.request(GRANT, 3600, meta('alice'));
    await settle();
    assert.equal(plain.closeRevoked(), 0);
    assert.equal(r.keeper.closeRevoked(), 0);
    assert.equal(r.allowed(), true);
  } finally {
    plain.stop();
    r.keeper.stop();
  }
});

test('many certificates behind one address: at most GRANT_HOLDERS_MAX remembered (those that knocked longest ago go first)', async () => {
  const r = await rig();
  try {
    const names = Array.from({ length: GRANT_HOLDERS_MAX + 6 }, (_, i) => `user${i}`);
    for (const name of names) {
      r.keeper.request(GRANT, 3600, meta(name));
      await settle(1);
    }
    await settle();
    assert.equal(r.keeper.held().length, 1);
    assert.equal(r.keeper.held()[0]?.subject, `CN=${names.at(-1)}`);
    r.revoked.add(`ca-one|${names.at(-1)}01`);
    r.keeper.closeRevoked();
    await settle();
    assert.equal(r.allowed(), true, 'the others still hold it');
    // The first six were forgotten to keep the bound: revoking everyone else leaves no holder.
    for (const name of names.slice(6)) r.revoked.add(`ca-one|${name}01`);
    r.keeper.closeRevoked();
    await settle();
    assert.equal(r.allowed(), false);
    assert.deepEqual(r.keeper.held(), []);
  } finally {
    r.keeper.stop();
  }
});
