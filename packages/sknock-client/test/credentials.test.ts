import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SknockProtocolError, encodePkcs12 } from '@sknock/protocol';
import { SknockClientError, createKnocker, knock, type KnockerOptions } from '../src/index.js';
import { FakeKnockServer, freePort } from './support/knock-server.js';
import { TestCa, type TestIdentity } from './support/pki.js';

/**
 * Credentials from files (PKCS#12 made by encodePkcs12, new and legacy; PEM and DER key +
 * certificate) and from memory, and every way they can be wrong.
 */

let dir: string;
let ca: TestCa;
let server: TestIdentity;
let client: TestIdentity;
let port: number;
const files: Record<string, string> = {};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sknock-client-cred-'));
  port = await freePort('127.0.0.1');
  ca = await TestCa.create();
  [server, client] = await Promise.all([ca.issue({ name: 'server' }), ca.issue({ name: 'client', grants: [{ protocol: 'tcp', port }] })]);
  const pfx = await encodePkcs12({ privateKey: client.privateKey, certificate: client.certificate, caCertificates: [ca.ca.certificate], passphrase: 'correct horse' });
  const legacy = await encodePkcs12({ privateKey: client.privateKey, certificate: client.certificate, passphrase: 'portknocking', legacy: true });
  const write = async (name: string, data: string | Uint8Array): Promise<void> => {
    files[name] = join(dir, name);
    await writeFile(files[name], data);
  };
  await write('client.pfx', pfx);
  await write('legacy.pfx', legacy);
  await write('client.key', client.keyPem);
  await write('client.crt', client.certificatePem);
  await write('server.cer', server.certificate);
  await write('server.pem', server.certificatePem);
  await write('junk.pfx', new Uint8Array(600).fill(7));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<SknockClientError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof SknockClientError, `expected SknockClientError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

/** Knocks with `options` at a stand-in server and checks the server got a valid knock. */
async function knocksWith(options: KnockerOptions): Promise<void> {
  const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port });
  try {
    const result = await knock({ ...options, host: '127.0.0.1', port, knockPort: fake.knockPort, timeout: 3000 } as never);
    assert.equal(result.verified, true);
    assert.equal(fake.validKnocks.length, 1);
  } finally {
    await fake.close();
  }
}

describe('loading', () => {
  test('pfx path (PBES2, as OpenSSL 3 writes) and a DER server certificate path', async () => {
    await knocksWith({ pfx: files['client.pfx']!, passphrase: 'correct horse', serverCertificate: files['server.cer']! });
  });
  test('pfx bytes (legacy RC2/3DES, as sKnock 1.0.0 shipped) and a PEM server certificate path', async () => {
    const { readFile } = await import('node:fs/promises');
    await knocksWith({ pfx: await readFile(files['legacy.pfx']!), passphrase: 'portknocking', serverCertificate: files['server.pem']! });
  });
  test('key + certificate paths; PEM server certificate text', async () => {
    await knocksWith({ key: files['client.key']!, certificate: files['client.crt']!, serverCertificate: server.certificatePem });
  });
  test('key + certificate as PEM text and as DER bytes', async () => {
    await knocksWith({ key: client.keyPem, certificate: client.certificatePem, serverCertificate: server.certificate });
    const der = client.privateKey.export({ type: 'pkcs8', format: 'der' });
    await knocksWith({ key: new Uint8Array(der), certificate: client.certificate, serverCertificate: server.certificate });
  });
});

describe('credential errors', () => {
  test('wrong passphrase: ERR_SKNOCK_CREDENTIALS, cause ERR_SKNOCK_BAD_PASSPHRASE', async () => {
    const err = await rejection(createKnocker({ pfx: files['client.pfx']!, passphrase: 'wrong', serverCertificate: server.certificate }));
    assert.equal(err.code, 'ERR_SKNOCK_CREDENTIALS');
    assert.equal(err.option, 'pfx');
    assert.ok(err.cause instanceof SknockProtocolError);
    assert.equal(err.cause.code, 'ERR_SKNOCK_BAD_PASSPHRASE');
    assert.match(err.message, /passphrase/);
  });
  test('not a PKCS#12 file', async () => {
    const err = await rejection(createKnocker({ pfx: files['junk.pfx']!, passphrase: 'x', serverCertificate: server.certificate }));
    assert.equal(err.code, 'ERR_SKNOCK_CREDENTIALS');
    assert.equal(err.option, 'pfx');
  });
  test('a key that does not belong to the certificate', async () => {
    const other = await ca.issue({ name: 'other' });
    const err = await rejection(createKnocker({ key: other.keyPem, certificate: client.certificatePem, serverCertificate: server.certificate }));
    assert.equal(err.code, 'ERR_SKNOCK_CREDENTIALS');
    const err2 = await rejection(createKnocker({ credentials: { privateKey: other.privateKey, certificate: client.certificate }, serverCertificate: server.certificate }));
    assert.equal(err2.code, 'ERR_SKNOCK_CREDENTIALS');
    assert.match(err2.message, /does not belong/);
  });
  test('an RSA client key', async () => {
    const rsa = await ca.issue({ name: 'rsa', keyType: 'rsa', grants: [{ protocol: 'tcp', port }] });
    const err = await rejection(createKnocker({ credentials: { privateKey: rsa.privateKey, certificate: rsa.certificate }, serverCertificate: server.certificate }));
    assert.equal(err.code, 'ERR_SKNOCK_CREDENTIALS');
    assert.match(err.message, /P-256/);
  });
  test('a client certificate too large for one datagram', async () => {
    // A long grant list makes the certificate grow past 1054 bytes.
    const many = await ca.issue({ name: 'many', grants: Array.from({ length: 120 }, (_, i) => ({ protocol: 'tcp' as const, port: 10000 + i })) });
    assert.ok(many.certificate.length > 1054, `certificate is ${many.certificate.length} bytes`);
    const err = await rejection(createKnocker({ credentials: { privateKey: many.privateKey, certificate: many.certificate }, serverCertificate: server.certificate }));
    assert.equal(err.code, 'ERR_SKNOCK_CREDENTIALS');
    assert.match(err.message, /1232/);
  });
});

describe('file errors name the option and the path', () => {
  const cases: [string, () => KnockerOptions, string, string][] = [
    ['pfx missing', () => ({ pfx: join(dir, 'nope.pfx'), passphrase: '', serverCertificate: server.certificate }), 'pfx', 'ERR_SKNOCK_FILE_NOT_FOUND'],
    ['pfx a directory', () => ({ pfx: dir, passphrase: '', serverCertificate: server.certificate }), 'pfx', 'ERR_SKNOCK_FILE_UNREADABLE'],
    ['key missing', () => ({ key: join(dir, 'nope.key'), certificate: files['client.crt']!, serverCertificate: server.certificate }), 'key', 'ERR_SKNOCK_FILE_NOT_FOUND'],
    ['certificate missing', () => ({ key: files['client.key']!, certificate: join(dir, 'nope.crt'), serverCertificate: server.certificate }), 'certificate', 'ERR_SKNOCK_FILE_NOT_FOUND'],
    ['serverCertificate missing', () => ({ pfx: files['client.pfx']!, passphrase: 'correct horse', serverCertificate: join(dir, 'no', 'server.cer') }), 'serverCertificate', 'ERR_SKNOCK_FILE_NOT_FOUND'],
    ['serverCertificate a directory', () => ({ pfx: files['client.pfx']!, passphrase: 'correct horse', serverCertificate: dir }), 'serverCertificate', 'ERR_SKNOCK_FILE_UNREADABLE'],
  ];
  for (const [name, options, option, code] of cases) {
    test(name, async () => {
      const o = options();
      const path = (o as unknown as Record<string, string>)[option]!;
      const err = await rejection(createKnocker(o));
      assert.equal(err.code, code);
      assert.equal(err.option, option);
      assert.equal(err.path, path);
      assert.ok(err.message.includes(option) && err.message.includes(path), err.message);
    });
  }
});

describe('server certificate errors', () => {
  const creds = (): { credentials: { privateKey: TestIdentity['privateKey']; certificate: Uint8Array } } => ({
    credentials: { privateKey: client.privateKey, certificate: client.certificate },
  });
  test('bytes that are not a certificate', async () => {
    const err = await rejection(createKnocker({ ...creds(), serverCertificate: new Uint8Array([0x30, 3, 1, 2, 3]) }));
    assert.equal(err.code, 'ERR_SKNOCK_SERVER_CERTIFICATE');
  });
  test('a PEM file holding a key, not a certificate', async () => {
    const err = await rejection(createKnocker({ ...creds(), serverCertificate: files['client.key']! }));
    assert.equal(err.code, 'ERR_SKNOCK_SERVER_CERTIFICATE');
  });
  test('an RSA server certificate', async () => {
    const rsa = await ca.issue({ name: 'rsa server', keyType: 'rsa' });
    const err = await rejection(createKnocker({ ...creds(), serverCertificate: rsa.certificatePem }));
    assert.equal(err.code, 'ERR_SKNOCK_SERVER_CERTIFICATE');
    assert.match(err.message, /P-256/);
  });
});

describe('the certificate must allow the knock; nothing is sent otherwise', () => {
  test('expired, not yet valid, not granted', async () => {
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port });
    try {
      const day = 86_400_000;
      const expired = await ca.issue({ name: 'old', grants: [{ protocol: 'tcp', port }], notBefore: new Date(Date.now() - 10 * day), notAfter: new Date(Date.now() - day) });
      const future = await ca.issue({ name: 'new', grants: [{ protocol: 'tcp', port }], notBefore: new Date(Date.now() + day), notAfter: new Date(Date.now() + 10 * day) });
      const target = { host: '127.0.0.1', port, knockPort: fake.knockPort };
      const use = (id: TestIdentity): KnockerOptions => ({ credentials: { privateKey: id.privateKey, certificate: id.certificate }, serverCertificate: server.certificate });
      let err = await rejection(knock({ ...use(expired), ...target }));
      assert.equal(err.code, 'ERR_SKNOCK_CERTIFICATE_EXPIRED');
      assert.match(err.message, /expired/);
      err = await rejection(knock({ ...use(future), ...target }));
      assert.equal(err.code, 'ERR_SKNOCK_CERTIFICATE_EXPIRED');
      err = await rejection(knock({ ...use(client), ...target, protocol: 'udp' }));
      assert.equal(err.code, 'ERR_SKNOCK_NOT_GRANTED');
      assert.ok(err.message.includes(`udp/${port}`) && err.message.includes(`tcp/${port}`), err.message);
      const none = await ca.issue({ name: 'no grants' });
      err = await rejection(knock({ ...use(none), ...target }));
      assert.equal(err.code, 'ERR_SKNOCK_NOT_GRANTED');
      await new Promise((r) => setTimeout(r, 10));
      assert.equal(fake.received.length, 0);
    } finally {
      await fake.close();
    }
  });
});
