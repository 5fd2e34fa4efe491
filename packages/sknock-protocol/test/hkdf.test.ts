import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveKnockKeys, hkdfSha256 } from '../src/hkdf.js';
import { hex, readJson, toHex } from './support/data.js';

interface RfcCase { name: string; ikm: string; salt: string; info: string; length: number; okm: string }
interface KeyVector { z: string; key: string; iv: string }

test('HKDF-SHA256 matches RFC 5869 appendix A', () => {
  const { cases } = readJson<{ cases: RfcCase[] }>('hkdf-rfc5869.json');
  assert.equal(cases.length, 3);
  for (const c of cases) {
    assert.equal(toHex(hkdfSha256(hex(c.ikm), hex(c.salt), hex(c.info), c.length)), c.okm, c.name);
  }
});

test('knock key and IV for fixed Z match the openssl-computed vectors', () => {
  const { vectors } = readJson<{ vectors: KeyVector[] }>('knock-keys.json');
  assert.ok(vectors.length >= 5);
  for (const v of vectors) {
    const { key, iv } = deriveKnockKeys(hex(v.z));
    assert.equal(toHex(key), v.key);
    assert.equal(toHex(iv), v.iv);
  }
});
