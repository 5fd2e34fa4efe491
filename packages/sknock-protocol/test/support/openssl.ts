/**
 * An independent sKnock 1.0.0 implementation for tests: every cryptographic step runs in
 * the `openssl` command (ECDH with `pkeyutl -derive`, HKDF with `kdf`, AES with `enc`,
 * ECDSA with `dgst`), and the byte layout is written here from PROTOCOL.md on its own,
 * sharing no code with the package under test.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SALT =
  '54686579206c6976696e272069742075702061742074686520486f74656c' +
  '2043616c69666f726e69610a576861742061206e69636520737572707269' +
  '73652028776861742061206e696365207375727072697365290a4272696e' +
  '6720796f757220616c69626973';

/** DER prefix of a P-256 SubjectPublicKeyInfo, before the 65-byte point (RFC 5480). */
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');

export function openssl(args: string[], input?: Buffer): Buffer {
  return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] });
}

export function withTmp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'sknock-openssl-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function pointToPem(point: Buffer): string {
  const der = Buffer.concat([P256_SPKI_PREFIX, point]);
  return `-----BEGIN PUBLIC KEY-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END PUBLIC KEY-----\n`;
}

function hkdf16(z: Buffer, info: string): Buffer {
  const out = openssl([
    'kdf', '-keylen', '16', '-kdfopt', 'digest:SHA256', '-kdfopt', `hexkey:${z.toString('hex')}`,
    '-kdfopt', `salt:${SALT}`, '-kdfopt', `info:${info}`, '-binary', 'HKDF',
  ]);
  return out;
}

/** ECDH between a private key (PEM file) and a peer point, in openssl. */
export function opensslEcdh(dir: string, privateKeyPem: string, peerPoint: Buffer): Buffer {
  writeFileSync(join(dir, 'self.key'), privateKeyPem);
  writeFileSync(join(dir, 'peer.pem'), pointToPem(peerPoint));
  return openssl(['pkeyutl', '-derive', '-inkey', join(dir, 'self.key'), '-peerkey', join(dir, 'peer.pem')]);
}

export function opensslKeys(z: Buffer): { key: Buffer; iv: Buffer } {
  return { key: hkdf16(z, 'knock'), iv: hkdf16(z, 'iv0AES128CBC') };
}

/** The uncompressed point of a P-256 public key or certificate, read by openssl. */
export function opensslPoint(dir: string, pem: string, isCertificate: boolean): Buffer {
  writeFileSync(join(dir, 'in.pem'), pem);
  const spkiPem = isCertificate
    ? openssl(['x509', '-in', join(dir, 'in.pem'), '-noout', '-pubkey'])
    : openssl(['pkey', '-in', join(dir, 'in.pem'), '-pubout']);
  writeFileSync(join(dir, 'spki.pem'), spkiPem);
  const der = openssl(['pkey', '-pubin', '-in', join(dir, 'spki.pem'), '-outform', 'DER']);
  return der.subarray(der.length - 65);
}

/** Seals a plaintext to a server certificate, as a knock datagram. */
export function opensslSeal(plaintext: Buffer, serverCertificatePem: string, ephemeralKeyPem: string): Buffer {
  return withTmp((dir) => {
    const serverPoint = opensslPoint(dir, serverCertificatePem, true);
    const ephemeralPoint = opensslPoint(dir, ephemeralKeyPem, false);
    const z = opensslEcdh(dir, ephemeralKeyPem, serverPoint);
    const { key, iv } = opensslKeys(z);
    writeFileSync(join(dir, 'pt'), plaintext);
    const ct = openssl(['enc', '-aes-128-cbc', '-K', key.toString('hex'), '-iv', iv.toString('hex'), '-in', join(dir, 'pt')]);
    return Buffer.concat([Buffer.from([0x61, 1, 0, 0]), ct, ephemeralPoint]);
  });
}

/** Opens a knock datagram with the server's private key; returns the plaintext. */
export function opensslUnseal(datagram: Buffer, serverKeyPem: string): Buffer {
  return withTmp((dir) => {
    const ct = datagram.subarray(4, datagram.length - 65);
    const point = datagram.subarray(datagram.length - 65);
    const z = opensslEcdh(dir, serverKeyPem, point);
    const { key, iv } = opensslKeys(z);
    writeFileSync(join(dir, 'ct'), ct);
    return openssl(['enc', '-d', '-aes-128-cbc', '-K', key.toString('hex'), '-iv', iv.toString('hex'), '-in', join(dir, 'ct')]);
  });
}

