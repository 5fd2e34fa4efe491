import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { bmpPassword, pkcs12Kdf, type Pkcs12KdfDigest } from '../src/credentials/pkcs12-kdf.js';
import { dataFile } from './credentials-fixtures.js';

interface Vector {
  digest: Pkcs12KdfDigest;
  password: string;
  salt: string;
  id: number;
  iterations: number;
  length: number;
  output: string;
}

test('PKCS#12 KDF (RFC 7292 appendix B) matches the vectors OpenSSL PKCS12KDF computed', () => {
  const { vectors } = JSON.parse(readFileSync(dataFile('pkcs12-kdf-vectors.json'), 'utf8')) as { vectors: Vector[] };
  assert.ok(vectors.length >= 10);
  for (const v of vectors) {
    const out = pkcs12Kdf(v.digest, bmpPassword(v.password), Buffer.from(v.salt, 'hex'), v.id, v.iterations, v.length);
    assert.equal(Buffer.from(out).toString('hex'), v.output, `${v.digest} id ${v.id} iter ${v.iterations} len ${v.length} pw ${JSON.stringify(v.password)}`);
  }
});

test('bmpPassword is UTF-16BE with a two-byte terminator; null is the absent password', () => {
  assert.equal(Buffer.from(bmpPassword('ab')).toString('hex'), '006100620000');
  assert.equal(Buffer.from(bmpPassword('\u20ac')).toString('hex'), '20ac0000');
  assert.equal(Buffer.from(bmpPassword('')).toString('hex'), '0000');
  assert.equal(bmpPassword(null).length, 0);
});

test('PKCS#12 KDF: the ID, salt and iterations each change the output; zero iterations is refused', () => {
  const pw = bmpPassword('x');
  const salt = Buffer.from('0102030405060708', 'hex');
  const base = Buffer.from(pkcs12Kdf('sha1', pw, salt, 1, 2, 24)).toString('hex');
  assert.notEqual(Buffer.from(pkcs12Kdf('sha1', pw, salt, 2, 2, 24)).toString('hex'), base);
  assert.notEqual(Buffer.from(pkcs12Kdf('sha1', pw, Buffer.from('0102030405060709', 'hex'), 1, 2, 24)).toString('hex'), base);
  assert.notEqual(Buffer.from(pkcs12Kdf('sha1', pw, salt, 1, 3, 24)).toString('hex'), base);
  assert.throws(() => pkcs12Kdf('sha1', pw, salt, 1, 0, 24), RangeError);
});
