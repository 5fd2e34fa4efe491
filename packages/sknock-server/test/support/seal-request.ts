/**
 * Knocks built by hand, for the reject paths createKnockPacket will not produce: a signed
 * request tampered with after signing, a request that does not frame. The ECIES is the
 * protocol's (PROTOCOL.md "Keys"), written out here with node:crypto and the package's
 * exported HKDF step.
 */
import { createCipheriv, createECDH, sign, X509Certificate } from 'node:crypto';
import {
  deriveKnockKeys,
  encodeKnockDatagram,
  encodeSignedPart,
  encodeSignedRequest,
  type KnockProtocol,
} from '@sknock/protocol';
import type { TestClient } from './knock-fixtures.js';

function serverPoint(serverCertificate: Uint8Array): Buffer {
  const jwk = new X509Certificate(serverCertificate).publicKey.export({ format: 'jwk' });
  return Buffer.concat([Buffer.of(4), Buffer.from(jwk.x as string, 'base64url'), Buffer.from(jwk.y as string, 'base64url')]);
}

/** Encrypts any plaintext to the server exactly as a client would, as one datagram. */
export function sealPlaintext(plaintext: Uint8Array, serverCertificate: Uint8Array): Uint8Array {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const { key, iv } = deriveKnockKeys(ecdh.computeSecret(serverPoint(serverCertificate)));
  const cipher = createCipheriv('aes-128-cbc', key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return encodeKnockDatagram(ciphertext, ecdh.getPublicKey());
}

export interface HandKnock {
  readonly protocol?: KnockProtocol;
  readonly port?: number;
  readonly address?: string;
  readonly timestamp?: number;
  /** Changes the signed bytes after the signature was made. */
  readonly tamper?: (signedPart: Uint8Array) => void;
}

/** A knock signed by `who`, optionally tampered with after signing, then sealed. */
export function handKnock(who: TestClient, serverCertificate: Uint8Array, options: HandKnock = {}): Uint8Array {
  const signedPart = encodeSignedPart({
    protocol: options.protocol ?? 'tcp',
    port: options.port ?? 2000,
    address: options.address ?? '127.0.0.1',
    timestamp: options.timestamp ?? Math.floor(Date.now() / 1000),
    certificate: who.certificate,
  });
  const signature = sign('sha256', signedPart, who.privateKey);
  options.tamper?.(signedPart);
  return sealPlaintext(encodeSignedRequest(signedPart, signature), serverCertificate);
}
