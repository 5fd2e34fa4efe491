import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createKnockPacket, loadCredentials, openKnockPacket, parsePortGrants, verifyKnockSignature } from '@sknock/protocol';
import {
  createCa,
  createCrl,
  encodeCrlPem,
  issueClientCertificate,
  issueServerCertificate,
  type CertificateAuthority,
  type IssuedClientCertificate,
} from '../src/index.js';
import { openssl, tempFolder, writeCertificatePem } from './support/ca-tools.js';

/** openssl as the independent judge of what the CA writes. */

const GRANTS = [
  { protocol: 'tcp', port: 22 },
  { protocol: 'udp', port: 8000 },
] as const;

describe('sknock-ca output read by openssl', () => {
  const dir = tempFolder('sknock-ca-openssl');
  let ca: CertificateAuthority;
  let good: IssuedClientCertificate;
  let expired: IssuedClientCertificate;
  let revoked: IssuedClientCertificate;
  let caPem: string;
  let crlPem: string;
  let crlDer: string;

  before(async () => {
    ca = await createCa({ name: 'Example Knock CA' });
    good = await issueClientCertificate(ca, { name: 'good', grants: [...GRANTS] });
    expired = await issueClientCertificate(ca, {
      name: 'expired',
      grants: [...GRANTS],
      notBefore: new Date(Date.now() - 3 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    });
    revoked = await issueClientCertificate(ca, { name: 'revoked', grants: [...GRANTS] });
    const crl = await createCrl(ca, {
      revoked: [{ serial: revoked.serial, date: new Date(Date.now() - 60_000), reason: 'keyCompromise' }],
      crlNumber: 7,
    });
    caPem = writeCertificatePem(dir.path, 'ca.pem', ca.certificate);
    crlPem = join(dir.path, 'crl.pem');
    crlDer = join(dir.path, 'crl.der');
    writeFileSync(crlPem, encodeCrlPem(crl));
    writeFileSync(crlDer, crl);
  });
  after(() => dir.remove());

  function verify(name: string, der: Uint8Array): { status: number | null; text: string } {
    const path = writeCertificatePem(dir.path, `${name}.pem`, der);
    const r = openssl(['verify', '-CAfile', caPem, '-crl_check', '-CRLfile', crlPem, path]);
    return { status: r.status, text: r.stdout + r.stderr };
  }

  it('openssl verify -crl_check: issued OK, expired refused as expired, revoked refused as revoked', () => {
    const ok = verify('good', good.certificate);
    assert.equal(ok.status, 0, ok.text);
    assert.match(ok.text, /good\.pem: OK/);
    const old = verify('expired', expired.certificate);
    assert.notEqual(old.status, 0);
    assert.match(old.text, /certificate has expired/);
    const gone = verify('revoked', revoked.certificate);
    assert.notEqual(gone.status, 0);
    assert.match(gone.text, /certificate revoked/);
  });

  it('openssl verify refuses a certificate from another CA and a tampered one (the check can fail)', async () => {
    const stranger = await createCa({ name: 'Example Knock CA' }); // same name, other key
    const foreign = await issueClientCertificate(stranger, { name: 'good', grants: [...GRANTS] });
    const r = verify('foreign', foreign.certificate);
    assert.notEqual(r.status, 0, r.text);
    const tampered = Buffer.from(good.certificate);
    const at = tampered.indexOf(Buffer.from('good'));
    tampered[at] = 'G'.charCodeAt(0);
    const t = verify('tampered', tampered);
    assert.notEqual(t.status, 0, t.text);
    assert.match(t.text, /signature failure/i);
  });

  it('server certificates verify too', async () => {
    const server = await issueServerCertificate(ca, { name: 'knock.example.org' });
    const r = verify('server', server.certificate);
    assert.equal(r.status, 0, r.text);
    const purpose = openssl(['verify', '-CAfile', caPem, '-purpose', 'sslserver', join(dir.path, 'server.pem')]);
    assert.equal(purpose.status, 0, purpose.stdout + purpose.stderr);
    const wrong = openssl(['verify', '-CAfile', caPem, '-purpose', 'sslclient', join(dir.path, 'server.pem')]);
    assert.notEqual(wrong.status, 0);
    const client = openssl(['verify', '-CAfile', caPem, '-purpose', 'sslclient', join(dir.path, 'good.pem')]);
    assert.equal(client.status, 0, client.stdout + client.stderr);
  });

  it('openssl crl reads the DER and the X509 CRL PEM: v2, CRL number, key id, the revoked serial and reason, signature', () => {
    const r = openssl(['crl', '-inform', 'DER', '-in', crlDer, '-noout', '-text']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Version 2/);
    assert.match(r.stdout, /X509v3 CRL Number: \n\s+7\n/);
    assert.match(r.stdout, /X509v3 Authority Key Identifier:/);
    assert.match(r.stdout, new RegExp(`Serial Number: ${revoked.serial.toUpperCase()}`));
    assert.match(r.stdout, /Key Compromise/);
    assert.match(r.stdout, /Next Update:/);
    const pem = openssl(['crl', '-in', crlPem, '-noout', '-crlnumber', '-CAfile', caPem]);
    assert.equal(pem.status, 0, pem.stderr);
    assert.match(pem.stdout + pem.stderr, /crlNumber=0x07/);
    assert.match(pem.stdout + pem.stderr, /verify OK/);
  });

  it('CRL options are checked', async () => {
    await assert.rejects(createCrl(ca, { revoked: [], crlNumber: -1 }), { code: 'ERR_SKNOCK_CA_INVALID_ARGUMENT', message: /crlNumber/ });
    await assert.rejects(createCrl(ca, { revoked: [{ serial: 'zz', date: new Date() }], crlNumber: 1 }), { message: /revoked\[0\]\.serial/ });
    const d = new Date();
    await assert.rejects(createCrl(ca, { revoked: [{ serial: '0a', date: d }, { serial: 'A', date: d }], crlNumber: 1 }), { message: /twice/ });
    await assert.rejects(createCrl(ca, { revoked: [], crlNumber: 1, thisUpdate: d, nextUpdate: d }), { message: /nextUpdate/ });
    const big = await createCrl(ca, { revoked: [], crlNumber: 2n ** 100n });
    writeFileSync(join(dir.path, 'big.der'), big);
    const r = openssl(['crl', '-inform', 'DER', '-in', join(dir.path, 'big.der'), '-noout', '-crlnumber']);
    assert.match(r.stdout, /crlNumber=0x10000000000000000000000000/);
  });

  for (const legacy of [false, true]) {
    it(`PKCS#12 (${legacy ? 'legacy RC2/3DES' : 'PBES2'}) is read by openssl pkcs12 -info and by loadCredentials, and knocks`, async () => {
      const server = await issueServerCertificate(ca, { name: 'knock.example.org', pkcs12: { passphrase: 'server pw', legacy } });
      const client = await issueClientCertificate(ca, { name: 'alice', grants: [...GRANTS], pkcs12: { passphrase: 'pässwörd', legacy } });
      assert.ok(client.pfx instanceof Uint8Array && server.pfx instanceof Uint8Array);
      const path = join(dir.path, `alice-${legacy}.pfx`);
      writeFileSync(path, client.pfx);
      const args = ['pkcs12', '-info', '-in', path, '-passin', 'pass:pässwörd', '-noout', ...(legacy ? ['-legacy'] : [])];
      const r = openssl(args);
      assert.equal(r.status, 0, r.stderr);
      const info = r.stdout + r.stderr;
      assert.match(info, legacy ? /pbeWithSHA1And40BitRC2-CBC/ : /PBES2, PBKDF2, AES-256-CBC/);
      assert.match(info, legacy ? /pbeWithSHA1And3-KeyTripleDES-CBC/ : /MAC: sha256/);
      assert.equal((info.match(/Certificate bag/g) ?? []).length, 2, 'client and CA certificates');
      const wrong = openssl(['pkcs12', '-info', '-in', path, '-passin', 'pass:wrong', '-noout', ...(legacy ? ['-legacy'] : [])]);
      assert.notEqual(wrong.status, 0);

      const creds = await loadCredentials({ pfx: client.pfx, passphrase: 'pässwörd' });
      assert.deepEqual(Buffer.from(creds.certificate), Buffer.from(client.certificate));
      assert.deepEqual(creds.caCertificates.map((c) => Buffer.from(c)), [Buffer.from(ca.certificate)]);
      assert.deepEqual(parsePortGrants(creds.certificate), [...GRANTS]);
      const serverCreds = await loadCredentials({ pfx: server.pfx, passphrase: 'server pw' });
      const datagram = createKnockPacket({ credentials: creds, serverCertificate: server.certificate, protocol: 'tcp', port: 22, address: '2001:db8::7' });
      assert.equal(datagram.length, client.datagramLength);
      const opened = openKnockPacket(datagram, serverCreds, { family: 6 });
      assert.equal(verifyKnockSignature(opened), true);
      assert.ok(new X509Certificate(opened.certificate).checkIssued(new X509Certificate(ca.certificate)));
    });
  }
});
