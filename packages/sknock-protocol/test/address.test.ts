import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalIpAddress, decodeAddressField, encodeAddressField, parseIpAddress } from '../src/index.js';
import { formatIpv6 } from '../src/address.js';

test('IPv4 sits in the first 4 bytes, 12 zero bytes after it', () => {
  assert.equal(Buffer.from(encodeAddressField('192.0.2.7')).toString('hex'), 'c0000207' + '00'.repeat(12));
});

test('IPv6 fills the 16 bytes', () => {
  assert.equal(Buffer.from(encodeAddressField('2001:db8::1')).toString('hex'), '20010db8000000000000000000000001');
  assert.equal(Buffer.from(encodeAddressField('::')).toString('hex'), '00'.repeat(16));
  assert.equal(Buffer.from(encodeAddressField('::ffff:1.2.3.4')).toString('hex'), '00000000000000000000ffff01020304');
  assert.equal(Buffer.from(encodeAddressField('fe80::1%eth0')).toString('hex'), 'fe800000000000000000000000000001');
});

test('the datagram family decides how the field is read', () => {
  const field = encodeAddressField('10.1.2.3');
  assert.equal(decodeAddressField(field, 4), '10.1.2.3');
  assert.equal(decodeAddressField(field, 6), 'a01:203::');
});

test('IPv6 text is canonical (RFC 5952)', () => {
  assert.equal(canonicalIpAddress('2001:0DB8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
  assert.equal(canonicalIpAddress('2001:db8:0:1:0:0:0:1'), '2001:db8:0:1::1');
  assert.equal(canonicalIpAddress('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
  assert.equal(canonicalIpAddress('2001:db8:1:1:1:1:0:1'), '2001:db8:1:1:1:1:0:1');
  assert.equal(canonicalIpAddress('0:0:0:0:0:0:0:0'), '::');
});

test('IPv6 bytes → text → bytes is the identity', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 16 }), (b, at, zeros) => {
      b.fill(0, at, Math.min(16, at + zeros));
      const text = formatIpv6(b);
      assert.deepEqual(parseIpAddress(text).bytes, b, text);
    }),
    { numRuns: 1000 },
  );
});

test('non-addresses are refused, naming the argument', () => {
  for (const s of ['', 'localhost', '1.2.3', '1.2.3.4.5', '::g', '1::2::3']) {
    assert.throws(() => parseIpAddress(s, 'options.sourceAddress'), { code: 'ERR_SKNOCK_INVALID_ARGUMENT', message: /options\.sourceAddress/ });
  }
});
