/**
 * Records the golden knock packets in `test/data/golden-knocks.json`, once. Every packet is
 * built by the independent openssl implementation (support/openssl.ts), never by the
 * package. Recorded packets are never changed; add new ones with a new name.
 *
 *   node packages/sknock-protocol/dist/test/support/make-golden.js > packages/sknock-protocol/test/data/golden-knocks.json
 */
import { createPrivateKey } from 'node:crypto';
import {
  independentRequest,
  independentSignedPart,
  makeOpensslPki,
  openssl,
  opensslSeal,
  opensslSign,
  withTmp,
} from './openssl.js';

interface Spec {
  name: string;
  version: [number, number, number];
  protocolByte: number;
  port: number;
  family: 4 | 6;
  address: string;
  addressFieldHex: string;
  timestamp: number;
}

const specs: Spec[] = [
  { name: 'tcp-2000-ipv4', version: [1, 0, 0], protocolByte: 1, port: 2000, family: 4, address: '127.0.0.1',
    addressFieldHex: '7f000001' + '00'.repeat(12), timestamp: 1764000000 },
  { name: 'udp-8000-ipv6', version: [1, 0, 0], protocolByte: 0, port: 8000, family: 6, address: 'fd00:5::2',
    addressFieldHex: 'fd000005000000000000000000000002', timestamp: 1764000123 },
  { name: 'tcp-3000-ipv4-version-0.9.1', version: [0, 9, 1], protocolByte: 1, port: 3000, family: 4, address: '10.200.0.2',
    addressFieldHex: '0ac80002' + '00'.repeat(12), timestamp: 4000000000 },
  { name: 'tcp-byte-7-reads-as-tcp', version: [1, 0, 0], protocolByte: 7, port: 2000, family: 4, address: '192.0.2.55',
    addressFieldHex: 'c0000237' + '00'.repeat(12), timestamp: 1764000456 },
];

const pki = makeOpensslPki();
const certDer = (pem: string) => withTmp(() => openssl(['x509', '-outform', 'DER'], Buffer.from(pem)));
const clientDer = certDer(pki.clientCert);
const packets = specs.map((s) => {
  const ephemeralKeyPem = openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']).toString();
  const signedPart = independentSignedPart({
    protocolByte: s.protocolByte,
    port: s.port,
    addressField: Buffer.from(s.addressFieldHex, 'hex'),
    timestamp: s.timestamp,
    certificate: clientDer,
  });
  const signature = opensslSign(signedPart, pki.clientKey);
  const plaintext = independentRequest(signedPart, signature);
  const datagram = opensslSeal(plaintext, pki.serverCert, ephemeralKeyPem);
  datagram.set(s.version, 1);
  const d = createPrivateKey(ephemeralKeyPem).export({ format: 'jwk' }).d as string;
  return {
    ...s,
    ephemeralPrivateKeyHex: Buffer.from(d, 'base64url').toString('hex'),
    signatureHex: signature.toString('hex'),
    plaintextHex: plaintext.toString('hex'),
    datagramHex: datagram.toString('hex'),
  };
});

process.stdout.write(
  JSON.stringify(
    {
      description: 'sKnock 1.0.0 knocks built by openssl (independent implementation); never change, only add.',
      recorded: new Date().toISOString().slice(0, 10),
      caCertificatePem: pki.caCert,
      serverKeyPem: pki.serverKey,
      serverCertificatePem: pki.serverCert,
      clientCertificatePem: pki.clientCert,
      clientKeyPem: pki.clientKey,
      clientGrants: '1.2000,1.3000,0.8000',
      packets,
    },
    null,
    2,
  ) + '\n',
);
