import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, createCrl, issueClientCertificate, issueServerCertificate } from '@sknock/ca';
import type { CertificateAuthority } from '@sknock/ca';
import { CrlManager } from '../src/crl/crl-manager.js';
import { TrustStore } from '../src/trust/index.js';
import type { TrustResult } from '../src/trust/index.js';
import { recordingLogger } from './support/recording-logger.js';
import { createTestCa, issueTestCertificate, testCaFromAuthority } from './support/test-pki.js';

const DAY = 86_400_000;
const ca = await createCa({ name: 'Trust CA' });
const caAsTest = await testCaFromAuthority(ca);
const otherCa = await createCa({ name: 'Other CA' });
const sameNameImpostor = await createCa({ name: 'Trust CA' });
const grants = [{ protocol: 'tcp' as const, port: 22 }];
const client = await issueClientCertificate(ca, { name: 'alice', grants });
const now = Date.now();

/** A CrlManager on a crlFile in a temp folder; `publish` writes a new CRL and reloads. */
async function crlOn(authority: CertificateAuthority | undefined, revoked: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'sknock-trust-'));
  const file = join(dir, 'crl.der');
  let number = 0;
  const write = async (serials: string[]) => {
    number++;
    writeFileSync(file, await createCrl(ca, { crlNumber: number, revoked: serials.map((serial) => ({ serial, date: new Date(now - DAY) })), thisUpdate: new Date(now - 3600_000 + number * 1000) }));
  };
  if (authority !== undefined) await write(revoked);
  const manager = new CrlManager({ caCertificates: [ca.certificate], crlFile: file, intervalMinutes: 30, logger: recordingLogger() });
  await manager.start();
  return {
    manager,
    async publish(serials: string[]) {
      await write(serials);
      await manager.reload();
    },
    done: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function rejected(result: TrustResult, reason: string, detail?: RegExp): void {
  assert.equal(result.ok, false, `accepted, expected ${reason}`);
  if (result.ok) return;
  assert.equal(result.reason, reason, result.detail);
  if (detail) assert.match(result.detail, detail);
}

test('a valid client certificate is accepted, then served from the cache', async () => {
  const crl = await crlOn(ca);
  try {
    const store = new TrustStore({ caCertificates: [ca.certificate], crl: crl.manager, requireCrl: false });
    const first = store.verify(client.certificate, now);
    assert.equal(first.ok, true);
    assert.ok(first.ok);
    assert.equal(first.subject, 'CN=alice');
    assert.equal(first.serial, new X509Certificate(client.certificate).serialNumber.toLowerCase().replace(/^0+/, ''));
    assert.equal(first.notAfter, client.notAfter.getTime());
    assert.equal(first.fromCache, false);
    const second = store.verify(client.certificate, now);
    assert.ok(second.ok);
    assert.equal(second.fromCache, true);
    assert.equal(store.cacheSize, 1);
  } finally {
    crl.done();
  }
});

test('expired and not yet valid, fresh and from the cache', async () => {
  const crl = await crlOn(ca);
  try {
    const store = new TrustStore({ caCertificates: [ca.certificate], crl: crl.manager, requireCrl: false });
    const later = await issueClientCertificate(ca, { name: 'later', grants, notBefore: new Date(now + DAY), notAfter: new Date(now + 2 * DAY) });
    rejected(store.verify(later.certificate, now), 'not-yet-valid', /'CN=later': certificate is valid from /);
    assert.equal(store.verify(later.certificate, now + DAY + 1000).ok, true);
    rejected(store.verify(later.certificate, now + 2 * DAY + 1000), 'expired', /certificate expired/);
    const fresh = new TrustStore({ caCertificates: [ca.certificate], crl: crl.manager, requireCrl: false });
    rejected(fresh.verify(client.certificate, client.notAfter.getTime() + 1000), 'expired');
  } finally {
    crl.done();
  }
});

test('revoked; un-revoked by a new CRL, which applies to the cached chain at once', async () => {
  const serial = new X509Certificate(client.certificate).serialNumber;
  const crl = await crlOn(ca, [serial]);
  try {
    const store = new TrustStore({ caCertificates: [ca.certificate], crl: crl.manager, requireCrl: false });
    rejected(store.verify(client.certificate, now), 'revoked', /'CN=alice': certificate \(serial [0-9a-f]+\) is revoked/);
    rejected(store.verify(client.certificate, now), 'revoked');
    assert.equal(store.cacheSize, 1);
    await crl.publish([]);
    assert.equal(crl.manager.version, 2);
    const after = store.verify(client.certificate, now);
    assert.ok(after.ok);
    assert.equal(after.fromCache, true, 'the cache holds no CRL verdict, so it needs no dropping');
    await crl.publish([serial.toLowerCase()]);
    const again = store.verify(client.certificate, now);
    rejected(again, 'revoked');
  } finally {
    crl.done();
  }
});

test('a certificate of another CA, or of an impostor CA with the same name, is untrusted', async () => {
  const crl = await crlOn(ca);
  try {
    const store = new TrustStore({ caCertificates: [ca.certificate], crl: crl.manager, requireCrl: false });
    const foreign = await issueClientCertificate(otherCa, { name: 'mallory', grants });
    rejected(store.verify(foreign.certificate, now), 'untrusted', /issuer 'CN=Other CA' is not a trusted CA/);
    const impostor = await issueClientCertificate(sameNameImpostor, { name: 'mallory', grants });
    rejected(store.verify(impostor.certificate, now), 'untrusted');
    const selfSigned = await issueTestCertificate(undefined, { name: 'self' });
    rejected(store.verify(selfSigned.certificate, now), 'untrusted', /issuer 'CN=self' is not a trusted CA/);
    assert.equal(store.cacheSize, 0, 'nothing unverified is cached');
  } finally {
    crl.done();
  }
});

test('through an intermediate from caFile that chains to the CA', async () => {
  const crl = await crlOn(ca);
  try {
    const intermediate = await createTestCa({ name: 'Issuing CA', issuer: caAsTest });
    const leaf = await issueTestCertificate(intermediate, { name: 'bob' });
    const without = new TrustStore({ caCertificates: [ca.certificate], crl: crl.manager, requireCrl: false });
    rejected(without.verify(leaf.certificate, now), 'untrusted', /issuer 'CN=Issuing CA' is not a trusted CA/);
    const store = new TrustStore({ caCertificates: [ca.certificate], intermediates: [intermediate.certificate], crl: crl.manager, requireCrl: false });
    const ok = store.verify(leaf.certificate, now);
    assert.ok(ok.ok, ok.ok ? '' : ok.detail);
    // The intermediate revoked by the CA's CRL takes its certificates with it.
    await crl.publish([intermediate.x509.serialNumber]);
    rejected(store.verify(leaf.certificate, now), 'revoked', /issuing CA 'CN=Issuing CA' \(serial [0-9a-f]+\) is revoked/);
    // An expired intermediate.
    const old = await createTestCa({ name: 'Old Issuing CA', issuer: caAsTest, notBefore: new Date(now - 10 * DAY), notAfter: new Date(now - DAY) });
    const oldLeaf = await issueTestCertificate(old, { name: 'carol' });
    const store2 = new TrustStore({ caCertificates: [ca.certificate], intermediates: [old.certificate], crl: crl.manager, requireCrl: false });
    rejected(store2.verify(oldLeaf.certificate, now), 'expired', /issuing CA 'CN=Old Issuing CA' expired/);
  } finally {
    crl.done();
  }
});

test('an intermediate that does not chain to the CA gives no trust; a self-signed CA in caFile is an anchor', async () => {
  const crl = await crlOn(ca);
  try {
    const stray = await createTestCa({ name: 'Stray Issuing CA', issuer: await testCaFromAuthority(otherCa) });
    const leaf = await issueTestCertificate(stray, { name: 'dave' });
    const store = new TrustStore({ caCertificates: [ca.certificate], intermediates: [stray.certificate], crl: crl.manager, requireCrl: false });
    rejected(store.verify(leaf.certificate, now), 'untrusted', /issuing CA 'CN=Stray Issuing CA': issuer 'CN=Other CA' is not a trusted CA/);
    const withRoot = new TrustStore({ caCertificates: [ca.certificate], intermediates: [stray.certificate, otherCa.certificate], crl: crl.manager, requireCrl: false });
    assert.equal(withRoot.verify(leaf.certificate, now).ok, true);
  } finally {
    crl.done();
  }
});

test('P-384 and RSA client keys are refused as not-p256', async () => {
  const crl = await crlOn(ca);
  try {
    const store = new TrustStore({ caCertificates: [ca.certificate], crl: crl.manager, requireCrl: false });
    const p384 = await issueTestCertificate(caAsTest, { keyType: 'P-384', name: 'p384' });
    rejected(store.verify(p384.certificate, now), 'not-p256', /EC secp384r1 key/);
    const rsa = await issueTestCertificate(caAsTest, { keyType: 'RSA', name: 'rsa' });
    rejected(store.verify(rsa.certificate, now), 'not-p256', /rsa key/);
    const p256 = await issueTestCertificate(caAsTest, { name: 'p256' });
    assert.equal(store.verify(p256.certificate, now).ok, true, 'the same fixture with P-256 passes');
  } finally {
    crl.done();
  }
});

test('CA certificates and server certificates are not client certificates', async () => {
  const crl = await crlOn(ca);
  try {
    const store = new TrustStore({ caCertificates: [ca.certificate], crl: crl.manager, requireCrl: false });
    rejected(store.verify(ca.certificate, now), 'not-client', /is a CA certificate/);
    const server = await issueServerCertificate(ca, { name: 'knock.example.org' });
    rejected(store.verify(server.certificate, now), 'not-client', /extendedKeyUsage without clientAuth/);
    const noEku = await issueTestCertificate(caAsTest, { name: 'no-eku', extendedKeyUsage: null });
    assert.equal(store.verify(noEku.certificate, now).ok, true, 'no extendedKeyUsage at all is fine');
  } finally {
    crl.done();
  }
});

test('bytes that are not a certificate are unparseable', async () => {
  const crl = await crlOn(ca);
  try {
    const store = new TrustStore({ caCertificates: [ca.certificate], crl: crl.manager, requireCrl: false });
    rejected(store.verify(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]), now), 'unparseable');
    rejected(store.verify(client.certificate.subarray(0, 100), now), 'unparseable');
    rejected(store.verify(new Uint8Array(0), now), 'unparseable');
  } finally {
    crl.done();
  }
});

