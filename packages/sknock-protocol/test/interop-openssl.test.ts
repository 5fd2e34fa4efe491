import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import {
  createKnockPacket,
  knockDatagramLength,
  openKnockPacket,
  readCertificate,
  verifyKnockSignature,
} from '../src/index.js';
import { toHex } from './support/data.js';
import {
  independentParse,
  independentRequest,
  independentSignedPart,
  makeOpensslPki,
  openssl,
  opensslSeal,
  opensslSign,
  opensslUnseal,
  opensslVerify,
} from './support/openssl.js';

// Both directions against an independent implementation whose crypto is the openssl command.
const pki = makeOpensslPki('1.2000,0.8000', 'Interop Client');
const clientCertificate = readCertificate(pki.clientCert);
const credentials = { privateKey: createPrivateKey(pki.clientKey), certificate: clientCertificate };

const cases = [
  { protocol: 'tcp' as const, port: 2000, address: '127.0.0.1', addressHex: '7f000001' + '00'.repeat(12) },
  { protocol: 'udp' as const, port: 8000, address: '2001:db8::1:2', addressHex: '20010db8000000000000000000010002' },
];

for (const c of cases) {
  test(`a ${c.protocol}/${c.address} knock built here opens in openssl with the same fields`, () => {
    const timestamp = 1764012345;
    const datagram = Buffer.from(createKnockPacket({ credentials, serverCertificate: pki.serverCert, ...c, timestamp }));
    assert.equal(datagram.length, knockDatagramLength(clientCertificate.length));
    assert.deepEqual([...datagram.subarray(0, 4)], [0x61, 1, 0, 0]);
    const plaintext = opensslUnseal(datagram, pki.serverKey);
    const r = independentParse(plaintext);
    assert.equal(plaintext[0], 0);
    assert.equal(r.protocolByte, c.protocol === 'tcp' ? 1 : 0);
    assert.equal(r.port, c.port);
    assert.equal(r.addressField.toString('hex'), c.addressHex);
    assert.equal(r.timestamp, timestamp);
    assert.equal(r.certificate.toString('hex'), toHex(clientCertificate));
    const l = plaintext[plaintext.length - 73]!;
    assert.ok(plaintext.subarray(plaintext.length - 72, plaintext.length - l).every((b) => b === 0), 'zero padding');
    assert.equal(opensslVerify(r.signedPart, r.signature, pki.clientCert), true);
  });

  test(`a ${c.protocol}/${c.address} knock built by openssl opens here with the same fields`, () => {
    const signedPart = independentSignedPart({
      protocolByte: c.protocol === 'tcp' ? 1 : 0,
      port: c.port,
      addressField: Buffer.from(c.addressHex, 'hex'),
      timestamp: 1764099999,
      certificate: Buffer.from(clientCertificate),
    });
    const plaintext = independentRequest(signedPart, opensslSign(signedPart, pki.clientKey));
    const ephemeral = openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']).toString();
    const datagram = opensslSeal(plaintext, pki.serverCert, ephemeral);
    const opened = openKnockPacket(datagram, { privateKey: createPrivateKey(pki.serverKey) }, { family: c.address.includes(':') ? 6 : 4 });
    assert.equal(opened.protocol, c.protocol);
    assert.equal(opened.port, c.port);
    assert.equal(opened.address, c.address);
    assert.equal(opened.timestamp, 1764099999);
    assert.equal(verifyKnockSignature(opened), true);
  });
}

test('a signature that openssl rejects is rejected here too', () => {
  const datagram = createKnockPacket({ credentials, serverCertificate: pki.serverCert, protocol: 'tcp', port: 2000, address: '127.0.0.1' });
  const opened = openKnockPacket(datagram, { privateKey: createPrivateKey(pki.serverKey) }, { family: 4 });
  const tampered = new Uint8Array(opened.signedBytes);
  tampered[3] = (tampered[3] as number) ^ 1; // another port
  assert.equal(verifyKnockSignature({ ...opened, signedBytes: tampered }), false);
  assert.equal(opensslVerify(Buffer.from(tampered), Buffer.from(opened.signature), pki.clientCert), false);
});
