import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { loadCredentials, isSknockProtocolError, type SknockProtocolErrorCode } from '../src/index.js';
import { makeFixtures, type Fixtures } from './credentials-fixtures.js';

let f: Fixtures;
let clientDer: Uint8Array;
let caDer: Uint8Array;
let clientKey: KeyObject;
const KEY_PASS = 'key pass';

function der(pemFile: string): Uint8Array {
  return new Uint8Array(new X509Certificate(f.read(pemFile)).raw);
}

function samePublicKey(a: KeyObject, b: KeyObject): void {
  assert.deepEqual(createPublicKey(a).export({ format: 'jwk' }), createPublicKey(b).export({ format: 'jwk' }));
}

async function rejectsWith(promise: Promise<unknown>, code: SknockProtocolErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isSknockProtocolError(err), `expected a SknockProtocolError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message !== undefined) assert.match(err.message, message);
    return true;
  });
}

before(() => {
  f = makeFixtures();
  clientDer = der('client.pem');
  caDer = der('ca.pem');
  clientKey = createPrivateKey(f.read('client.key'));
  f.openssl(['pkey', '-in', 'client.key', '-outform', 'DER', '-out', 'client-pkcs8.der']);
  f.openssl(['ec', '-in', 'client.key', '-outform', 'DER', '-out', 'client-sec1.der']);
  f.openssl(['ec', '-in', 'client.key', '-out', 'client-sec1.pem']);
  f.openssl(['pkcs8', '-topk8', '-in', 'client.key', '-v2', 'aes-256-cbc', '-passout', `pass:${KEY_PASS}`, '-out', 'client-enc.pem']);
  f.openssl(['pkcs8', '-topk8', '-in', 'client.key', '-v2', 'aes-256-cbc', '-passout', `pass:${KEY_PASS}`, '-outform', 'DER', '-out', 'client-enc.der']);
  f.openssl(['ec', '-in', 'client.key', '-aes256', '-passout', `pass:${KEY_PASS}`, '-out', 'client-sec1-enc.pem']);
});

after(() => f?.cleanup());

describe('loadCredentials({ key, certificate, ca? })', () => {
  test('PKCS#8 PEM key, PEM certificate, PEM CA (as text and as bytes)', async () => {
    for (const asText of [true, false]) {
      const c = await loadCredentials({
        key: asText ? f.text('client.key') : f.read('client.key'),
        certificate: asText ? f.text('client.pem') : f.read('client.pem'),
        ca: asText ? f.text('ca.pem') : f.read('ca.pem'),
      });
      assert.deepEqual(c.certificate, clientDer);
      assert.deepEqual(c.caCertificates, [caDer]);
      samePublicKey(c.privateKey, clientKey);
      assert.equal(c.privateKey.type, 'private');
    }
  });

  test('DER keys (PKCS#8 and SEC 1) and DER certificates', async () => {
    for (const keyFile of ['client-pkcs8.der', 'client-sec1.der']) {
      const c = await loadCredentials({ key: f.read(keyFile), certificate: clientDer, ca: [caDer] });
      assert.deepEqual(c.certificate, clientDer, keyFile);
      assert.deepEqual(c.caCertificates, [caDer]);
      samePublicKey(c.privateKey, clientKey);
    }
  });

  test('SEC 1 "EC PRIVATE KEY" PEM, also after an "EC PARAMETERS" block (openssl ecparam -genkey)', async () => {
    const sec1 = await loadCredentials({ key: f.text('client-sec1.pem'), certificate: f.text('client.pem') });
    samePublicKey(sec1.privateKey, clientKey);
    assert.match(f.text('ca.key'), /BEGIN EC PARAMETERS[\s\S]*BEGIN EC PRIVATE KEY/);
    const ca = await loadCredentials({ key: f.text('ca.key'), certificate: f.text('ca.pem') });
    assert.deepEqual(ca.certificate, caDer);
    assert.deepEqual(ca.caCertificates, []);
  });

  test('encrypted keys: PKCS#8 PEM and DER, and traditional SEC 1 PEM; wrong or missing passphrase is ERR_SKNOCK_BAD_PASSPHRASE', async () => {
    for (const keyFile of ['client-enc.pem', 'client-enc.der', 'client-sec1-enc.pem']) {
      const key = keyFile.endsWith('.der') ? f.read(keyFile) : f.text(keyFile);
      const c = await loadCredentials({ key, certificate: clientDer, passphrase: KEY_PASS });
      samePublicKey(c.privateKey, clientKey);
      await rejectsWith(loadCredentials({ key, certificate: clientDer, passphrase: 'wrong' }), 'ERR_SKNOCK_BAD_PASSPHRASE');
      await rejectsWith(loadCredentials({ key, certificate: clientDer }), 'ERR_SKNOCK_BAD_PASSPHRASE', /passphrase/);
    }
  });

  test('a chain in one PEM, end-entity not first: the certificate matching the key is the end-entity', async () => {
    const chain = f.text('ca.pem') + f.text('client.pem');
    const c = await loadCredentials({ key: f.text('client.key'), certificate: chain, ca: [f.text('ca.pem')] });
    assert.deepEqual(c.certificate, clientDer);
    assert.deepEqual(c.caCertificates, [caDer, caDer]);
  });

  test('RSA and P-384 keys are ERR_SKNOCK_UNSUPPORTED_KEY', async () => {
    await rejectsWith(loadCredentials({ key: f.text('rsa.key'), certificate: f.text('rsa.pem') }), 'ERR_SKNOCK_UNSUPPORTED_KEY', /RSA/);
    await rejectsWith(loadCredentials({ key: f.text('p384.key'), certificate: f.text('p384.pem') }), 'ERR_SKNOCK_UNSUPPORTED_KEY', /secp384r1/);
  });

  test('a key that belongs to no given certificate is ERR_SKNOCK_KEY_MISMATCH', async () => {
    await rejectsWith(loadCredentials({ key: f.text('client.key'), certificate: f.text('ca.pem') }), 'ERR_SKNOCK_KEY_MISMATCH');
    // The CA list does not count: the end-entity comes from `certificate`.
    await rejectsWith(loadCredentials({ key: f.text('client.key'), certificate: caDer, ca: clientDer }), 'ERR_SKNOCK_KEY_MISMATCH');
  });

  test('no key: ERR_SKNOCK_MISSING_KEY; unreadable key bytes: ERR_SKNOCK_UNSUPPORTED_KEY', async () => {
    await rejectsWith(loadCredentials({ key: f.text('client.pem'), certificate: clientDer }), 'ERR_SKNOCK_MISSING_KEY');
    await rejectsWith(loadCredentials({ key: new Uint8Array(0), certificate: clientDer }), 'ERR_SKNOCK_MISSING_KEY');
    await rejectsWith(loadCredentials({ key: '', certificate: clientDer }), 'ERR_SKNOCK_MISSING_KEY');
    await rejectsWith(loadCredentials({ key: Buffer.from('not a key at all'), certificate: clientDer }), 'ERR_SKNOCK_UNSUPPORTED_KEY');
    await rejectsWith(loadCredentials({ key: clientDer, certificate: clientDer }), 'ERR_SKNOCK_UNSUPPORTED_KEY');
  });

  test('no certificate: ERR_SKNOCK_MISSING_CERTIFICATE; unreadable certificate: ERR_SKNOCK_INVALID_CERTIFICATE', async () => {
    const key = f.text('client.key');
    await rejectsWith(loadCredentials({ key, certificate: f.text('client.key') }), 'ERR_SKNOCK_MISSING_CERTIFICATE');
    await rejectsWith(loadCredentials({ key, certificate: new Uint8Array(0) }), 'ERR_SKNOCK_MISSING_CERTIFICATE');
    await rejectsWith(loadCredentials({ key, certificate: Buffer.from('3003020101', 'hex') }), 'ERR_SKNOCK_INVALID_CERTIFICATE');
    await rejectsWith(loadCredentials({ key, certificate: 'just text' }), 'ERR_SKNOCK_INVALID_CERTIFICATE');
    await rejectsWith(loadCredentials({ key, certificate: clientDer, ca: [caDer, new Uint8Array(5)] }), 'ERR_SKNOCK_INVALID_CERTIFICATE', /ca\[1\]/);
  });

  test('wrong option types are ERR_SKNOCK_INVALID_ARGUMENT naming the option', async () => {
    const key = f.text('client.key');
    await rejectsWith(loadCredentials({ key: 5 as never, certificate: clientDer }), 'ERR_SKNOCK_INVALID_ARGUMENT', /key/);
    await rejectsWith(loadCredentials({ key } as never), 'ERR_SKNOCK_INVALID_ARGUMENT', /certificate/);
    await rejectsWith(loadCredentials({ key, certificate: clientDer, ca: 5 as never }), 'ERR_SKNOCK_INVALID_ARGUMENT', /ca/);
    await rejectsWith(loadCredentials({ key, certificate: clientDer, ca: [clientDer, 7] as never }), 'ERR_SKNOCK_INVALID_ARGUMENT', /ca/);
    await rejectsWith(loadCredentials({ key, certificate: clientDer, passphrase: 5 as never }), 'ERR_SKNOCK_INVALID_ARGUMENT', /passphrase/);
  });
});
