import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rc2CbcDecrypt, rc2CbcEncrypt, rc2DecryptBlock, rc2EncryptBlock, rc2ExpandKey } from '../src/credentials/rc2.js';
import { dataFile } from './credentials-fixtures.js';

interface Vector {
  key: string;
  effectiveBits: number;
  plaintext: string;
  ciphertext: string;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('RC2 block cipher matches the RFC 2268 section 5 vectors, both ways', () => {
  const { vectors } = JSON.parse(readFileSync(dataFile('rc2-rfc2268-vectors.json'), 'utf8')) as { vectors: Vector[] };
  assert.equal(vectors.length, 8);
  for (const v of vectors) {
    const k = rc2ExpandKey(Buffer.from(v.key, 'hex'), v.effectiveBits);
    const out = new Uint8Array(8);
    rc2EncryptBlock(k, Buffer.from(v.plaintext, 'hex'), 0, out, 0);
    assert.equal(hex(out), v.ciphertext, `encrypt, key ${v.key}, T1 ${v.effectiveBits}`);
    rc2DecryptBlock(k, Buffer.from(v.ciphertext, 'hex'), 0, out, 0);
    assert.equal(hex(out), v.plaintext, `decrypt, key ${v.key}, T1 ${v.effectiveBits}`);
  }
});

/**
 * The oracle: Node's own OpenSSL RC2 (`rc2-40-cbc`: 5-byte key, 40 effective bits;
 * `rc2-cbc`: 16-byte key, 128 effective bits), which only a child started with
 * `--openssl-legacy-provider` has.
 */
const ORACLE = `
const c = require('node:crypto');
let input = '';
process.stdin.on('data', (d) => (input += d)).on('end', () => {
  const out = JSON.parse(input).map(({ cipher, key, iv, plaintext }) => {
    const e = c.createCipheriv(cipher, Buffer.from(key, 'hex'), Buffer.from(iv, 'hex'));
    return Buffer.concat([e.update(Buffer.from(plaintext, 'hex')), e.final()]).toString('hex');
  });
  process.stdout.write(JSON.stringify(out));
});`;

test('RC2-CBC agrees with OpenSSL rc2-40-cbc and rc2-cbc (child node --openssl-legacy-provider) over random keys and data', () => {
  const cases = Array.from({ length: 120 }, (_, i) => {
    const cipher = i % 2 === 0 ? 'rc2-40-cbc' : 'rc2-cbc';
    return {
      cipher,
      key: randomBytes(cipher === 'rc2-40-cbc' ? 5 : 16).toString('hex'),
      iv: randomBytes(8).toString('hex'),
      plaintext: randomBytes(randomInt(0, 80)).toString('hex'),
    };
  });
  const child = spawnSync(process.execPath, ['--openssl-legacy-provider', '-e', ORACLE], {
    input: JSON.stringify(cases),
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(child.status, 0, `oracle failed: ${child.stderr}`);
  const expected = JSON.parse(child.stdout) as string[];
  assert.equal(expected.length, cases.length);
  cases.forEach((c, i) => {
    const bits = c.cipher === 'rc2-40-cbc' ? 40 : 128;
    const key = Buffer.from(c.key, 'hex');
    const iv = Buffer.from(c.iv, 'hex');
    const ciphertext = rc2CbcEncrypt(key, bits, iv, Buffer.from(c.plaintext, 'hex'));
    assert.equal(hex(ciphertext), expected[i], `${c.cipher} encrypt, case ${i}`);
    const plaintext = rc2CbcDecrypt(key, bits, iv, Buffer.from(expected[i] as string, 'hex'));
    assert.ok(plaintext !== undefined, `${c.cipher} decrypt padding, case ${i}`);
    assert.equal(hex(plaintext), c.plaintext, `${c.cipher} decrypt, case ${i}`);
  });
});

test('RC2-CBC decryption reports bad padding and bad lengths as undefined, never throws for them', () => {
  const key = randomBytes(5);
  const iv = randomBytes(8);
  const good = rc2CbcEncrypt(key, 40, iv, Buffer.from('sixteen bytes!!!'));
  assert.equal(good.length, 24);
  assert.equal(hex(rc2CbcDecrypt(key, 40, iv, good) ?? new Uint8Array()), Buffer.from('sixteen bytes!!!').toString('hex'));
  assert.equal(rc2CbcDecrypt(key, 40, iv, good.subarray(0, 23)), undefined);
  assert.equal(rc2CbcDecrypt(key, 40, iv, new Uint8Array(0)), undefined);
  // A wrong key almost never leaves valid padding; over 40 keys at most a few may.
  let accepted = 0;
  for (let i = 0; i < 40; i++) if (rc2CbcDecrypt(randomBytes(5), 40, iv, good) !== undefined) accepted++;
  assert.ok(accepted <= 3, `${accepted} wrong keys gave valid padding`);
});

test('RC2 key expansion rejects out-of-range keys and effective bits', () => {
  assert.throws(() => rc2ExpandKey(new Uint8Array(0), 40), RangeError);
  assert.throws(() => rc2ExpandKey(new Uint8Array(129), 40), RangeError);
  assert.throws(() => rc2ExpandKey(new Uint8Array(5), 0), RangeError);
  assert.throws(() => rc2ExpandKey(new Uint8Array(5), 1025), RangeError);
  // 40 and 128 effective bits give different schedules for the same 16-byte key.
  const key = randomBytes(16);
  assert.notDeepEqual(rc2ExpandKey(key, 40), rc2ExpandKey(key, 128));
});