test('requireCrl: no-crl until a CRL verifies; without requireCrl, accepted', async () => {
  const crl = await crlOn(undefined);
  try {
    assert.equal(crl.manager.status().haveCrl, false);
    const strict = new TrustStore({ caCertificates: [ca.certificate], crl: crl.manager, requireCrl: true });
    const lenient = new TrustStore({ caCertificates: [ca.certificate], crl: crl.manager, requireCrl: false });
    rejected(strict.verify(client.certificate, now), 'no-crl', /requireCrl/);
    rejected(strict.verify(client.certificate, now), 'no-crl');
    assert.equal(lenient.verify(client.certificate, now).ok, true);
    await crl.publish([]);
    assert.equal(strict.verify(client.certificate, now).ok, true);
  } finally {
    crl.done();
  }
});

test('the cache is a bounded LRU', async () => {
  const crl = await crlOn(ca);
  try {
    const store = new TrustStore({ caCertificates: [ca.certificate], crl: crl.manager, requireCrl: false, cacheSize: 2 });
    const certs = await Promise.all(['a', 'b', 'c'].map((name) => issueClientCertificate(ca, { name, grants })));
    const [a, b, c] = certs.map((x) => x.certificate) as [Uint8Array, Uint8Array, Uint8Array];
    store.verify(a, now);
    store.verify(b, now);
    assert.equal((store.verify(a, now) as { fromCache: boolean }).fromCache, true); // a is now the most recent
    store.verify(c, now); // evicts b
    assert.equal(store.cacheSize, 2);
    assert.equal((store.verify(a, now) as { fromCache: boolean }).fromCache, true);
    assert.equal((store.verify(b, now) as { fromCache: boolean }).fromCache, false);
  } finally {
    crl.done();
  }
});

test('constructor refuses what cannot work', () => {
  const crl = { crlOf: () => undefined };
  assert.throws(() => new TrustStore({ caCertificates: [], crl, requireCrl: false }), /no trust anchor/);
  assert.throws(() => new TrustStore({ caCertificates: [new Uint8Array([1, 2, 3])], crl, requireCrl: false }), /caCertificates\[0\] is not a readable X\.509 certificate/);
});

test('an accepted certificate comes back with its SHA-256 id and its public key, fresh and cached', () => {
  const store = new TrustStore({ caCertificates: [ca.certificate], crl: { crlOf: () => undefined }, requireCrl: false });
  const expectedId = createHash('sha256').update(client.certificate).digest('base64');
  const expectedKey = new X509Certificate(client.certificate).publicKey.export({ format: 'jwk' });
  for (const fromCache of [false, true]) {
    const r = store.verify(client.certificate, Date.now());
    assert.ok(r.ok);
    assert.equal(r.fromCache, fromCache);
    assert.equal(r.certificateId, expectedId);
    assert.deepEqual(r.publicKey.export({ format: 'jwk' }), expectedKey);
  }
});
