import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { createKnockPacket, openKnockPacket, readCertificate, verifyKnockSignature, knockCertificateKey } from '../src/index.js';
import { certificateP256Key } from '../src/x509/certificate-key.js';
import { openssl, withTmp } from './support/openssl.js';
import { clientCertificate, clientCredentials, golden, serverKey } from './support/golden.js';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';

function selfSigned(keyArgs: string[]): Uint8Array {
  return withTmp((dir) => {
    openssl(['req', '-x509', '-newkey', ...keyArgs, '-nodes', '-keyout', join(dir, 'k'), '-subj', '/CN=x', '-days', '1', '-out', join(dir, 'c')]);
    return readCertificate(readFileSync(join(dir, 'c'), 'utf8'));
  });
}

test('the key read from the SPKI is the key X509Certificate sees', () => {
  const mine = certificateP256Key(clientCertificate);
  assert.ok(mine);
  const theirs = new X509Certificate(clientCertificate).publicKey;
  assert.deepEqual(mine.export({ format: 'jwk' }), theirs.export({ format: 'jwk' }));
});

test('certificates with other keys, or none, give null', () => {
  assert.equal(certificateP256Key(selfSigned(['rsa:2048'])), null);
  assert.equal(certificateP256Key(selfSigned(['ec', '-pkeyopt', 'ec_paramgen_curve:P-384'])), null);
  assert.equal(certificateP256Key(new Uint8Array([0x30, 0x03, 0x30, 0x01, 0x00])), null);
  assert.equal(certificateP256Key(clientCertificate.subarray(0, 300)), null);
  assert.equal(knockCertificateKey(new Uint8Array(10)), null);
});

test('verifyKnockSignature takes a key the caller already holds, and refuses a wrong one', () => {
  const d = createKnockPacket({ credentials: clientCredentials, serverCertificate: golden.serverCertificatePem, protocol: 'tcp', port: 2000, address: '127.0.0.1' });
  const opened = openKnockPacket(d, { privateKey: serverKey }, { family: 4 });
  const key = new X509Certificate(clientCertificate).publicKey;
  assert.equal(verifyKnockSignature(opened, key), true);
  const other = createPrivateKey(golden.serverKeyPem);
  assert.equal(verifyKnockSignature(opened, new X509Certificate(readCertificate(golden.serverCertificatePem)).publicKey), false);
  assert.equal(verifyKnockSignature(opened, other), false, 'a private key is not a verification key');
});
