import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCredentials } from '@sknock/protocol';
import { knock } from '../src/index.js';
import { FakeKnockServer } from './support/knock-server.js';

/**
 * Optional: knock with the original sKnock 1.0.0 development credentials (legacy PKCS#12)
 * when `../shared/interop` is beside the repository; skipped when it is absent. Nothing
 * from there is copied into the repository.
 */

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const interop = join(root, '..', 'shared', 'interop', 'sknock-1.0');
const present = existsSync(join(interop, 'devclient.pfx'));

test('sKnock 1.0.0 development credentials: an 869-byte knock the original server key opens', { skip: present ? false : `no ${interop}` }, async () => {
  const serverCredentials = await loadCredentials({ pfx: await readFile(join(interop, 'devserver.pfx')), passphrase: 'portknocking' });
  // Grants 1.2000,1.3000,0.8000: knock tcp/2000 without verifying (nothing here listens on 2000).
  const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: serverCredentials.privateKey, port: 2000, openOnKnock: false });
  try {
    const result = await knock({
      host: '127.0.0.1',
      port: 2000,
      pfx: join(interop, 'devclient.pfx'),
      passphrase: 'portknocking',
      serverCertificate: join(interop, 'devserver.cer'),
      knockPort: fake.knockPort,
      verify: false,
    });
    assert.equal(result.attempts, 1);
    for (let i = 0; i < 100 && fake.received.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    const got = fake.received[0];
    assert.ok(got !== undefined);
    assert.equal(got.valid, true, String(got.error));
    assert.equal(got.data.length, 869);
    assert.equal(got.opened?.port, 2000);
  } finally {
    await fake.close();
  }
});
