import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { encodeGrantsSubjectAltName, formatPortGrants, parseGrantString, parsePortGrants, readCertificate, type PortGrant } from '../src/index.js';
import { makeOpensslPki, openssl } from './support/openssl.js';

test('grant strings parse as PROTOCOL.md describes', () => {
  assert.deepEqual(parseGrantString('1.2000,1.3000,0.8000'), [
    { protocol: 'tcp', port: 2000 },
    { protocol: 'tcp', port: 3000 },
    { protocol: 'udp', port: 8000 },
  ]);
  assert.deepEqual(parseGrantString(' 1.22 , 0.53 '), [{ protocol: 'tcp', port: 22 }, { protocol: 'udp', port: 53 }]);
});

test('malformed grant strings are typed errors, never an empty list', () => {
  for (const s of ['', ' ', '1.', '.22', '2.22', '1.0', '1.65536', '1.22,', '1.22;0.53', 'tcp/22', '1.022222', '1.-1', '1.2 2']) {
    assert.throws(() => parseGrantString(s), { code: 'ERR_SKNOCK_MALFORMED_GRANTS' }, JSON.stringify(s));
  }
});

test('formatPortGrants is the inverse of parseGrantString', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ protocol: fc.constantFrom('tcp' as const, 'udp' as const), port: fc.integer({ min: 1, max: 65535 }) }), { minLength: 1, maxLength: 20 }),
      (grants: PortGrant[]) => {
        assert.deepEqual(parseGrantString(formatPortGrants(grants)), grants.map((g) => ({ ...g })));
      },
    ),
    { numRuns: 200 },
  );
  assert.throws(() => formatPortGrants([]), { code: 'ERR_SKNOCK_INVALID_ARGUMENT' });
  assert.throws(() => formatPortGrants([{ protocol: 'tcp', port: 70000 }]), { code: 'ERR_SKNOCK_INVALID_ARGUMENT', message: /grants\[0\]\.port/ });
});

test('grants written by openssl are read back from the certificate', () => {
  const pki = makeOpensslPki('1.22,0.8000', 'Grant Reader', 'DNS.1=client.example\n');
  assert.deepEqual(parsePortGrants(readCertificate(pki.clientCert)), [{ protocol: 'tcp', port: 22 }, { protocol: 'udp', port: 8000 }]);
});

test('a certificate without the sKnock otherName grants nothing', () => {
  const pki = makeOpensslPki();
  assert.deepEqual(parsePortGrants(readCertificate(pki.serverCert)), []);
});

test('a malformed grant string inside a certificate is an error', () => {
  const pki = makeOpensslPki('1.99999');
  assert.throws(() => parsePortGrants(readCertificate(pki.clientCert)), { code: 'ERR_SKNOCK_MALFORMED_GRANTS' });
});

test('encodeGrantsSubjectAltName is what openssl shows as the sKnock otherName', () => {
  const der = encodeGrantsSubjectAltName([{ protocol: 'tcp', port: 2000 }, { protocol: 'udp', port: 8000 }]);
  const text = openssl(['asn1parse', '-inform', 'DER'], Buffer.from(der)).toString();
  assert.match(text, /OBJECT\s+:1\.3\.6\.1\.4\.1\.19518/);
  assert.match(text, /UTF8STRING\s+:1\.2000,0\.8000/);
});

test('arbitrary bytes into parsePortGrants give only typed errors', () => {
  const valid = readCertificate(makeOpensslPki().clientCert);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1200 }), fc.nat(valid.length - 1), fc.uint8Array({ minLength: 1, maxLength: 8 }), (junk, at, patch) => {
      for (const input of [junk, (() => { const c = new Uint8Array(valid); c.set(patch.subarray(0, c.length - at), at); return c; })()]) {
        try {
          parsePortGrants(input);
        } catch (err) {
          assert.equal((err as Error).name, 'SknockProtocolError', String(err));
        }
      }
    }),
    { numRuns: 500 },
  );
  // X509Certificate is unused here but keeps the import of node:crypto honest in the bundle
  assert.ok(new X509Certificate(valid));
});