export function opensslSign(data: Buffer, keyPem: string): Buffer {
  return withTmp((dir) => {
    writeFileSync(join(dir, 'k.pem'), keyPem);
    writeFileSync(join(dir, 'data'), data);
    return openssl(['dgst', '-sha256', '-sign', join(dir, 'k.pem'), join(dir, 'data')]);
  });
}

export function opensslVerify(data: Buffer, signature: Buffer, certificatePem: string): boolean {
  return withTmp((dir) => {
    writeFileSync(join(dir, 'c.pem'), certificatePem);
    writeFileSync(join(dir, 'pub.pem'), openssl(['x509', '-in', join(dir, 'c.pem'), '-noout', '-pubkey']));
    writeFileSync(join(dir, 'data'), data);
    writeFileSync(join(dir, 'sig'), signature);
    try {
      openssl(['dgst', '-sha256', '-verify', join(dir, 'pub.pem'), '-signature', join(dir, 'sig'), join(dir, 'data')]);
      return true;
    } catch {
      return false;
    }
  });
}

/** The plaintext layout of PROTOCOL.md "Signed request", written independently. */
export interface PlainRequest {
  protocolByte: number;
  port: number;
  addressField: Buffer;
  timestamp: number;
  certificate: Buffer;
}

export function independentSignedPart(r: PlainRequest): Buffer {
  const head = Buffer.alloc(24);
  head[0] = 0;
  head[1] = r.protocolByte;
  head.writeUInt16BE(r.port, 2);
  r.addressField.copy(head, 4);
  head.writeUInt32BE(r.timestamp, 20);
  return Buffer.concat([head, r.certificate]);
}

export function independentRequest(signedPart: Buffer, signature: Buffer): Buffer {
  const trailer = Buffer.alloc(73);
  trailer[0] = signature.length;
  signature.copy(trailer, 73 - signature.length);
  return Buffer.concat([signedPart, trailer]);
}

export function independentParse(plaintext: Buffer): PlainRequest & { signature: Buffer; signedPart: Buffer } {
  const l = plaintext[plaintext.length - 73]!;
  return {
    protocolByte: plaintext[1]!,
    port: plaintext.readUInt16BE(2),
    addressField: plaintext.subarray(4, 20),
    timestamp: plaintext.readUInt32BE(20),
    certificate: plaintext.subarray(24, plaintext.length - 73),
    signature: plaintext.subarray(plaintext.length - l),
    signedPart: plaintext.subarray(0, plaintext.length - 73),
  };
}

/** A small PKI made by openssl: CA, server and client (with grants), PEM text. */
export interface OpensslPki {
  caKey: string;
  caCert: string;
  serverKey: string;
  serverCert: string;
  clientKey: string;
  clientCert: string;
}

export function makeOpensslPki(grants = '1.2000,1.3000,0.8000', clientCn = 'Test Client', extraSan = ''): OpensslPki {
  return withTmp((dir) => {
    const f = (n: string) => join(dir, n);
    const key = (n: string) => openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', f(n)]);
    key('ca.key');
    key('server.key');
    key('client.key');
    openssl(['req', '-x509', '-new', '-key', f('ca.key'), '-subj', '/CN=Test Knock CA', '-days', '3650', '-out', f('ca.pem'),
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    const issue = (name: string, subj: string, ext: string) => {
      writeFileSync(f(`${name}.ext`), ext);
      openssl(['req', '-new', '-key', f(`${name}.key`), '-subj', subj, '-out', f(`${name}.csr`)]);
      openssl(['x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial',
        '-days', '3650', '-extfile', f(`${name}.ext`), '-out', f(`${name}.pem`)]);
    };
    issue('server', '/CN=knock.test', 'keyUsage=critical,digitalSignature,keyAgreement\n');
    issue('client', `/CN=${clientCn}`,
      `keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=@alt\n[alt]\notherName.0=1.3.6.1.4.1.19518;UTF8:${grants}\n${extraSan}`);
    const read = (n: string) => readFileSync(f(n), 'utf8');
    return {
      caKey: read('ca.key'), caCert: read('ca.pem'),
      serverKey: read('server.key'), serverCert: read('server.pem'),
      clientKey: read('client.key'), clientCert: read('client.pem'),
    };
  });
}
