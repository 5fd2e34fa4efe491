import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import {
  createKnockPacket,
  knockDatagramLength,
  knockPacketKeys,
  openKnockPacket,
  parseKnockDatagram,
  readCertificate,
  verifyKnockSignature,
  KNOCK_MAX_DATAGRAM_LENGTH,
} from '../src/index.js';
import { makeOpensslPki } from './support/openssl.js';
import { clientCredentials, golden, serverKey } from './support/golden.js';

const server = { privateKey: serverKey };
const serverCertificate = golden.serverCertificatePem;

const addresses: Array<[string, 4 | 6, string]> = [
  ['127.0.0.1', 4, '127.0.0.1'],
  ['10.200.0.2', 4, '10.200.0.2'],
  ['::1', 6, '::1'],
  ['fd00:0:0:0:0:0:0:2', 6, 'fd00::2'],
  ['2001:DB8::A:B:C:D', 6, '2001:db8::a:b:c:d'],
  ['::ffff:192.0.2.1', 6, '::ffff:c000:201'],
];

for (const protocol of ['tcp', 'udp'] as const) {
  for (const [address, family, canonical] of addresses) {
    test(`round trip ${protocol} ${address}`, () => {
      const timestamp = 1764000000 + Math.floor(Math.random() * 1000);
      const port = 1 + Math.floor(Math.random() * 65535);
      const datagram = createKnockPacket({ credentials: clientCredentials, serverCertificate, protocol, port, address, timestamp });
      const opened = openKnockPacket(datagram, server, { family });
      assert.equal(opened.protocol, protocol);
      assert.equal(opened.port, port);
      assert.equal(opened.address, canonical);
      assert.equal(opened.timestamp, timestamp);
      assert.deepEqual([...opened.version], [1, 0, 0]);
      assert.equal(verifyKnockSignature(opened), true);
    });
  }
}

test('each knock uses a fresh ephemeral key and so differs', () => {
  const opts = { credentials: clientCredentials, serverCertificate, protocol: 'tcp' as const, port: 2000, address: '127.0.0.1', timestamp: 1 };
  const a = parseKnockDatagram(createKnockPacket(opts));
  const b = parseKnockDatagram(createKnockPacket(opts));
  assert.notDeepEqual(a.ephemeralPublicKey, b.ephemeralPublicKey);
});

test('timestamp defaults to now', () => {
  const before = Math.floor(Date.now() / 1000);
  const d = createKnockPacket({ credentials: clientCredentials, serverCertificate, protocol: 'tcp', port: 2000, address: '127.0.0.1' });
  const t = openKnockPacket(d, server, { family: 4 }).timestamp;
  assert.ok(t >= before && t <= Math.floor(Date.now() / 1000));
});

test('certificates of several sizes round-trip, with the datagram size PROTOCOL.md gives', () => {
  const sizes = new Set<number>();
  for (const [grants, cn] of [
    ['1.22', 'a'],
    ['1.2000,1.3000,0.8000', 'sKnock Test Client'],
    [Array.from({ length: 40 }, (_, i) => `1.${1000 + i}`).join(','), 'x'.repeat(60)],
  ] as const) {
    const pki = makeOpensslPki(grants, cn);
    const credentials = { privateKey: createPrivateKey(pki.clientKey), certificate: readCertificate(pki.clientCert) };
    const c = credentials.certificate.length;
    sizes.add(c);
    const datagram = createKnockPacket({ credentials, serverCertificate: pki.serverCert, protocol: 'udp', port: 8000, address: '::1' });
    assert.equal(datagram.length, 4 + 16 * (Math.floor((97 + c) / 16) + 1) + 65);
    assert.equal(datagram.length, knockDatagramLength(c));
    const opened = openKnockPacket(datagram, { privateKey: createPrivateKey(pki.serverKey) }, { family: 6 });
    assert.equal(Buffer.from(opened.certificate).equals(Buffer.from(credentials.certificate)), true);
    assert.equal(verifyKnockSignature(opened), true);
  }
  assert.equal(sizes.size, 3);
});

test('PROTOCOL.md size example: a 693-byte certificate gives an 869-byte datagram', () => {
  assert.equal(knockDatagramLength(693), 869);
  // PROTOCOL.md: the certificate must be at most 1054 bytes to stay within 1232.
  assert.equal(knockDatagramLength(1054), 1221);
  assert.equal(knockDatagramLength(1055), 1237);
});

test('a certificate that would exceed 1232 bytes is refused with its size', () => {
  const big = Array.from({ length: 120 }, (_, i) => `1.${10000 + i}`).join(',');
  const pki = makeOpensslPki(big, 'big');
  const credentials = { privateKey: createPrivateKey(pki.clientKey), certificate: readCertificate(pki.clientCert) };
  assert.ok(knockDatagramLength(credentials.certificate.length) > KNOCK_MAX_DATAGRAM_LENGTH);
  assert.throws(
    () => createKnockPacket({ credentials, serverCertificate: pki.serverCert, protocol: 'tcp', port: 10000, address: '127.0.0.1' }),
    { code: 'ERR_SKNOCK_CERTIFICATE_TOO_LARGE', message: /1232/ },
  );
});

