import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { parseIpAddress } from './address.js';
import { readCertificate } from './x509/read-certificates.js';
import { AES_IV_LENGTH, AES_KEY_LENGTH, KNOCK_MAX_DATAGRAM_LENGTH, PORT_MAX, PORT_MIN, PUBLIC_KEY_CACHE_MAX, SERVER_POINT_CACHE_MAX } from './constants.js';
import { encodeKnockDatagram, knockDatagramLength, parseKnockDatagram, type KnockDatagram } from './datagram.js';
import { seal, unsealKeys, unsealWith } from './ecies.js';
import { SknockProtocolError } from './errors/protocol-error.js';
import type { KnockKeys } from './hkdf.js';
import { assertP256Key, isP256Key, publicPoint } from './p256.js';
import { certificateP256Key, certificatePublicKey } from './x509/certificate-key.js';
import { decodeSignedRequest, encodeSignedPart, encodeSignedRequest } from './signed-request.js';
import type { Credentials, IpFamily, KnockProtocol, OpenedKnock } from './types.js';

/**
 * Building and opening whole knocks: the signed request, signed with the client's key,
 * sealed to the server's key, framed as one datagram.
 */

export interface CreateKnockPacketOptions {
  /** The client's key and certificate (`loadCredentials`). */
  readonly credentials: Pick<Credentials, 'privateKey' | 'certificate'>;
  /** The server's certificate, DER or PEM (`readCertificate`). */
  readonly serverCertificate: Uint8Array | string;
  readonly protocol: KnockProtocol;
  readonly port: number;
  /** The IPv4 or IPv6 address the packet binds: the source address the server will see. */
  readonly address: string;
  /** Seconds since the Unix epoch; default now. */
  readonly timestamp?: number;
  /** Fixed 32-byte ephemeral private key: for test vectors only. */
  readonly ephemeralPrivateKey?: Uint8Array;
}

function invalid(message: string): SknockProtocolError {
  return new SknockProtocolError('ERR_SKNOCK_INVALID_ARGUMENT', message);
}

// Server points by certificate bytes: a client knocking the same server again skips the parse.
const serverPointCache = new Map<string, Buffer>();

function serverPointFor(serverCertificate: Uint8Array | string): Buffer {
  const der = readCertificateCached(serverCertificate);
  const id = Buffer.from(der).toString('base64');
  let point = serverPointCache.get(id);
  if (point === undefined) {
    const key = certificatePublicKey(der, 'serverCertificate');
    assertP256Key(key, 'public', 'serverCertificate public key');
    point = publicPoint(key);
    if (serverPointCache.size >= SERVER_POINT_CACHE_MAX) serverPointCache.delete(serverPointCache.keys().next().value as string);
    serverPointCache.set(id, point);
  }
  return point;
}

function readCertificateCached(input: Uint8Array | string): Uint8Array {
  if (input instanceof Uint8Array && input[0] === 0x30) return input; // DER; parsed when first cached
  return readCertificate(input, 'serverCertificate');
}

/** Builds one knock datagram (PROTOCOL.md). */
export function createKnockPacket(options: CreateKnockPacketOptions): Uint8Array {
  if (options === null || typeof options !== 'object') throw invalid('options must be an object');
  const { credentials, protocol, port, address } = options;
  if (credentials === null || typeof credentials !== 'object') throw invalid('options.credentials must be an object');
  assertP256Key(credentials.privateKey, 'private', 'options.credentials.privateKey');
  if (!(credentials.certificate instanceof Uint8Array) || credentials.certificate.length === 0) {
    throw invalid('options.credentials.certificate must be DER bytes');
  }
  if (protocol !== 'tcp' && protocol !== 'udp') throw invalid(`options.protocol must be 'tcp' or 'udp', got ${String(protocol)}`);
  if (!Number.isInteger(port) || port < PORT_MIN || port > PORT_MAX) {
    throw invalid(`options.port must be an integer from ${PORT_MIN} to ${PORT_MAX}, got ${String(port)}`);
  }
  parseIpAddress(address, 'options.address');
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  if (!Number.isInteger(timestamp) || timestamp < 0 || timestamp > 0xffffffff) {
    throw invalid('options.timestamp must be whole Unix seconds from 0 to 2^32−1');
  }
  const size = knockDatagramLength(credentials.certificate.length);
  if (size > KNOCK_MAX_DATAGRAM_LENGTH) {
    throw new SknockProtocolError(
      'ERR_SKNOCK_CERTIFICATE_TOO_LARGE',
      `a ${credentials.certificate.length}-byte client certificate makes a ${size}-byte knock; ` +
        `the limit is ${KNOCK_MAX_DATAGRAM_LENGTH} bytes (the IPv6 minimum MTU less headers)`,
    );
  }
  const serverPoint = serverPointFor(options.serverCertificate);
  const signedPart = encodeSignedPart({ protocol, port, address, timestamp, certificate: credentials.certificate });
  const signature = sign('sha256', signedPart, credentials.privateKey);
  const { ciphertext, ephemeralPublicKey } = seal(encodeSignedRequest(signedPart, signature), serverPoint, options.ephemeralPrivateKey);
  return encodeKnockDatagram(ciphertext, ephemeralPublicKey);
}

