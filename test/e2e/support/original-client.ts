/**
 * An emulated original sKnock 1.0.0 client: the knock datagram made by the independent
 * openssl-based implementation of the protocol package's tests
 * (packages/sknock-protocol/test/support/openssl.ts: byte layout written from PROTOCOL.md,
 * every cryptographic step in the `openssl` command), from the credentials of the original
 * project's development PKCS#12 file. Shares no code with the packages under test.
 */
import { execFileSync } from 'node:child_process';
import { isIPv4 } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as OpensslImpl from '../../../packages/sknock-protocol/test/support/openssl.js';
import { REPO_ROOT } from './repo.js';

/** The openssl implementation, loaded from where the protocol package compiles its tests. */
const impl = (await import(pathToFileURL(join(REPO_ROOT, 'packages/sknock-protocol/dist/test/support/openssl.js')).href)) as typeof OpensslImpl;

export interface OriginalClientCredentials {
  /** The client's private key, PEM. */
  readonly keyPem: string;
  /** The client's certificate, DER. */
  readonly certificateDer: Buffer;
  /** The server certificate, PEM (what the knock is encrypted to). */
  readonly serverCertificatePem: string;
}

function run(args: readonly string[], input?: Buffer): Buffer {
  return execFileSync('openssl', [...args], { input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/**
 * The client key and certificate out of a legacy (RC2-40 / 3DES) PKCS#12 file, with
 * `openssl pkcs12 -legacy -nodes`, and the server certificate (DER) as PEM.
 */
export function readOriginalCredentials(clientPfx: string, password: string, serverCertificateDer: string): OriginalClientCredentials {
  const keyPem = run(['pkcs12', '-legacy', '-nodes', '-nocerts', '-in', clientPfx, '-passin', `pass:${password}`]).toString('utf8');
  const certPem = run(['pkcs12', '-legacy', '-nodes', '-nokeys', '-clcerts', '-in', clientPfx, '-passin', `pass:${password}`]);
  const certificateDer = run(['x509', '-outform', 'DER'], certPem);
  const serverCertificatePem = run(['x509', '-inform', 'DER', '-in', serverCertificateDer]).toString('utf8');
  return { keyPem, certificateDer, serverCertificatePem };
}

/** PROTOCOL.md "Signed request" offset 4: IPv4 in the first 4 bytes then 12 zero bytes, or the 16 bytes of IPv6. */
export function addressField(address: string): Buffer {
  const field = Buffer.alloc(16);
  if (isIPv4(address)) {
    Buffer.from(address.split('.').map(Number)).copy(field, 0);
    return field;
  }
  const [head = '', tail] = address.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  groups.forEach((g, i) => field.writeUInt16BE(parseInt(g, 16), i * 2));
  return field;
}

/**
 * One knock datagram as an original client makes it: TCP `port`, bound `address`, the
 * timestamp now (seconds since the epoch), signed with the client key, sealed to the server
 * certificate with a fresh ephemeral P-256 key.
 */
export function originalKnockDatagram(credentials: OriginalClientCredentials, port: number, address: string): Buffer {
  const ephemeralKeyPem = run(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']).toString('utf8');
  const signedPart = impl.independentSignedPart({
    protocolByte: 1,
    port,
    addressField: addressField(address),
    timestamp: Math.floor(Date.now() / 1000),
    certificate: credentials.certificateDer,
  });
  const signature = impl.opensslSign(signedPart, credentials.keyPem);
  return impl.opensslSeal(impl.independentRequest(signedPart, signature), credentials.serverCertificatePem, ephemeralKeyPem);
}
