import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { SknockClientError, createKnocker, knock, type KnockOptions } from '../src/index.js';

/**
 * Every invalid option is refused at the boundary, before any file is read or datagram
 * sent, with ERR_SKNOCK_INVALID_ARGUMENT naming the option.
 */

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
// A path that does not exist: if validation ran after loading, the error would be FILE_NOT_FOUND.
const base = { host: '127.0.0.1', port: 22, pfx: '/nonexistent/client.pfx', passphrase: 'x', serverCertificate: '/nonexistent/server.cer' };

async function expectInvalid(promise: Promise<unknown>, option: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof SknockClientError, `got ${String(err)}`);
    assert.equal(err.code, 'ERR_SKNOCK_INVALID_ARGUMENT', `${err.code}: ${err.message}`);
    assert.equal(err.option, option);
    assert.ok(err.message.includes(option), `message names ${option}: ${err.message}`);
    return true;
  });
}

function withOverrides(overrides: Record<string, unknown>, drop: string[] = []): KnockOptions {
  const o: Record<string, unknown> = { ...base, ...overrides };
  for (const k of drop) delete o[k];
  return o as unknown as KnockOptions;
}

const cases: [string, string, Record<string, unknown>, string[]?][] = [
  ['unknown key', 'hots', { hots: 'x' }],
  ['host missing', 'host', {}, ['host']],
  ['host empty', 'host', { host: '' }],
  ['host a number', 'host', { host: 5 }],
  ['host with a space', 'host', { host: 'db example.com' }],
  ['host empty brackets', 'host', { host: '[]' }],
  ['port missing', 'port', {}, ['port']],
  ['port 0', 'port', { port: 0 }],
  ['port 65536', 'port', { port: 65536 }],
  ['port fractional', 'port', { port: 1.5 }],
  ['port a string', 'port', { port: '22' }],
  ['protocol icmp', 'protocol', { protocol: 'icmp' }],
  ['protocol upper case', 'protocol', { protocol: 'TCP' }],
  ['family 5', 'family', { family: 5 }],
  ['family a string', 'family', { family: '4' }],
  ['family against an IPv4 host', 'family', { family: 6 }],
  ['knockPort 0', 'knockPort', { knockPort: 0 }],
  ['knockPort 70000', 'knockPort', { knockPort: 70000 }],
  ['knockPort a string', 'knockPort', { knockPort: '40000' }],
  ['sourceAddress not an IP', 'sourceAddress', { sourceAddress: 'my-laptop' }],
  ['sourceAddress a number', 'sourceAddress', { sourceAddress: 10 }],
  ['sourceAddress IPv6 to an IPv4 host', 'sourceAddress', { sourceAddress: '::1' }],
  ['sourceAddress IPv6 with family 4', 'sourceAddress', { host: 'example.test', family: 4, sourceAddress: '2001:db8::1' }],
  ['sourceAddress auto without stunServer', 'sourceAddress', { sourceAddress: 'auto' }],
  ['sourceAddress AUTO', 'sourceAddress', { sourceAddress: 'AUTO', stunServer: 'stun.example' }],
  ['stunServer without auto', 'stunServer', { stunServer: 'stun.example' }],
  ['stunServer a number', 'stunServer', { sourceAddress: 'auto', stunServer: 3478 }],
  ['stunServer port 0', 'stunServer', { sourceAddress: 'auto', stunServer: 'stun.example:0' }],
  ['stunServer an unclosed bracket', 'stunServer', { sourceAddress: 'auto', stunServer: '[2001:db8::1:3478' }],
  ['localAddress not an IP', 'localAddress', { localAddress: 'eth0' }],
  ['localAddress IPv6 to an IPv4 host', 'localAddress', { localAddress: '::1' }],
  ['localAddress IPv4 with family 6', 'localAddress', { host: 'example.test', family: 6, localAddress: '10.0.0.1' }],
  ['sourceAddress IPv6, localAddress IPv4', 'sourceAddress', { host: 'example.test', localAddress: '10.0.0.1', sourceAddress: '2001:db8::1' }],
  ['grantSeconds 0', 'grantSeconds', { grantSeconds: 0 }],
  ['grantSeconds over a day', 'grantSeconds', { grantSeconds: 86_401 }],
  ['grantSeconds fractional', 'grantSeconds', { grantSeconds: 1.5 }],
  ['a misspelt option, with a suggestion', 'sourceAdress', { sourceAdress: '10.0.0.1' }],
  ['verify a string', 'verify', { verify: 'yes' }],
  ['timeout 0', 'timeout', { timeout: 0 }],
  ['timeout negative', 'timeout', { timeout: -5 }],
  ['timeout NaN', 'timeout', { timeout: Number.NaN }],
  ['timeout Infinity', 'timeout', { timeout: Number.POSITIVE_INFINITY }],
  ['timeout too large', 'timeout', { timeout: 2 ** 31 }],
  ['timeout in a string', 'timeout', { timeout: '10000' }],
  ['retries negative', 'retries', { retries: -1 }],
  ['retries fractional', 'retries', { retries: 1.5 }],
  ['retries too many', 'retries', { retries: 101 }],
  ['signal not an AbortSignal', 'signal', { signal: { aborted: false } }],
  ['pfx a number', 'pfx', { pfx: 5 }],
  ['pfx empty', 'pfx', { pfx: '' }],
  ['passphrase missing with pfx', 'passphrase', {}, ['passphrase']],
  ['passphrase a number', 'passphrase', { passphrase: 1234 }],
  ['no credentials at all', 'pfx', {}, ['pfx', 'passphrase']],
  ['pfx and key together', 'pfx', { key: '/k.pem', certificate: '/c.pem' }],
  ['key without certificate', 'certificate', { key: '/k.pem' }, ['pfx']],
  ['certificate without key', 'key', { certificate: '/c.pem' }, ['pfx', 'passphrase']],
  ['key empty', 'key', { key: new Uint8Array(0), certificate: '/c.pem' }, ['pfx']],
  ['credentials not an object', 'credentials', { credentials: 'key' }, ['pfx', 'passphrase']],
  ['credentials.privateKey a public key', 'credentials.privateKey', { credentials: { privateKey: 'pem', certificate: new Uint8Array(3) } }, ['pfx', 'passphrase']],
  ['credentials.certificate not bytes', 'credentials.certificate', { credentials: { privateKey, certificate: 'pem' } }, ['pfx', 'passphrase']],
  ['credentials with an unknown key', 'chain', { credentials: { privateKey, certificate: new Uint8Array(3), chain: [] } }, ['pfx', 'passphrase']],
  ['passphrase with credentials', 'passphrase', { credentials: { privateKey, certificate: new Uint8Array(3) } }, ['pfx']],
  ['serverCertificate missing', 'serverCertificate', {}, ['serverCertificate']],
  ['serverCertificate a number', 'serverCertificate', { serverCertificate: 42 }],
];

