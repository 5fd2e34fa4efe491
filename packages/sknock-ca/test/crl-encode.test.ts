import 'reflect-metadata';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as x509 from '@peculiar/x509';
import { certificateSubject, encodeTime } from '../src/crl-encode.js';
import { createCa, createCrl, encodeCrlPem, issueClientCertificate } from '../src/index.js';
import { openssl, tempFolder, writeCertificatePem } from './support/ca-tools.js';

/**
 * The CRL encoder (src/crl-encode.ts) checked by the real `openssl crl`: it parses and
 * verifies what the encoder writes, shows each entry with its date and reason, and counts
 * every entry of a 10,000-entry CRL. The round trip through the decoder (@sknock/protocol/crl) is in
 * crl-roundtrip.test.ts.
 */

const ca = await createCa({ name: 'CRL Encode CA' });

describe('CRL encoder, read by openssl crl', () => {
  const dir = tempFolder('sknock-crl-encode');
  after(() => dir.remove());
  const caPem = writeCertificatePem(dir.path, 'ca.pem', ca.certificate);

  /** `openssl crl -inform DER -noout -text -CAfile ca.pem` of `der`: its text, and whether the signature verified. */
  function opensslText(der: Uint8Array, name: string): string {
    const file = join(dir.path, name);
    writeFileSync(file, der);
    const r = openssl(['crl', '-inform', 'DER', '-in', file, '-noout', '-text', '-CAfile', caPem]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr + r.stdout, /verify OK/, 'openssl verifies the signature with the CA certificate');
    return r.stdout;
  }

  it('entries with and without a reason, dates before and after 2050, a serial with its high bit set', async () => {
    const der = await createCrl(ca, {
      revoked: [
        { serial: '80ff', date: new Date('2049-12-31T23:59:59Z'), reason: 'keyCompromise' },
        { serial: '0x00:0a', date: new Date('2050-01-01T00:00:00Z') },
        { serial: '7B2C5D0E9F11AA22', date: new Date('1999-06-07T08:09:10Z'), reason: 'superseded' },
      ],
      crlNumber: (1n << 159n) - 1n,
      thisUpdate: new Date('2026-01-02T03:04:05Z'),
      nextUpdate: new Date('2051-02-03T04:05:06Z'),
    });
    const text = opensslText(der, 'mixed.der');
    assert.match(text, /Version 2 \(0x1\)/);
    assert.match(text, /Issuer: CN ?= ?CRL Encode CA/);
    assert.match(text, /Last Update: Jan  2 03:04:05 2026 GMT/);
    assert.match(text, /Next Update: Feb  3 04:05:06 2051 GMT/);
    assert.match(text, new RegExp(`X509v3 Authority Key Identifier: *\\n\\s+(keyid:)?${Buffer.from(ca.keyIdentifier).toString('hex').toUpperCase().match(/../g)?.join(':')}`));
    assert.match(text, /X509v3 CRL Number: *\n\s+0x7FFF(FF)+\n/i);
    // One block per entry, in the order given; only the entries with a reason have extensions.
    const blocks = text.split('Revoked Certificates:')[1]?.split('Signature Algorithm')[0]?.split(/\n(?=\s+Serial Number:)/).filter((b) => /Serial Number/.test(b)) ?? [];
    assert.equal(blocks.length, 3, text);
    assert.match(blocks[0] as string, /Serial Number: 80FF\s+Revocation Date: Dec 31 23:59:59 2049 GMT\s+CRL entry extensions:\s+X509v3 CRL Reason Code: *\n\s+Key Compromise/);
    assert.match(blocks[1] as string, /Serial Number: 0A\s+Revocation Date: Jan  1 00:00:00 2050 GMT\s*$/);
    assert.match(blocks[2] as string, /Serial Number: 7B2C5D0E9F11AA22\s+Revocation Date: Jun  7 08:09:10 1999 GMT\s+CRL entry extensions:\s+X509v3 CRL Reason Code: *\n\s+Superseded/);
  });

  it('no revoked certificate: the list is left out, and openssl says so', async () => {
    const text = opensslText(await createCrl(ca, { revoked: [], crlNumber: 0 }), 'empty.der');
    assert.match(text, /No Revoked Certificates\./);
    assert.match(text, /X509v3 CRL Number: *\n\s+0\n/);
  });

  it('10,000 entries: openssl reads every one, and the PEM form verifies too', async () => {
    const revoked = Array.from({ length: 10_000 }, (_, i) => ({ serial: (0x10000 + i).toString(16), date: new Date(1_700_000_000_000 + i * 1000) }));
    const der = await createCrl(ca, { revoked, crlNumber: 42 });
    const text = opensslText(der, 'big.der');
    assert.equal(text.match(/Serial Number: /g)?.length, 10_000);
    // (openssl prints serials as whole octets.) Not assert.match: its message would hold all 10,000.
    assert.ok(/Serial Number: 010000\n\s+Revocation Date: Nov 14 22:13:20 2023 GMT\n/.test(text), 'the first entry');
    assert.ok(/Serial Number: 01270F\n\s+Revocation Date: Nov 15 00:59:59 2023 GMT\n/.test(text), 'the last entry');
    const pemFile = join(dir.path, 'big.pem');
    writeFileSync(pemFile, encodeCrlPem(der));
    const r = openssl(['crl', '-in', pemFile, '-noout', '-crlnumber', '-CAfile', caPem]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /crlNumber=0x2A/);
    assert.match(r.stdout + r.stderr, /verify OK/);
  });

  it('revokes for openssl verify -crl_check: a revoked client certificate is refused, another one passes', async () => {
    const alice = await issueClientCertificate(ca, { name: 'alice', grants: [{ protocol: 'tcp', port: 22 }] });
    const bob = await issueClientCertificate(ca, { name: 'bob', grants: [{ protocol: 'tcp', port: 22 }] });
    const crlPem = join(dir.path, 'revokes.pem');
    writeFileSync(crlPem, encodeCrlPem(await createCrl(ca, { revoked: [{ serial: alice.serial, date: new Date() }], crlNumber: 1 })));
    const refused = openssl(['verify', '-CAfile', caPem, '-crl_check', '-CRLfile', crlPem, writeCertificatePem(dir.path, 'alice.pem', alice.certificate)]);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stdout + refused.stderr, /certificate revoked/);
    const passed = openssl(['verify', '-CAfile', caPem, '-crl_check', '-CRLfile', crlPem, writeCertificatePem(dir.path, 'bob.pem', bob.certificate)]);
    assert.equal(passed.status, 0, passed.stdout + passed.stderr);
  });
});

