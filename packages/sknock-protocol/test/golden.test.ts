import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openKnockPacket, verifyKnockSignature, parsePortGrants, readCertificate } from '../src/index.js';
import { encodeKnockDatagram } from '../src/datagram.js';
import { seal } from '../src/ecies.js';
import { publicPoint } from '../src/p256.js';
import { certificatePublicKey } from '../src/x509/certificate-key.js';
import { encodeSignedPart, encodeSignedRequest } from '../src/signed-request.js';
import { hex, toHex } from './support/data.js';
import { clientCertificate, golden, serverCertificate, serverKey } from './support/golden.js';

// Golden packets were recorded once by an independent (openssl) implementation. They are
// never changed: every later version of the package must still open them.

test('there are golden packets to check', () => {
  assert.ok(golden.packets.length >= 4);
});

for (const p of golden.packets) {
  test(`golden packet ${p.name} opens with the recorded fields`, () => {
    const opened = openKnockPacket(hex(p.datagramHex), { privateKey: serverKey }, { family: p.family });
    assert.deepEqual([...opened.version], p.version);
    assert.equal(opened.protocolByte, p.protocolByte);
    assert.equal(opened.protocol, p.protocolByte === 0 ? 'udp' : 'tcp');
    assert.equal(opened.port, p.port);
    assert.equal(opened.address, p.address);
    assert.equal(opened.timestamp, p.timestamp);
    assert.equal(toHex(opened.certificate), toHex(clientCertificate));
    assert.equal(toHex(opened.signature), p.signatureHex);
    assert.equal(toHex(opened.ephemeralPublicKey), p.datagramHex.slice(-130));
    assert.equal(verifyKnockSignature(opened), true);
  });

  test(`golden packet ${p.name} is rebuilt byte for byte from its fields and fixed ephemeral key`, () => {
    const signedPart = encodeSignedPart({
      protocol: p.protocolByte === 0 ? 'udp' : 'tcp',
      port: p.port,
      address: p.address,
      timestamp: p.timestamp,
      certificate: clientCertificate,
    });
    if (p.protocolByte > 1) signedPart[1] = p.protocolByte; // the API writes 0x01 for TCP; the wire allows any non-zero
    const plaintext = encodeSignedRequest(signedPart, hex(p.signatureHex));
    assert.equal(toHex(plaintext), p.plaintextHex);
    const point = publicPoint(certificatePublicKey(serverCertificate));
    const { ciphertext, ephemeralPublicKey } = seal(plaintext, point, hex(p.ephemeralPrivateKeyHex));
    const datagram = encodeKnockDatagram(ciphertext, ephemeralPublicKey);
    datagram.set(p.version, 1);
    assert.equal(toHex(datagram), p.datagramHex);
  });
}

test('golden client certificate carries the recorded grants', () => {
  const grants = parsePortGrants(readCertificate(golden.clientCertificatePem));
  assert.deepEqual(grants, [
    { protocol: 'tcp', port: 2000 },
    { protocol: 'tcp', port: 3000 },
    { protocol: 'udp', port: 8000 },
  ]);
});
