/**
 * Issue 4 "Done when": `sknock knock 127.0.0.1 -p 2000 --pfx devclient.pfx --server-cert
 * devserver.cer --passphrase-env P --no-verify` sends a packet that an original sKnock
 * server would accept for tcp/2000 from 127.0.0.1.
 *
 * The original server is emulated by its checks (PROTOCOL.md "What the server checks"),
 * each done independently of the packages under test: decryption, signature and chain in
 * the `openssl` command, the byte layout read here from PROTOCOL.md, the server key and CA
 * taken out of the original's legacy devserver.pfx by `openssl pkcs12 -legacy`. The
 * reference files are read in place and never copied; without them the test is skipped.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import type * as OpensslImpl from '../../packages/sknock-protocol/test/support/openssl.js';
import { CLIENT_BIN, INTEROP_DIR, REPO_ROOT } from './support/repo.js';

const impl = (await import(pathToFileURL(join(REPO_ROOT, 'packages/sknock-protocol/dist/test/support/openssl.js')).href)) as typeof OpensslImpl;
const present = ['devclient.pfx', 'devserver.pfx', 'devserver.cer'].every((f) => existsSync(join(INTEROP_DIR, f)));
const PASSWORD = 'portknocking';

function openssl(args: readonly string[], input?: Buffer): Buffer {
  return execFileSync('openssl', [...args], { input, stdio: ['pipe', 'pipe', 'pipe'] });
}

test('the sknock command knocks tcp/2000 with the original credentials as an original server accepts it', {
  skip: present ? false : `sKnock 1.0 reference credentials not found in ${INTEROP_DIR} (reference data outside the repository)`,
  timeout: 60_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sknock-original-server-'));
  const sink = createSocket('udp4');
  try {
    const received = new Promise<Buffer>((resolve) => sink.once('message', (m) => resolve(m)));
    await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', resolve));
    const knockPort = sink.address().port;

    const child = spawn(process.execPath, [
      CLIENT_BIN, 'knock', '127.0.0.1', '-p', '2000',
      '--pfx', join(INTEROP_DIR, 'devclient.pfx'), '--server-cert', join(INTEROP_DIR, 'devserver.cer'),
      '--passphrase-env', 'P', '--no-verify', '--knock-port', String(knockPort),
    ], { env: { ...process.env, P: PASSWORD }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, stderr);
    const datagram = await received;
    const now = Math.floor(Date.now() / 1000);

    // The original server's key and CA, out of its legacy PKCS#12 file.
    const serverKeyPem = openssl(['pkcs12', '-legacy', '-nodes', '-nocerts', '-in', join(INTEROP_DIR, 'devserver.pfx'), '-passin', `pass:${PASSWORD}`]).toString();
    const caPem = openssl(['pkcs12', '-legacy', '-nokeys', '-cacerts', '-in', join(INTEROP_DIR, 'devserver.pfx'), '-passin', `pass:${PASSWORD}`]).toString();

    // It sees frames of at least KNOCKPACKET_MIN_LENGTH = 800 bytes (14 + 20 + 8 + datagram on IPv4).
    assert.ok(datagram.length + 42 >= 800, `frame of ${datagram.length + 42} bytes`);
    // 1. Magic and version ≤ 1.0.0, then decryption.
    assert.equal(datagram[0], 0x61);
    assert.deepEqual([...datagram.subarray(1, 4)], [1, 0, 0]);
    const plaintext = impl.opensslUnseal(datagram, serverKeyPem);
    // 2. First byte zero.
    assert.equal(plaintext[0], 0);
    const request = impl.independentParse(plaintext);
    // 3. The certificate chains to the CA, and the signature verifies with its key.
    const clientPem = openssl(['x509', '-inform', 'DER'], request.certificate).toString();
    writeFileSync(join(dir, 'ca.pem'), caPem);
    writeFileSync(join(dir, 'client.pem'), clientPem);
    assert.match(openssl(['verify', '-CAfile', join(dir, 'ca.pem'), join(dir, 'client.pem')]).toString(), /: OK/);
    assert.equal(impl.opensslVerify(request.signedPart, request.signature, clientPem), true);
    // 4. Timestamp within 7 s.
    assert.ok(Math.abs(now - request.timestamp) <= 7, `timestamp ${request.timestamp}, now ${now}`);
    // 5. The certificate grants (TCP, 2000): the otherName 1.3.6.1.4.1.19518 string.
    const lines = openssl(['asn1parse', '-inform', 'DER'], request.certificate).toString().split('\n');
    const sanAt = lines.findIndex((l) => l.includes('X509v3 Subject Alternative Name'));
    const valueLine = lines.slice(sanAt + 1).find((l) => l.includes('OCTET STRING')) ?? '';
    const offset = /^\s*(\d+):/.exec(valueLine)?.[1];
    assert.ok(sanAt >= 0 && offset !== undefined, 'the certificate has a subjectAltName');
    const asn1 = openssl(['asn1parse', '-inform', 'DER', '-strparse', offset], request.certificate).toString();
    assert.match(asn1, /OBJECT\s+:1\.3\.6\.1\.4\.1\.19518/);
    const grants = /UTF8STRING\s+:([0-9.,]+)/.exec(asn1)?.[1]?.split(',') ?? [];
    assert.equal(request.protocolByte, 1);
    assert.equal(request.port, 2000);
    assert.ok(grants.includes('1.2000'), `grants ${grants.join(',')}`);
    // 6. The bound address is the datagram's source, 127.0.0.1.
    assert.equal(request.addressField.toString('hex'), '7f000001' + '00'.repeat(12));
  } finally {
    sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
