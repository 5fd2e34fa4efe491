import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import {
  createKnockPacket,
  encodePem,
  knockDatagramLength,
  openKnockPacket,
  parsePortGrants,
  verifyKnockSignature,
  type PortGrant,
} from '@sknock/protocol';
import {
  createCa,
  formatGrantSpec,
  isSknockCaError,
  issueClientCertificate,
  issueServerCertificate,
  loadCa,
  normalizeSerial,
  parseGrantSpec,
  signCsr,
  type CertificateAuthority,
  type IssuedCertificate,
} from '../src/index.js';
import { openssl, tempFolder } from './support/ca-tools.js';

const GRANTS: PortGrant[] = [
  { protocol: 'tcp', port: 22 },
  { protocol: 'tcp', port: 2000 },
  { protocol: 'udp', port: 8000 },
];

function manyGrants(n: number): PortGrant[] {
  return Array.from({ length: n }, (_, i) => ({ protocol: i % 2 === 0 ? 'tcp' : 'udp', port: 10000 + i }));
}

function opensslText(der: Uint8Array): string {
  const dir = tempFolder('sknock-ca-text');
  try {
    writeFileSync(join(dir.path, 'c.der'), der);
    const r = openssl(['x509', '-inform', 'DER', '-in', join(dir.path, 'c.der'), '-noout', '-text']);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  } finally {
    dir.remove();
  }
}

function opensslAsn1(der: Uint8Array): string {
  const dir = tempFolder('sknock-ca-asn1');
  try {
    writeFileSync(join(dir.path, 'c.der'), der);
    const r = openssl(['asn1parse', '-inform', 'DER', '-in', join(dir.path, 'c.der')]);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  } finally {
    dir.remove();
  }
}

