#!/usr/bin/env node
// Writes pkcs12-kdf-vectors.json: RFC 7292 appendix B key derivation outputs computed by
// OpenSSL's own PKCS12KDF (`openssl kdf ... PKCS12KDF`), the oracle for src/credentials/pkcs12-kdf.ts.
// The password goes in as its BMPString bytes (UTF-16BE plus two zero bytes), as RFC 7292 B.1 says.
// Run from anywhere: node packages/sknock-protocol/test/data/pkcs12/make-kdf-vectors.mjs
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

const bmp = (s) => {
  const b = Buffer.alloc(2 * s.length + 2);
  for (let i = 0; i < s.length; i++) b.writeUInt16BE(s.charCodeAt(i), 2 * i);
  return b.toString('hex');
};
const cases = [
  ['sha1', 'portknocking', '0102030405060708', 1, 2048, 5],
  ['sha1', 'portknocking', '0102030405060708', 2, 2048, 8],
  ['sha1', 'portknocking', '0102030405060708', 1, 2048, 24],
  ['sha1', 'portknocking', '0102030405060708', 3, 2048, 20],
  ['sha1', 'smeg', '0a58cf64530d823f', 1, 1, 24],
  ['sha1', 'smeg', '0a58cf64530d823f', 2, 1, 8],
  ['sha1', 'queeg', '05dec959acff72f7', 1, 1000, 24],
  ['sha1', 'queeg', '05dec959acff72f7', 2, 1000, 8],
  ['sha1', 'x'.repeat(70), 'aa'.repeat(70), 1, 3, 61],
  ['sha1', 'p\u00e4ssw\u00f6rd \u20ac', '00112233445566778899', 3, 17, 20],
  ['sha256', 'portknocking', 'e8f0b03231dfe44b', 3, 2048, 32],
  ['sha256', 'portknocking', 'e8f0b03231dfe44b', 1, 5, 70],
  ['sha256', '', '0102030405060708', 3, 2048, 32],
  ['sha512', 'portknocking', '0102030405060708', 3, 10, 64],
  ['sha384', 'a', '01', 1, 2, 100],
];
const vectors = cases.map(([digest, password, salt, id, iterations, length]) => {
  const out = execFileSync('openssl', [
    'kdf', '-keylen', String(length), '-kdfopt', `digest:${digest.toUpperCase()}`,
    '-kdfopt', `hexpass:${bmp(password)}`, '-kdfopt', `hexsalt:${salt}`,
    '-kdfopt', `iter:${iterations}`, '-kdfopt', `id:${id}`, 'PKCS12KDF',
  ], { encoding: 'utf8' });
  return { digest, password, salt, id, iterations, length, output: out.trim().replace(/:/g, '').toLowerCase() };
});
const file = new URL('pkcs12-kdf-vectors.json', import.meta.url);
writeFileSync(file, JSON.stringify({
  source: 'openssl kdf PKCS12KDF (OpenSSL 3.0), password as BMPString; regenerate with make-kdf-vectors.mjs',
  vectors,
}, null, 2) + '\n');
console.log(`wrote ${vectors.length} vectors to ${file.pathname}`);