describe('CRL encoder parts', () => {
  it('times: UTCTime from 1950 to 2049, GeneralizedTime before and after (RFC 5280 §5.1.2.4)', () => {
    const text = (d: string): string => {
      const tlv = encodeTime(new Date(d));
      return `${tlv[0]?.toString(16)} ${Buffer.from(tlv.subarray(2)).toString('latin1')}`;
    };
    assert.equal(text('2049-12-31T23:59:59Z'), '17 491231235959Z');
    assert.equal(text('2050-01-01T00:00:00Z'), '18 20500101000000Z');
    assert.equal(text('1950-01-01T00:00:00Z'), '17 500101000000Z');
    assert.equal(text('1949-12-31T23:59:59Z'), '18 19491231235959Z');
  });

  it('the issuer is the CA certificate subject, byte for byte', () => {
    const subject = new Uint8Array(new x509.X509Certificate(ca.certificate).subjectName.toArrayBuffer());
    assert.deepEqual(new Uint8Array(certificateSubject(ca.certificate)), subject);
    assert.throws(() => certificateSubject(Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x01)), { code: 'ERR_SKNOCK_CA_INVALID_CA' });
    assert.throws(() => certificateSubject(Uint8Array.of(0x04, 0x00)), { code: 'ERR_SKNOCK_CA_INVALID_CA' });
  });
});
