/**
 * Revocation binds the issuer: with several trusted CAs (caFile), each CA's CRL speaks only
 * for what that CA issued. These tests go through the CrlManager (crlFile, reload) and the
 * TrustStore as the daemon wires them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeCrlPem } from '@sknock/ca';
import { CrlManager } from '../src/crl/crl-manager.js';
import { TrustStore } from '../src/trust/index.js';
import type { TrustResult } from '../src/trust/index.js';
import { recordingLogger } from './support/recording-logger.js';
import { createTestCrl, issueTestCertificate } from './support/test-pki.js';
import { crlOf, makeTwoCaPki } from './support/two-ca-pki.js';

const DAY = 86_400_000;
const pki = await makeTwoCaPki();
const now = Date.now();

/** A crlFile in a temp folder, a CrlManager on it (CA One, CA Two, Issuing CA) and trust stores. */
async function rig(first: Uint8Array | string | undefined, options: { requireCrl?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'sknock-per-issuer-'));
  const file = join(dir, 'crl.pem');
  if (first !== undefined) writeFileSync(file, first);
  const log = recordingLogger();
  const manager = new CrlManager({
    caCertificates: [pki.one.certificate, pki.two.certificate, pki.issuing.certificate],
    crlFile: file,
    intervalMinutes: 30,
    logger: log,
    requireCrl: options.requireCrl ?? false,
  });
  await manager.start();
  const store = new TrustStore({
    caCertificates: [pki.one.certificate],
    intermediates: [pki.two.certificate, pki.issuing.certificate],
    crl: manager,
    requireCrl: options.requireCrl ?? false,
  });
  return {
    log,
    manager,
    store,
    /** Replaces crlFile and reloads, as SIGHUP does. */
    async publish(contents: Uint8Array | string) {
      writeFileSync(file, contents);
      await manager.reload();
    },
    done() {
      manager.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function accepted(result: TrustResult, who: string): void {
  assert.equal(result.ok, true, result.ok ? '' : `${who}: ${result.reason}: ${result.detail}`);
}

function rejected(result: TrustResult, reason: string, detail?: RegExp): void {
  assert.equal(result.ok, false, `accepted, expected ${reason}`);
  if (result.ok) return;
  assert.equal(result.reason, reason, result.detail);
  if (detail) assert.match(result.detail, detail);
}

const pem = (...ders: Uint8Array[]): string => ders.map((d) => encodeCrlPem(d)).join('');

test('two CAs: a newer CRL of CA Two (higher number, empty) does not un-revoke what CA One revoked', async () => {
  const r = await rig(await crlOf(pki.one, 1, [pki.alice.serial]));
  try {
    rejected(r.store.verify(pki.alice.certificate, now), 'revoked', /'CN=alice': certificate \(serial [0-9a-f]+\) is revoked/);
    await r.publish(await crlOf(pki.two, 50, []));
    rejected(r.store.verify(pki.alice.certificate, now), 'revoked');
    accepted(r.store.verify(pki.bob.certificate, now), 'bob');
  } finally {
    r.done();
  }
});

test('a CRL whose issuer names CA One but that CA Two signed is refused; CA One\'s revocation stays', async () => {
  const r = await rig(await crlOf(pki.one, 1, [pki.alice.serial]));
  try {
    const forged = await createTestCrl(pki.oneAsTest, { crlNumber: 99, revoked: [], signer: pki.twoAsTest, thisUpdate: new Date(now - 1000) });
    await r.publish(forged);
    rejected(r.store.verify(pki.alice.certificate, now), 'revoked');
    assert.ok(
      r.log.records.some((x) => x.level === 'error' && /signature does not verify with the key of the CA it names \('CN=Trust CA One'\)/.test(x.msg ?? '')),
      'the refusal is logged, naming CA One',
    );
  } finally {
    r.done();
  }
});

test('a serial on CA Two\'s CRL does not revoke a certificate of CA One with the same serial', async () => {
  const serial = '5eed0001';
  const [ofOne, ofTwo] = await Promise.all([issueTestCertificate(pki.oneAsTest, { name: 'same-one', serial }), issueTestCertificate(pki.twoAsTest, { name: 'same-two', serial })]);
  const r = await rig(await crlOf(pki.two, 1, [serial]));
  try {
    accepted(r.store.verify(ofOne.certificate, now), 'same-one');
    rejected(r.store.verify(ofTwo.certificate, now), 'revoked', /revoked by the CRL of 'CN=Trust CA Two'/);
  } finally {
    r.done();
  }
});

test('a PEM bundle holding both CAs\' CRLs: each revokes what its own CA issued', async () => {
  const r = await rig(pem(await crlOf(pki.one, 1, [pki.alice.serial]), await crlOf(pki.two, 1, [pki.bob.serial])));
  try {
    rejected(r.store.verify(pki.alice.certificate, now), 'revoked');
    rejected(r.store.verify(pki.bob.certificate, now), 'revoked');
    accepted(r.store.verify(pki.dave.certificate, now), 'dave');
  } finally {
    r.done();
  }
});

test('an intermediate revoked on the root\'s CRL, and the intermediate\'s own newer CRL does not lift it', async () => {
  const r = await rig(await crlOf(pki.one, 1, [pki.issuing.serial]));
  try {
    rejected(r.store.verify(pki.dave.certificate, now), 'revoked', /issuing CA 'CN=Trust Issuing CA' \(serial [0-9a-f]+\) is revoked/);
    await r.publish(await crlOf(pki.issuing, 99, []));
    rejected(r.store.verify(pki.dave.certificate, now), 'revoked');
    accepted(r.store.verify(pki.alice.certificate, now), 'alice');
  } finally {
    r.done();
  }
});

test('the intermediate\'s own CRL revokes what it issued; the root\'s CRL does not speak for it', async () => {
  const r = await rig(pem(await crlOf(pki.one, 1, [pki.dave.serial]), await crlOf(pki.issuing, 1, [])));
  try {
    accepted(r.store.verify(pki.dave.certificate, now), 'dave (its serial is on the root\'s CRL, but the root did not issue it)');
    await r.publish(pem(await crlOf(pki.issuing, 2, [pki.dave.serial])));
    rejected(r.store.verify(pki.dave.certificate, now), 'revoked', /revoked by the CRL of 'CN=Trust Issuing CA'/);
  } finally {
    r.done();
  }
});

test('requireCrl: a CRL past its nextUpdate is no CRL, until a fresh one arrives', async () => {
  const old = now - 10 * DAY;
  const stale = await crlOf(pki.one, 1, [], { base: old, nextUpdate: new Date(now - DAY) });
  const r = await rig(stale, { requireCrl: true });
  try {
    rejected(r.store.verify(pki.alice.certificate, now), 'no-crl', /CRL of 'CN=Trust CA One' is stale/);
    const lenient = new TrustStore({ caCertificates: [pki.one.certificate], crl: r.manager, requireCrl: false });
    accepted(lenient.verify(pki.alice.certificate, now), 'alice without requireCrl');
    assert.ok(r.log.records.some((x) => x.level === 'error' && /CRL is stale: .*refused until a fresh one arrives \(requireCrl\)/.test(x.msg ?? '')), 'said loudly');
    await r.publish(await crlOf(pki.one, 2, []));
    accepted(r.store.verify(pki.alice.certificate, now), 'alice with a fresh CRL');
  } finally {
    r.done();
  }
});

test('requireCrl with an intermediate: a fresh CRL of the issuer of every link is needed', async () => {
  const r = await rig(await crlOf(pki.issuing, 1, []), { requireCrl: true });
  try {
    rejected(r.store.verify(pki.dave.certificate, now), 'no-crl', /no verified CRL of 'CN=Trust CA One'/);
    rejected(r.store.verify(pki.alice.certificate, now), 'no-crl');
    rejected(r.store.verify(pki.bob.certificate, now), 'no-crl', /'CN=Trust CA Two'/);
    await r.publish(pem(await crlOf(pki.one, 1, []), await crlOf(pki.issuing, 2, [])));
    accepted(r.store.verify(pki.dave.certificate, now), 'dave');
    accepted(r.store.verify(pki.alice.certificate, now), 'alice');
    rejected(r.store.verify(pki.bob.certificate, now), 'no-crl', /'CN=Trust CA Two'/);
  } finally {
    r.done();
  }
});

test('a new CRL of one CA applies at once to cached chains through it, and leaves the others alone', async () => {
  const r = await rig(pem(await crlOf(pki.one, 1, []), await crlOf(pki.two, 1, [])));
  try {
    for (const c of [pki.alice, pki.bob, pki.alice, pki.bob]) accepted(r.store.verify(c.certificate, now), c.name);
    await r.publish(await crlOf(pki.two, 2, [pki.bob.serial]));
    rejected(r.store.verify(pki.bob.certificate, now), 'revoked');
    accepted(r.store.verify(pki.alice.certificate, now), 'alice');
    await r.publish(await crlOf(pki.two, 3, []));
    accepted(r.store.verify(pki.bob.certificate, now), 'bob, un-revoked by a newer CRL of his own CA');
  } finally {
    r.done();
  }
});
