import 'reflect-metadata';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import fc from 'fast-check';
import { createCa, createCrl, encodeCrlPem } from '@sknock/ca';
import { SknockCrlError } from '../src/crl/errors.js';
import { parseCrl } from '../src/crl/parse-crl.js';
import { normaliseSerial } from '@sknock/protocol/x509';
import { caIdentity } from '@sknock/protocol/x509';
import { crlDersFrom, encodeCrlBundle } from '../src/crl/crl-bundle.js';
import { findCrlIssuer } from '@sknock/protocol/crl';
import { createTestCa, createTestCrl, derInteger } from './support/test-pki.js';

const ca = await createCa({ name: 'CRL Parse CA' });
const caCert = new X509Certificate(ca.certificate);
const caId = caIdentity(caCert);
const thisUpdate = new Date('2026-01-02T03:04:05Z');
const nextUpdate = new Date('2026-01-09T03:04:05Z');
const crlDer = await createCrl(ca, {
  revoked: [
    { serial: '0a', date: new Date('2026-01-01T00:00:00Z') },
    { serial: '00ff00', date: new Date('2026-01-01T00:00:00Z'), reason: 'keyCompromise' },
    { serial: '7b2c5d0e9f11aa22', date: new Date('2026-01-01T00:00:00Z') },
  ],
  crlNumber: 300,
  thisUpdate,
  nextUpdate,
});

test('a CRL of the sknock-ca library: fields agree with @peculiar/x509', () => {
  const crl = parseCrl(crlDer);
  const oracle = new x509.X509Crl(crlDer);
  assert.equal(crl.thisUpdate.getTime(), oracle.thisUpdate.getTime());
  assert.equal(crl.nextUpdate?.getTime(), oracle.nextUpdate?.getTime());
  assert.equal(crl.thisUpdate.toISOString(), thisUpdate.toISOString());
  assert.equal(crl.crlNumber, 300n);
  assert.equal(crl.version, 1);
  assert.equal(crl.signatureAlgorithm, '1.2.840.10045.4.3.2');
  assert.deepEqual([...crl.revoked].sort(), oracle.entries.map((e) => normaliseSerial(e.serialNumber)).sort());
  assert.deepEqual([...crl.revoked].sort(), ['7b2c5d0e9f11aa22', 'a', 'ff00']);
  assert.equal(findCrlIssuer(crl, [caId]), caId);
  assert.deepEqual(crl.authorityKeyId, ca.keyIdentifier, 'the authority key identifier sknock-ca writes');
});

test('PEM with label X509 CRL or CRL, and DER, all read the same', () => {
  const pem = encodeCrlPem(crlDer);
  const fromPem = parseCrl(new Uint8Array(Buffer.from(pem)));
  const fromPeculiarPem = parseCrl(new Uint8Array(Buffer.from(new x509.X509Crl(crlDer).toString('pem'))));
  assert.match(new x509.X509Crl(crlDer).toString('pem'), /BEGIN CRL/);
  assert.deepEqual(fromPem.der, crlDer);
  assert.deepEqual(fromPeculiarPem.der, crlDer);
  assert.throws(() => parseCrl(new Uint8Array(Buffer.from(pem.replace(/X509 CRL/g, 'CERTIFICATE')))), { code: 'ERR_SKNOCK_CRL_MALFORMED', message: /no "X509 CRL"/ });
});