export interface OpenKnockPacketOptions {
  /** IP version of the datagram: says whether 4 or 16 bytes of the address field count. */
  readonly family: IpFamily;
  /**
   * The AES key and IV for the datagram's ephemeral key, from `knockPacketKeys` (a server
   * that kept them per point): the ECDH is skipped. Without it they are derived.
   */
  readonly keys?: KnockKeys;
}

function isAesKeys(keys: unknown): keys is KnockKeys {
  if (keys === null || typeof keys !== 'object') return false;
  const { key, iv } = keys as { key?: unknown; iv?: unknown };
  return key instanceof Uint8Array && key.length === AES_KEY_LENGTH && iv instanceof Uint8Array && iv.length === AES_IV_LENGTH;
}

/**
 * The AES key and IV of a knock whose ephemeral public key is `ephemeralPublicKey` (the
 * datagram's last 65 bytes): ECDH with the server's key, then HKDF — all the public-key work
 * of `openKnockPacket`. A server may keep them per point and pass them back as
 * `options.keys`. Throws `ERR_SKNOCK_DECRYPT_FAILED` for a point that is not on the curve.
 */
export function knockPacketKeys(ephemeralPublicKey: Uint8Array, serverCredentials: Pick<Credentials, 'privateKey'>): KnockKeys {
  if (!(ephemeralPublicKey instanceof Uint8Array)) throw invalid('ephemeralPublicKey must be a Uint8Array');
  if (serverCredentials === null || typeof serverCredentials !== 'object') throw invalid('serverCredentials must be an object');
  assertP256Key(serverCredentials.privateKey, 'private', 'serverCredentials.privateKey');
  return unsealKeys(ephemeralPublicKey, serverCredentials.privateKey);
}

/**
 * Decrypts and frames a knock. Checks nothing that needs policy (chain, time, grants,
 * source): the server does. Throws `SknockProtocolError`, and nothing else.
 */
export function openKnockPacket(
  datagram: Uint8Array,
  serverCredentials: Pick<Credentials, 'privateKey'>,
  options: OpenKnockPacketOptions,
): OpenedKnock {
  if (options?.family !== 4 && options?.family !== 6) throw invalid('options.family must be 4 or 6');
  if (options.keys !== undefined && !isAesKeys(options.keys)) throw invalid('options.keys must be { key, iv } of 16 bytes each (knockPacketKeys)');
  if (serverCredentials === null || typeof serverCredentials !== 'object') throw invalid('serverCredentials must be an object');
  assertP256Key(serverCredentials.privateKey, 'private', 'serverCredentials.privateKey');
  const parsed = parseKnockDatagram(datagram);
  return openKnockDatagram(parsed, options.keys ?? unsealKeys(parsed.ephemeralPublicKey, serverCredentials.privateKey), options.family);
}

/**
 * Decrypts and frames a datagram already split (`inspectKnockDatagram`), with the AES key and
 * IV of its point (`knockPacketKeys`): a server parses each datagram once. Throws
 * `SknockProtocolError` (`ERR_SKNOCK_DECRYPT_FAILED`, `ERR_SKNOCK_MALFORMED_REQUEST`), and
 * nothing else.
 */
export function openKnockDatagram(parsed: KnockDatagram, keys: KnockKeys, family: IpFamily): OpenedKnock {
  const plaintext = unsealWith(parsed.ciphertext, keys);
  return { version: parsed.version, ephemeralPublicKey: parsed.ephemeralPublicKey, ...decodeSignedRequest(plaintext, family) };
}

// Public keys by certificate hash: parsing a certificate and importing its key cost more than
// the ECDH (docs/PROTOCOL-NOTES.md), and returning clients send the same certificate each time.
const publicKeyCache = new Map<string, KeyObject | null>();

/** The P-256 public key of a certificate, or `null` when it has none; kept by hash. */
export function knockCertificateKey(certificate: Uint8Array): KeyObject | null {
  const id = createHash('sha256').update(certificate).digest('base64');
  let key = publicKeyCache.get(id);
  if (key === undefined) {
    key = certificateP256Key(certificate);
    if (publicKeyCache.size >= PUBLIC_KEY_CACHE_MAX) publicKeyCache.delete(publicKeyCache.keys().next().value as string);
    publicKeyCache.set(id, key);
  }
  return key;
}

/**
 * True when the knock's signature verifies with its certificate's P-256 key. A caller that
 * already holds that key (a server that parsed the certificate for its chain check) may
 * pass it as `publicKey`; otherwise it is read from the certificate and kept by hash.
 */
export function verifyKnockSignature(
  opened: Pick<OpenedKnock, 'certificate' | 'signature' | 'signedBytes'>,
  publicKey?: KeyObject,
): boolean {
  const key = publicKey ?? knockCertificateKey(opened.certificate);
  if (key === null) return false;
  if (publicKey !== undefined && !isP256Key(key, 'public')) return false;
  try {
    return verify('sha256', opened.signedBytes, key, opened.signature);
  } catch {
    return false;
  }
}