describe('sknock-ca library', () => {
  let ca: CertificateAuthority;
  let server: IssuedCertificate;

  before(async () => {
    ca = await createCa({ name: 'Example Knock CA' });
    server = await issueServerCertificate(ca, { name: 'knock.example.org' });
  });

  it('makes a P-256 CA certificate: CA:TRUE critical, keyCertSign + cRLSign, subject key identifier', () => {
    const cert = new X509Certificate(ca.certificate);
    assert.equal(cert.ca, true);
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.equal(cert.subject, 'CN=Example Knock CA');
    assert.ok(cert.verify(cert.publicKey), 'self-signed');
    const text = opensslText(ca.certificate);
    assert.match(text, /X509v3 Basic Constraints: critical\s+CA:TRUE/);
    assert.match(text, /X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
    assert.match(text, new RegExp(`X509v3 Subject Key Identifier:\\s+${Buffer.from(ca.keyIdentifier).toString('hex').toUpperCase().match(/../g)?.join(':')}`));
    assert.match(text, /ecdsa-with-SHA256/);
  });

  it('issues a server certificate: digitalSignature + keyAgreement, serverAuth, DNS name, key identifiers', () => {
    const cert = new X509Certificate(server.certificate);
    assert.ok(cert.checkIssued(new X509Certificate(ca.certificate)));
    assert.ok(cert.verify(new X509Certificate(ca.certificate).publicKey));
    assert.ok(cert.checkPrivateKey(server.privateKey));
    assert.equal(cert.subjectAltName, 'DNS:knock.example.org');
    assert.equal(cert.ca, false);
    const text = opensslText(server.certificate);
    assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature, Key Agreement/);
    assert.match(text, /TLS Web Server Authentication/);
    assert.match(text, /X509v3 Authority Key Identifier:/);
    assert.equal(normalizeSerial(cert.serialNumber), server.serial);
  });

  it('puts an IP address as iPAddress and a plain name as no subjectAltName', async () => {
    const ip = await issueServerCertificate(ca, { name: '192.0.2.10' });
    assert.equal(new X509Certificate(ip.certificate).subjectAltName, 'IP Address:192.0.2.10');
    const plain = await issueServerCertificate(ca, { name: 'Knock Server One' });
    assert.equal(new X509Certificate(plain.certificate).subjectAltName, undefined);
  });

  it('issues a client certificate whose grants parsePortGrants reads back exactly', async () => {
    const client = await issueClientCertificate(ca, { name: 'alice', grants: GRANTS });
    assert.deepEqual(parsePortGrants(client.certificate), GRANTS);
    assert.deepEqual(client.grants, GRANTS);
    const cert = new X509Certificate(client.certificate);
    assert.equal(cert.subject, 'CN=alice');
    assert.ok(cert.checkPrivateKey(client.privateKey));
    assert.equal(client.privateKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const text = opensslText(client.certificate);
    assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature\n/);
    assert.match(text, /TLS Web Client Authentication/);
    assert.match(text, /othername: 1\.3\.6\.1\.4\.1\.19518::1\.22,1\.2000,0\.8000/);
  });

  it('drops repeated grants and keeps the order', async () => {
    const client = await issueClientCertificate(ca, { name: 'rep', grants: [GRANTS[2]!, GRANTS[0]!, GRANTS[2]!] });
    assert.deepEqual(parsePortGrants(client.certificate), [GRANTS[2], GRANTS[0]]);
  });

  it('pads client certificates to a knock an sKnock 1.0.0 server sees (≥ 758 bytes), or not with 0', async () => {
    for (const name of ['a', 'a-much-longer-client-name-for-the-padding-test']) {
      const padded = await issueClientCertificate(ca, { name, grants: [GRANTS[0]!] });
      assert.ok(padded.datagramLength >= 758, `padded knock is ${padded.datagramLength}`);
      assert.ok(padded.datagramLength <= 773 + 16, `padding overshoots: ${padded.datagramLength}`);
      assert.equal(padded.datagramLength, knockDatagramLength(padded.certificate.length));
      assert.ok(new X509Certificate(padded.certificate).verify(new X509Certificate(ca.certificate).publicKey), 'padded certificate is signed');
      assert.match(opensslText(padded.certificate), /Netscape Comment:/);
    }
    const compact = await issueClientCertificate(ca, { name: 'a', grants: [GRANTS[0]!], minimumDatagramLength: 0 });
    assert.ok(compact.datagramLength < 758, `unpadded knock is ${compact.datagramLength}`);
    assert.doesNotMatch(opensslText(compact.certificate), /Netscape Comment/);
  });

  it('refuses grants that would make a knock above 1232 bytes, with the sizes, every time at the same count', async () => {
    await assert.rejects(issueClientCertificate(ca, { name: 'greedy', grants: manyGrants(200) }), (err: unknown) => {
      assert.ok(isSknockCaError(err, 'ERR_SKNOCK_CA_CERTIFICATE_TOO_LARGE'), String(err));
      assert.match(err.message, /1232/);
      assert.match(err.message, /200 grants/);
      assert.match(err.message, /\d+-byte knock/);
      return true;
    });
    // the largest grant count that fits, by bisection; just below it always fits, at it never
    let lo = 1;
    let hi = 200;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      try {
        await issueClientCertificate(ca, { name: 'greedy', grants: manyGrants(mid) });
        lo = mid;
      } catch (err) {
        assert.ok(isSknockCaError(err, 'ERR_SKNOCK_CA_CERTIFICATE_TOO_LARGE'));
        hi = mid;
      }
    }
    for (let i = 0; i < 4; i++) {
      const fits = await issueClientCertificate(ca, { name: 'greedy', grants: manyGrants(lo) });
      assert.ok(fits.datagramLength <= 1232, `${lo} grants: ${fits.datagramLength}`);
      await assert.rejects(issueClientCertificate(ca, { name: 'greedy', grants: manyGrants(hi) }), /1232/);
    }
    assert.ok(lo > 50, `only ${lo} grants fit`);
  });

  it('builds a knock that the server key opens and whose signature verifies; its length is the one reported', async () => {
    const client = await issueClientCertificate(ca, { name: 'alice', grants: GRANTS });
    const datagram = createKnockPacket({
      credentials: { privateKey: client.privateKey, certificate: client.certificate },
      serverCertificate: server.certificate,
      protocol: 'udp',
      port: 8000,
      address: '192.0.2.7',
    });
    assert.equal(datagram.length, client.datagramLength);
    const opened = openKnockPacket(datagram, { privateKey: server.privateKey }, { family: 4 });
    assert.equal(opened.port, 8000);
    assert.equal(opened.protocol, 'udp');
    assert.deepEqual(Buffer.from(opened.certificate), Buffer.from(client.certificate));
    assert.equal(verifyKnockSignature(opened), true);
    assert.deepEqual(parsePortGrants(opened.certificate), GRANTS);
    const other = await issueServerCertificate(ca, { name: 'other.example' });
    // Another server's key turns the ciphertext into noise, whose padding is valid about 1 time in 256 (then it does not frame).
    assert.throws(
      () => openKnockPacket(datagram, { privateKey: other.privateKey }, { family: 4 }),
      (err: { code?: string }) => err.code === 'ERR_SKNOCK_DECRYPT_FAILED' || err.code === 'ERR_SKNOCK_MALFORMED_REQUEST',
    );
  });

  it('makes unique random positive 16-octet serials, written canonically', async () => {
    const serials = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const c = await issueClientCertificate(ca, { name: `s${i}`, grants: [GRANTS[0]!], minimumDatagramLength: 0 });
      assert.match(c.serial, /^[1-7][0-9a-f]{31}$/);
      assert.equal(normalizeSerial(new X509Certificate(c.certificate).serialNumber), c.serial);
      serials.add(c.serial);
    }
    assert.equal(serials.size, 20);
  });

  it('honours validity options and refuses certificates that outlive the CA', async () => {
    const notBefore = new Date('2020-01-01T00:00:00Z');
    const notAfter = new Date('2020-01-02T00:00:00Z');
    const old = await issueClientCertificate(ca, { name: 'old', grants: GRANTS, notBefore, notAfter });
    assert.deepEqual([old.notBefore, old.notAfter], [notBefore, notAfter]);
    assert.equal(new Date(new X509Certificate(old.certificate).validTo).getTime(), notAfter.getTime());
    const short = await issueClientCertificate(ca, { name: 'short', grants: GRANTS, validityDays: 2 });
    assert.ok(Math.abs(short.notAfter.getTime() - (Date.now() + 2 * 86_400_000)) < 5_000);
    await assert.rejects(issueClientCertificate(ca, { name: 'long', grants: GRANTS, validityDays: 4000 }), { code: 'ERR_SKNOCK_CA_INVALID_VALIDITY' });
    await assert.rejects(issueClientCertificate(ca, { name: 'x', grants: GRANTS, notBefore: notAfter, notAfter: notBefore }), {
      code: 'ERR_SKNOCK_CA_INVALID_VALIDITY',
    });
  });

  it('cuts a default lifetime at the CA\'s end, and an expired CA issues nothing', async () => {
    const brief = await createCa({ name: 'Brief CA', validityDays: 10 });
    const server2 = await issueServerCertificate(brief, { name: 'h.example' });
    assert.equal(server2.notAfter.getTime(), brief.notAfter.getTime());
    assert.equal(new Date(new X509Certificate(server2.certificate).validTo).getTime(), brief.notAfter.getTime());
    await assert.rejects(issueServerCertificate(brief, { name: 'h.example', validityDays: 11 }), { code: 'ERR_SKNOCK_CA_INVALID_VALIDITY' });
    const expiredCa = { ...brief, notAfter: new Date(Date.now() - 1000) };
    await assert.rejects(issueClientCertificate(expiredCa, { name: 'late', grants: GRANTS }), { code: 'ERR_SKNOCK_CA_INVALID_VALIDITY', message: /expired/ });
  });

  it('rejects bad arguments with typed errors that name them', async () => {
    await assert.rejects(createCa({ name: '' }), { code: 'ERR_SKNOCK_CA_INVALID_ARGUMENT', message: /name/ });
    await assert.rejects(createCa({ name: 'x'.repeat(65) }), { code: 'ERR_SKNOCK_CA_INVALID_ARGUMENT', message: /64/ });
    await assert.rejects(createCa({ name: 'ok', validityDays: -1 }), { code: 'ERR_SKNOCK_CA_INVALID_ARGUMENT', message: /validityDays/ });
    await assert.rejects(issueClientCertificate(ca, { name: 'a', grants: [] }), { code: 'ERR_SKNOCK_CA_INVALID_GRANT' });
    await assert.rejects(issueClientCertificate(ca, { name: 'a', grants: [{ protocol: 'tcp', port: 70000 }] }), {
      code: 'ERR_SKNOCK_CA_INVALID_GRANT',
      message: /grants\[0\]\.port/,
    });
    await assert.rejects(issueClientCertificate(ca, { name: 'a', grants: [{ protocol: 'icmp' as 'tcp', port: 1 }] }), {
      code: 'ERR_SKNOCK_CA_INVALID_GRANT',
    });
    await assert.rejects(issueClientCertificate({} as CertificateAuthority, { name: 'a', grants: GRANTS }), { code: 'ERR_SKNOCK_CA_INVALID_ARGUMENT', message: /ca must be/ });
    await assert.rejects(issueClientCertificate(ca, { name: 'a', grants: GRANTS, minimumDatagramLength: 5000 }), { message: /minimumDatagramLength/ });
  });

  it('reads tcp/22-style grants and nothing else', () => {
    assert.deepEqual(parseGrantSpec('tcp/22'), { protocol: 'tcp', port: 22 });
    assert.deepEqual(parseGrantSpec('UDP/8000'), { protocol: 'udp', port: 8000 });
    assert.equal(formatGrantSpec({ protocol: 'udp', port: 8000 }), 'udp/8000');
    for (const bad of ['tcp/70000', 'icmp/1', 'tcp/', 'tcp/0', '22', 'tcp/22/1', 'tcp/-1', ' / ']) {
      assert.throws(() => parseGrantSpec(bad), { code: 'ERR_SKNOCK_CA_INVALID_GRANT' }, bad);
    }
  });

  it('loads a CA from its PEM key and certificate and keeps issuing under the same issuer and key id', async () => {
    const key = ca.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const again = await loadCa({ key, certificate: encodePem('CERTIFICATE', ca.certificate) });
    assert.deepEqual(again.keyIdentifier, ca.keyIdentifier);
    assert.equal(again.name, 'Example Knock CA');
    assert.equal(again.serial, ca.serial);
    const client = await issueClientCertificate(again, { name: 'bob', grants: GRANTS });
    assert.ok(new X509Certificate(client.certificate).checkIssued(new X509Certificate(ca.certificate)));
    const other = await createCa({ name: 'Other CA' });
    await assert.rejects(loadCa({ key: other.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, certificate: ca.certificate }), {
      code: 'ERR_SKNOCK_CA_UNSUPPORTED_KEY',
    });
    await assert.rejects(loadCa({ key, certificate: server.certificate }), { code: 'ERR_SKNOCK_CA_INVALID_CA' });
  });

  it('loadCa opens a CA key encrypted as openssl writes it (PBES2, scrypt) with its passphrase, and only with it', async () => {
    const dir = tempFolder('sknock-ca-enc');
    try {
      const plain = join(dir.path, 'plain.pem');
      writeFileSync(plain, ca.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
      const made = openssl(['pkcs8', '-topk8', '-in', plain, '-v2', 'aes-256-cbc', '-scrypt', '-passout', 'pass:open sesame', '-out', join(dir.path, 'enc.pem')]);
      assert.equal(made.status, 0, made.stderr);
      const key = readFileSync(join(dir.path, 'enc.pem'), 'utf8');
      assert.match(key, /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
      const again = await loadCa({ key, certificate: ca.certificate, passphrase: 'open sesame' });
      assert.deepEqual(again.keyIdentifier, ca.keyIdentifier);
      await assert.rejects(loadCa({ key, certificate: ca.certificate, passphrase: 'open sesamE' }), { code: 'ERR_SKNOCK_CA_BAD_PASSPHRASE', message: /does not open/ });
      await assert.rejects(loadCa({ key, certificate: ca.certificate }), { code: 'ERR_SKNOCK_CA_PASSPHRASE', message: /encrypted/ });
      await assert.rejects(loadCa({ key, certificate: ca.certificate, passphrase: 42 as unknown as string }), { code: 'ERR_SKNOCK_CA_INVALID_ARGUMENT' });
      // a passphrase given for an unencrypted key is not used
      assert.equal((await loadCa({ key: readFileSync(plain, 'utf8'), certificate: ca.certificate, passphrase: 'x' })).serial, ca.serial);
    } finally {
      dir.remove();
    }
  });

  it('warns of certificates valid past 2049 (GeneralizedTime, which sKnock 1.0.0 cannot read) and refuses them in the legacy form unless allowed', async () => {
    const long = await createCa({ name: 'Long CA', validityDays: 36500 });
    const notAfter = new Date(Date.UTC(2051, 6, 1));
    const client = await issueClientCertificate(long, { name: 'late', grants: GRANTS, notAfter });
    assert.deepEqual(client.warnings.map((w) => w.code), ['WARN_SKNOCK_CA_AFTER_2049']);
    assert.match(client.warnings[0]?.message ?? '', /2051-07-01.*GeneralizedTime.*sKnock 1\.0\.0/);
    assert.match(opensslAsn1(client.certificate), /GENERALIZEDTIME\s+:20510701000000Z/, 'the premise: X.509 writes 2051 as GeneralizedTime');
    await assert.rejects(issueClientCertificate(long, { name: 'late', grants: GRANTS, notAfter, pkcs12: { passphrase: 'pw', legacy: true } }), {
      code: 'ERR_SKNOCK_CA_AFTER_2049',
      message: /legacy/,
    });
    await assert.rejects(issueServerCertificate(long, { name: 'late.example', notAfter, pkcs12: { passphrase: 'pw', legacy: true } }), { code: 'ERR_SKNOCK_CA_AFTER_2049' });
    const allowed = await issueClientCertificate(long, { name: 'late', grants: GRANTS, notAfter, allowAfter2049: true, pkcs12: { passphrase: 'pw', legacy: true } });
    assert.deepEqual(allowed.warnings, []);
    const server = await issueServerCertificate(long, { name: 'late.example', notAfter });
    assert.deepEqual(server.warnings.map((w) => w.code), ['WARN_SKNOCK_CA_AFTER_2049']);
    const early = await issueClientCertificate(long, { name: 'early', grants: GRANTS, notAfter: new Date(Date.UTC(2049, 11, 31, 23, 59, 59)), pkcs12: { passphrase: 'pw', legacy: true } });
    assert.deepEqual(early.warnings, [], 'the last second of 2049 is still UTCTime');
    assert.match(opensslAsn1(early.certificate), /UTCTIME\s+:491231235959Z/);
    await assert.rejects(issueClientCertificate(long, { name: 'x', grants: GRANTS, allowAfter2049: 'yes' as unknown as boolean }), { code: 'ERR_SKNOCK_CA_INVALID_ARGUMENT', message: /allowAfter2049/ });
  });

  describe('signCsr', () => {
    const dir = tempFolder('sknock-ca-csr');
    after(() => dir.remove());

    function request(name: string, keyArgs: string[]): { pem: string; der: Buffer } {
      const out = join(dir.path, `${name}.csr`);
      const r = openssl(['req', '-new', ...keyArgs, '-nodes', '-keyout', join(dir.path, `${name}.key`), '-subj', `/CN=${name}`, '-out', out]);
      assert.equal(r.status, 0, r.stderr);
      const pem = readFileSync(out, 'utf8');
      const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
      return { pem, der };
    }

    it('signs an openssl P-256 request (PEM or DER) as a client certificate for its key', async () => {
      const { pem, der } = request('carol', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']);
      for (const input of [pem, der]) {
        const signed = await signCsr(ca, input, { grants: GRANTS });
        assert.equal(signed.subject, 'CN=carol');
        assert.equal(signed.name, 'carol');
        assert.deepEqual(parsePortGrants(signed.certificate), GRANTS);
        const cert = new X509Certificate(signed.certificate);
        const key = readFileSync(join(dir.path, 'carol.key'), 'utf8');
        assert.ok(cert.checkPrivateKey(await import('node:crypto').then((c) => c.createPrivateKey(key))));
        assert.ok(cert.checkIssued(new X509Certificate(ca.certificate)));
        assert.ok(signed.datagramLength >= 758 && signed.datagramLength <= 1232);
      }
      const renamed = await signCsr(ca, pem, { grants: GRANTS, name: 'carol-laptop' });
      assert.equal(new X509Certificate(renamed.certificate).subject, 'CN=carol-laptop');
    });

    it('refuses a request whose signature does not verify', async () => {
      const { der } = request('carol', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']);
      const at = der.indexOf(Buffer.from('carol'));
      assert.ok(at > 0);
      const tampered = Buffer.from(der);
      tampered[at + 4] = 't'.charCodeAt(0);
      await assert.rejects(signCsr(ca, tampered, { grants: GRANTS }), { code: 'ERR_SKNOCK_CA_INVALID_CSR', message: /signature/ });
    });

    it('refuses keys other than P-256 and garbage', async () => {
      const { pem } = request('dave', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384']);
      await assert.rejects(signCsr(ca, pem, { grants: GRANTS }), { code: 'ERR_SKNOCK_CA_UNSUPPORTED_KEY', message: /P-256/ });
      const ed = request('erin', ['-newkey', 'ed25519']);
      await assert.rejects(signCsr(ca, ed.pem, { grants: GRANTS }), { code: 'ERR_SKNOCK_CA_UNSUPPORTED_KEY' });
      await assert.rejects(signCsr(ca, 'not a request', { grants: GRANTS }), { code: 'ERR_SKNOCK_CA_INVALID_CSR' });
      await assert.rejects(signCsr(ca, new Uint8Array([0x30, 0x03, 1, 2, 3]), { grants: GRANTS }), { code: 'ERR_SKNOCK_CA_INVALID_CSR' });
    });
  });
});