test('a CRL made by openssl ca -gencrl parses and verifies', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sknock-crl-openssl-'));
  try {
    const run = (args: string[]): void => {
      const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8', timeout: 20_000 });
      assert.equal(r.status, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
    };
    run(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key']);
    run(['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=OpenSSL CA', '-days', '30', '-out', 'ca.pem']);
    writeFileSync(join(dir, 'index.txt'), ['0A', '00FF', '1234ABCD'].map((s, i) => `R\t301231235959Z\t260101000000Z\t${s}\tunknown\t/CN=c${i}\n`).join(''));
    writeFileSync(join(dir, 'crlnumber'), '10\n');
    writeFileSync(join(dir, 'ca.cnf'), '[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\ncrlnumber=crlnumber\ndefault_md=sha256\ndefault_crl_days=7\n');
    run(['ca', '-config', 'ca.cnf', '-gencrl', '-keyfile', 'ca.key', '-cert', 'ca.pem', '-out', 'crl.pem']);
    const crl = parseCrl(new Uint8Array(readFileSync(join(dir, 'crl.pem'))));
    assert.deepEqual([...crl.revoked].sort(), ['1234abcd', 'a', 'ff']);
    assert.equal(crl.crlNumber, 16n);
    const opensslCa = new X509Certificate(readFileSync(join(dir, 'ca.pem')));
    const opensslId = caIdentity(opensslCa);
    assert.equal(findCrlIssuer(crl, [caId, opensslId]), opensslId);
    assert.throws(() => findCrlIssuer(crl, [caId]), { code: 'ERR_SKNOCK_CRL_ISSUER', message: /its issuer 'CN=OpenSSL CA' is not a trusted CA/ });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('signature: another CA does not verify it; a changed byte breaks it', () => {
  const crl = parseCrl(crlDer);
  const tampered = new Uint8Array(crlDer);
  const idx = Buffer.from(crlDer).indexOf(Buffer.from([0x7b, 0x2c, 0x5d]));
  assert.ok(idx > 0);
  tampered[idx] = 0x7c;
  const bad = parseCrl(tampered);
  assert.throws(() => findCrlIssuer(bad, [caId]), { code: 'ERR_SKNOCK_CRL_SIGNATURE', message: /does not verify with the key of the CA it names \('CN=CRL Parse CA'\)/ });
  assert.throws(() => findCrlIssuer(crl, []), { code: 'ERR_SKNOCK_CRL_ISSUER' });
});

test('RSA and P-384 CAs: their CRLs verify too', async () => {
  for (const keyType of ['RSA', 'P-384'] as const) {
    const other = await createTestCa({ keyType, name: `${keyType} CA` });
    const crl = parseCrl(await createTestCrl(other, { revoked: ['01'], crlNumber: 1 }));
    const id = caIdentity(new X509Certificate(other.certificate));
    assert.equal(findCrlIssuer(crl, [caId, id]), id, keyType);
  }
});

test('delta CRLs and unknown critical extensions are refused; no CRL number is fine', async () => {
  const t = await createTestCa();
  const delta = await createTestCrl(t, { crlNumber: 2, extensions: [['2.5.29.27', true, derInteger(1n)]] });
  assert.throws(() => parseCrl(delta), (e: unknown) => e instanceof SknockCrlError && e.code === 'ERR_SKNOCK_CRL_UNSUPPORTED' && /delta CRL/.test(e.message));
  const critical = await createTestCrl(t, { extensions: [['1.2.3.4', true, new Uint8Array([5, 0])]] });
  assert.throws(() => parseCrl(critical), { code: 'ERR_SKNOCK_CRL_UNSUPPORTED', message: /critical extension 1\.2\.3\.4/ });
  const nonCritical = parseCrl(await createTestCrl(t, { extensions: [['1.2.3.4', false, new Uint8Array([5, 0])]] }));
  assert.equal(nonCritical.crlNumber, undefined);
  assert.equal(parseCrl(await createTestCrl(t, { nextUpdate: null })).nextUpdate, undefined);
});

test('serials normalise: case, leading zeros, colons', () => {
  for (const s of ['0A:BC', '0abc', 'ABC', '00000abc', 'abc']) assert.equal(normaliseSerial(s), 'abc');
  assert.equal(normaliseSerial('00'), '0');
  assert.equal(normaliseSerial(new Uint8Array([0, 0x0a, 0xbc])), 'abc');
});

test('truncated and arbitrary bytes give only SknockCrlError', () => {
  for (let cut = 0; cut < crlDer.length; cut += 7) {
    assert.throws(() => parseCrl(crlDer.subarray(0, cut)), SknockCrlError, `cut at ${cut}`);
  }
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      try {
        parseCrl(bytes);
      } catch (err) {
        if (!(err instanceof SknockCrlError)) throw err;
      }
    }),
    { numRuns: 2000 },
  );
  // Mutations of a real CRL: parse or refuse, never anything else.
  fc.assert(
    fc.property(fc.integer({ min: 0, max: crlDer.length - 1 }), fc.integer({ min: 0, max: 255 }), (at, value) => {
      const copy = new Uint8Array(crlDer);
      copy[at] = value;
      try {
        const crl = parseCrl(copy);
        findCrlIssuer(crl, [caId]);
      } catch (err) {
        if (!(err instanceof SknockCrlError)) throw err;
      }
    }),
    { numRuns: 2000 },
  );
});

test('a CRL is taken only from the CA its issuer field names: another trusted CA\'s signature is refused', async () => {
  const one = await createTestCa({ name: 'Bundle CA One' });
  const two = await createTestCa({ name: 'Bundle CA Two' });
  const ids = [caIdentity(new X509Certificate(one.certificate)), caIdentity(new X509Certificate(two.certificate))] as const;
  assert.equal(findCrlIssuer(parseCrl(await createTestCrl(two, { crlNumber: 9 })), ids), ids[1]);
  // Names CA One, signed with CA Two's key: CA Two is trusted, but it is not who the CRL says it is from.
  const forged = parseCrl(await createTestCrl(one, { crlNumber: 9, signer: two }));
  assert.throws(() => findCrlIssuer(forged, ids), { code: 'ERR_SKNOCK_CRL_SIGNATURE', message: /the key of the CA it names \('CN=Bundle CA One'\)/ });
  // The right name and signature, but an authority key identifier of another key.
  const wrongKeyId = parseCrl(await createTestCrl(one, { crlNumber: 9, authorityKeyId: new Uint8Array(20).fill(7) }));
  assert.throws(() => findCrlIssuer(wrongKeyId, ids), { code: 'ERR_SKNOCK_CRL_ISSUER', message: /authority key identifier 0707.* is not the key of the CA it names/ });
  // Same name as CA One, another key (an impostor CA): refused, whatever it signs.
  const impostor = await createTestCa({ name: 'Bundle CA One' });
  const byImpostor = parseCrl(await createTestCrl(impostor, { crlNumber: 10 }));
  assert.throws(() => findCrlIssuer(byImpostor, ids), { code: 'ERR_SKNOCK_CRL_SIGNATURE' });
});

test('bundles: several CRLs in one PEM text or one after the other in DER; parseCrl wants one', async () => {
  const one = await createTestCa({ name: 'Bundle CA One' });
  const a = await createTestCrl(one, { crlNumber: 1, revoked: ['0a'] });
  const b = crlDer;
  const pem = new Uint8Array(Buffer.from(`# two CAs\n${encodeCrlPem(a)}some text\n${encodeCrlPem(b)}`));
  assert.deepEqual(crlDersFrom(pem), [a, b]);
  assert.deepEqual(crlDersFrom(new Uint8Array(Buffer.concat([a, b]))), [a, b]);
  assert.deepEqual(crlDersFrom(b), [b]);
  assert.deepEqual(encodeCrlBundle([b]), b, 'one CRL is written as DER, as before');
  assert.deepEqual(crlDersFrom(encodeCrlBundle([a, b])), [a, b]);
  assert.match(Buffer.from(encodeCrlBundle([a, b])).toString('latin1'), /^-----BEGIN X509 CRL-----\n[^]*-----END X509 CRL-----\n-----BEGIN X509 CRL-----/);
  assert.throws(() => parseCrl(pem), { code: 'ERR_SKNOCK_CRL_MALFORMED', message: /holds 2 CRLs where one was expected/ });
  assert.throws(() => crlDersFrom(new Uint8Array(Buffer.concat([a, Buffer.from([0x05, 0x00])]))), { code: 'ERR_SKNOCK_CRL_MALFORMED', message: /unexpected data after its last field/ });
  assert.throws(() => crlDersFrom(new Uint8Array(Buffer.concat([a, b.subarray(0, 40)]))), SknockCrlError);
  const many = new Uint8Array(Buffer.concat(Array.from({ length: 257 }, () => a)));
  assert.throws(() => crlDersFrom(many), { code: 'ERR_SKNOCK_CRL_MALFORMED', message: /more than 256 CRLs/ });
});