test('createKnockPacket validates its options and names them', () => {
  const base = { credentials: clientCredentials, serverCertificate, protocol: 'tcp' as const, port: 2000, address: '127.0.0.1' };
  const bad: Array<[object, string, RegExp]> = [
    [{ port: 0 }, 'ERR_SKNOCK_INVALID_ARGUMENT', /options\.port/],
    [{ port: 65536 }, 'ERR_SKNOCK_INVALID_ARGUMENT', /options\.port/],
    [{ port: 1.5 }, 'ERR_SKNOCK_INVALID_ARGUMENT', /options\.port/],
    [{ protocol: 'icmp' }, 'ERR_SKNOCK_INVALID_ARGUMENT', /options\.protocol/],
    [{ address: 'localhost' }, 'ERR_SKNOCK_INVALID_ARGUMENT', /options\.address/],
    [{ address: '256.1.1.1' }, 'ERR_SKNOCK_INVALID_ARGUMENT', /options\.address/],
    [{ timestamp: -1 }, 'ERR_SKNOCK_INVALID_ARGUMENT', /options\.timestamp/],
    [{ timestamp: 2 ** 32 }, 'ERR_SKNOCK_INVALID_ARGUMENT', /options\.timestamp/],
    [{ serverCertificate: 'not a pem' }, 'ERR_SKNOCK_INVALID_CERTIFICATE', /serverCertificate/],
    [{ serverCertificate: new Uint8Array([0x30, 1, 2]) }, 'ERR_SKNOCK_INVALID_CERTIFICATE', /serverCertificate/],
    [{ credentials: { certificate: clientCredentials.certificate } }, 'ERR_SKNOCK_UNSUPPORTED_KEY', /privateKey/],
    [{ credentials: { privateKey: generateKeyPairSync('ed25519').privateKey, certificate: clientCredentials.certificate } }, 'ERR_SKNOCK_UNSUPPORTED_KEY', /P-256/],
    [{ credentials: { privateKey: generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey, certificate: clientCredentials.certificate } }, 'ERR_SKNOCK_UNSUPPORTED_KEY', /secp384r1/],
    [{ credentials: { privateKey: clientCredentials.privateKey, certificate: 'pem' } }, 'ERR_SKNOCK_INVALID_ARGUMENT', /certificate/],
  ];
  for (const [patch, code, message] of bad) {
    assert.throws(() => createKnockPacket({ ...base, ...patch } as never), { code, message }, JSON.stringify(Object.keys(patch)));
  }
  assert.throws(() => createKnockPacket(null as never), { code: 'ERR_SKNOCK_INVALID_ARGUMENT' });
});

test('a knock sealed to another server does not open', () => {
  const other = makeOpensslPki();
  // With the wrong key the plaintext is noise: its PKCS#7 padding is valid about 1 time in
  // 256 (then the request does not frame). Either way it must not open; 64 fresh packets.
  const codes = new Set<string>();
  for (let i = 0; i < 64; i++) {
    const d = createKnockPacket({ credentials: clientCredentials, serverCertificate: other.serverCert, protocol: 'tcp', port: 2000, address: '127.0.0.1' });
    assert.throws(
      () => openKnockPacket(d, server, { family: 4 }),
      (err: { code?: string }) => {
        codes.add(String(err.code));
        return err.code === 'ERR_SKNOCK_DECRYPT_FAILED' || err.code === 'ERR_SKNOCK_MALFORMED_REQUEST';
      },
    );
  }
  assert.ok(codes.has('ERR_SKNOCK_DECRYPT_FAILED'), [...codes].join());
});

test('knockPacketKeys: keys kept per point open the knock without another ECDH, and mirror points share them', () => {
  const datagram = createKnockPacket({ credentials: clientCredentials, serverCertificate, protocol: 'tcp', port: 2000, address: '127.0.0.1', timestamp: 5 });
  const { ephemeralPublicKey } = parseKnockDatagram(datagram);
  const keys = knockPacketKeys(ephemeralPublicKey, server);
  assert.equal(keys.key.length, 16);
  assert.equal(keys.iv.length, 16);
  assert.deepEqual(openKnockPacket(datagram, server, { family: 4, keys }), openKnockPacket(datagram, server, { family: 4 }));
  // −P = (x, p − y): the ECDH secret is the X coordinate of the product, so the same keys.
  const p = BigInt('0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff');
  const y = BigInt(`0x${Buffer.from(ephemeralPublicKey.subarray(33)).toString('hex')}`);
  const mirror = Buffer.from(ephemeralPublicKey);
  Buffer.from((p - y).toString(16).padStart(64, '0'), 'hex').copy(mirror, 33);
  assert.deepEqual(knockPacketKeys(mirror, server), keys);
  // Keys of another point decrypt nothing; a point off the curve has no keys.
  const other = parseKnockDatagram(createKnockPacket({ credentials: clientCredentials, serverCertificate, protocol: 'tcp', port: 2000, address: '127.0.0.1' }));
  assert.throws(() => openKnockPacket(datagram, server, { family: 4, keys: knockPacketKeys(other.ephemeralPublicKey, server) }), { code: 'ERR_SKNOCK_DECRYPT_FAILED' });
  const offCurve = Buffer.from(ephemeralPublicKey);
  offCurve[64] = (offCurve[64] as number) ^ 1;
  assert.throws(() => knockPacketKeys(offCurve, server), { code: 'ERR_SKNOCK_DECRYPT_FAILED' });
  assert.throws(() => knockPacketKeys(ephemeralPublicKey.subarray(1), server), { code: 'ERR_SKNOCK_DECRYPT_FAILED' });
  assert.throws(() => openKnockPacket(datagram, server, { family: 4, keys: { key: keys.key, iv: keys.iv.subarray(1) } }), { code: 'ERR_SKNOCK_INVALID_ARGUMENT', message: /options\.keys/ });
  assert.throws(() => knockPacketKeys(ephemeralPublicKey, { privateKey: undefined as never }), { code: 'ERR_SKNOCK_UNSUPPORTED_KEY' });
});
