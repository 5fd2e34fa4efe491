import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sign, verify, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCredentials, parsePortGrants } from '../src/index.js';
import { repoRoot } from './credentials-fixtures.js';

/**
 * The original sKnock 1.0.0 development credentials (legacy PKCS#12: RC2-40 certificate
 * bag, 3DES key bag, SHA-1 MAC, password `portknocking`), read where they are kept beside
 * the repository (`<repo>/../shared/interop/sknock-1.0`), never copied into it. Skipped
 * when that folder is absent, but with `CI=true` and the folder present it always runs.
 */

const INTEROP = join(repoRoot(), '..', 'shared', 'interop', 'sknock-1.0');
const present = existsSync(join(INTEROP, 'devclient.pfx')) && existsSync(join(INTEROP, 'devserver.pfx'));
const skip = present ? false : `sKnock 1.0 interop credentials not found at ${INTEROP}`;

function cn(der: Uint8Array): string {
  return /(?:^|\n)CN=([^\n]*)/.exec(new X509Certificate(der).subject)?.[1] ?? '';
}

test('devclient.pfx (legacy PKCS#12 from sKnock 1.0) loads with portknocking', { skip }, async () => {
  const c = await loadCredentials({ pfx: readFileSync(join(INTEROP, 'devclient.pfx')), passphrase: 'portknocking' });
  assert.equal(cn(c.certificate), 'sKnock Test Client');
  assert.equal(c.privateKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.equal(c.caCertificates.length, 1);
  const client = new X509Certificate(c.certificate);
  assert.ok(client.checkIssued(new X509Certificate(c.caCertificates[0] as Uint8Array)), 'the other certificate is the issuing CA');
  const data = Buffer.from('knock');
  assert.ok(verify('sha256', data, client.publicKey, sign('sha256', data, c.privateKey)));
  assert.deepEqual(parsePortGrants(c.certificate), [
    { protocol: 'tcp', port: 2000 },
    { protocol: 'tcp', port: 3000 },
    { protocol: 'udp', port: 8000 },
  ]);
});

test('devserver.pfx (legacy PKCS#12 from sKnock 1.0) loads with portknocking and matches devserver.cer', { skip }, async () => {
  const c = await loadCredentials({ pfx: readFileSync(join(INTEROP, 'devserver.pfx')), passphrase: 'portknocking' });
  assert.match(cn(c.certificate), /sKnock Test Server/);
  const cer = join(INTEROP, 'devserver.cer');
  if (existsSync(cer)) assert.deepEqual(c.certificate, new Uint8Array(readFileSync(cer)));
  await assert.rejects(loadCredentials({ pfx: readFileSync(join(INTEROP, 'devserver.pfx')), passphrase: 'portknockin' }), {
    code: 'ERR_SKNOCK_BAD_PASSPHRASE',
  });
});
