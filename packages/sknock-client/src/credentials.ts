import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import {
  KNOCK_MAX_DATAGRAM_LENGTH,
  SknockProtocolError,
  knockDatagramLength,
  loadCredentials,
  parsePortGrants,
  readCertificate,
  type PortGrant,
} from '@sknock/protocol';
import { isP256Key } from '@sknock/protocol/p256';
import { SknockClientError } from './errors.js';
import type { CredentialSource } from './options.js';
import { readPathOrBytes, readPathPemOrBytes } from './read-input.js';

/**
 * Client credentials and the server certificate, loaded and checked once: the things a
 * knock needs that do not change between knocks.
 */

export interface LoadedCredentials {
  readonly privateKey: KeyObject;
  /** Client certificate, DER. */
  readonly certificate: Uint8Array;
  readonly grants: readonly PortGrant[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly subject: string;
}

function credentialError(option: string, message: string, cause?: unknown): SknockClientError {
  return new SknockClientError('ERR_SKNOCK_CREDENTIALS', `${option}: ${message}`, { option, cause });
}

function protocolReason(err: SknockProtocolError): string {
  switch (err.code) {
    case 'ERR_SKNOCK_BAD_PASSPHRASE':
      return 'wrong passphrase (or the file is damaged)';
    case 'ERR_SKNOCK_MALFORMED_PKCS12':
      return 'not a PKCS#12 file, or truncated';
    case 'ERR_SKNOCK_MISSING_KEY':
      return 'holds no private key';
    case 'ERR_SKNOCK_MISSING_CERTIFICATE':
      return 'holds no certificate for the key';
    case 'ERR_SKNOCK_KEY_MISMATCH':
      return 'the private key does not belong to the certificate';
    case 'ERR_SKNOCK_UNSUPPORTED_KEY':
      return 'the key is not an EC P-256 key';
    default:
      return err.message;
  }
}

/** Loads and checks the client key and certificate. */
export async function loadClientCredentials(source: CredentialSource): Promise<LoadedCredentials> {
  let privateKey: KeyObject;
  let certificate: Uint8Array;
  const option = source.kind === 'pfx' ? 'pfx' : source.kind === 'pem' ? 'key' : 'credentials';
  if (source.kind === 'loaded') {
    ({ privateKey, certificate } = source.credentials);
  } else {
    let loaded;
    try {
      if (source.kind === 'pfx') {
        const pfx = await readPathOrBytes('pfx', source.pfx);
        loaded = await loadCredentials({ pfx, passphrase: source.passphrase });
      } else {
        const key = await readPathPemOrBytes('key', source.key);
        const cert = await readPathPemOrBytes('certificate', source.certificate);
        loaded = await loadCredentials(source.passphrase === undefined ? { key, certificate: cert } : { key, certificate: cert, passphrase: source.passphrase });
      }
    } catch (err) {
      if (err instanceof SknockClientError) throw err;
      if (err instanceof SknockProtocolError) {
        const which = err.code === 'ERR_SKNOCK_INVALID_CERTIFICATE' && source.kind === 'pem' ? 'certificate' : option;
        throw credentialError(which, `${protocolReason(err)} [${err.code}]`, err);
      }
      throw credentialError(option, `cannot load: ${(err as Error)?.message ?? String(err)}`, err);
    }
    ({ privateKey, certificate } = loaded);
  }
  return checkCredentials(option, privateKey, certificate);
}

function checkCredentials(option: string, privateKey: KeyObject, certificate: Uint8Array): LoadedCredentials {
  if (!isP256Key(privateKey, 'private')) {
    throw credentialError(option, 'the private key is not an EC P-256 key (sKnock signs with ECDSA P-256)');
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(certificate);
  } catch (cause) {
    throw credentialError(option, 'the client certificate is not a readable X.509 certificate', cause);
  }
  const certKey = x509.publicKey.export({ type: 'spki', format: 'der' });
  const ownKey = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  if (!certKey.equals(ownKey)) throw credentialError(option, 'the private key does not belong to the certificate');
  const size = knockDatagramLength(certificate.length);
  if (size > KNOCK_MAX_DATAGRAM_LENGTH) {
    throw credentialError(option, `the ${certificate.length}-byte client certificate makes a ${size}-byte knock; the limit is ${KNOCK_MAX_DATAGRAM_LENGTH} bytes (one unfragmented IPv6 datagram)`);
  }
  let grants: PortGrant[];
  try {
    grants = parsePortGrants(certificate);
  } catch (cause) {
    throw credentialError(option, `the client certificate's port grants are malformed: ${(cause as Error).message}`, cause);
  }
  return {
    privateKey,
    certificate: new Uint8Array(certificate),
    grants: Object.freeze(grants),
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    subject: x509.subject.replace(/\n/g, ', '),
  };
}

/** Throws unless the certificate is valid now and grants (protocol, port). */
export function checkUsable(credentials: LoadedCredentials, protocol: 'tcp' | 'udp', port: number, now = Date.now()): void {
  if (now < credentials.notBefore.getTime()) {
    throw new SknockClientError('ERR_SKNOCK_CERTIFICATE_EXPIRED', `the client certificate (${credentials.subject}) is not valid before ${credentials.notBefore.toISOString()}`);
  }
  if (now > credentials.notAfter.getTime()) {
    throw new SknockClientError('ERR_SKNOCK_CERTIFICATE_EXPIRED', `the client certificate (${credentials.subject}) expired on ${credentials.notAfter.toISOString()}`);
  }
  if (!credentials.grants.some((g) => g.protocol === protocol && g.port === port)) {
    const list = credentials.grants.length === 0 ? 'nothing' : credentials.grants.map((g) => `${g.protocol}/${g.port}`).join(', ');
    throw new SknockClientError(
      'ERR_SKNOCK_NOT_GRANTED',
      `the client certificate (${credentials.subject}) does not grant ${protocol}/${port}; it grants ${list}`,
    );
  }
}

/** Loads the server certificate as DER, checked to hold a P-256 key. */
export async function loadServerCertificate(value: string | Uint8Array): Promise<Uint8Array> {
  const input = await readPathPemOrBytes('serverCertificate', value);
  let der: Uint8Array;
  try {
    der = readCertificate(input, 'serverCertificate');
  } catch (cause) {
    throw new SknockClientError('ERR_SKNOCK_SERVER_CERTIFICATE', `serverCertificate: not a readable X.509 certificate (DER or PEM)`, { option: 'serverCertificate', cause });
  }
  const key = new X509Certificate(der).publicKey;
  if (!isP256Key(key, 'public')) {
    throw new SknockClientError('ERR_SKNOCK_SERVER_CERTIFICATE', 'serverCertificate: its key is not EC P-256 (sKnock encrypts to a P-256 key)', { option: 'serverCertificate' });
  }
  return der;
}