for (const [name, option, overrides, drop] of cases) {
  test(`knock(): ${name} → ERR_SKNOCK_INVALID_ARGUMENT naming ${option}`, async () => {
    await expectInvalid(knock(withOverrides(overrides, drop)), option);
  });
}

test('knock(): an unknown option is named with the closest one', async () => {
  await assert.rejects(knock(withOverrides({ sourceAdress: '10.0.0.1' })), /^SknockClientError: sourceAdress: unknown option; did you mean sourceAddress\?$/);
});

test('knock(): options not an object', async () => {
  await expectInvalid(knock(null as unknown as KnockOptions), 'options');
  await expectInvalid(knock('db:22' as unknown as KnockOptions), 'options');
  await expectInvalid(knock([] as unknown as KnockOptions), 'options');
});

test('createKnocker(): target options are refused by name', async () => {
  await expectInvalid(createKnocker({ pfx: '/x.pfx', passphrase: '', serverCertificate: '/s.cer', host: 'db' } as never), 'host');
  await expectInvalid(createKnocker({ serverCertificate: '/s.cer' }), 'pfx');
});

test('Knocker.knock(): credential options are refused by name; target checks apply', async () => {
  const { TestCa } = await import('./support/pki.js');
  const ca = await TestCa.create();
  const client = await ca.issue({ name: 'c', grants: [{ protocol: 'tcp', port: 22 }] });
  const knocker = await createKnocker({ credentials: { privateKey: client.privateKey, certificate: client.certificate }, serverCertificate: ca.ca.certificate });
  await expectInvalid(knocker.knock({ host: '127.0.0.1', port: 22, pfx: '/x' } as never), 'pfx');
  await expectInvalid(knocker.knock({ host: '127.0.0.1', port: 99999 }), 'port');
  await expectInvalid(knocker.knock({ host: '::1', port: 22, sourceAddress: '127.0.0.1' }), 'sourceAddress');
});
