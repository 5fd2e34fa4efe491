import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readCertificate } from '../../src/x509/read-certificates.js';
import { readJson } from './data.js';

export interface GoldenPacket {
  name: string;
  version: [number, number, number];
  protocolByte: number;
  port: number;
  family: 4 | 6;
  address: string;
  addressFieldHex: string;
  timestamp: number;
  ephemeralPrivateKeyHex: string;
  signatureHex: string;
  plaintextHex: string;
  datagramHex: string;
}

export interface Golden {
  caCertificatePem: string;
  serverKeyPem: string;
  serverCertificatePem: string;
  clientCertificatePem: string;
  clientKeyPem: string;
  clientGrants: string;
  packets: GoldenPacket[];
}

export const golden = readJson<Golden>('golden-knocks.json');
export const serverKey: KeyObject = createPrivateKey(golden.serverKeyPem);
export const clientKey: KeyObject = createPrivateKey(golden.clientKeyPem);
export const clientCertificate = readCertificate(golden.clientCertificatePem);
export const serverCertificate = readCertificate(golden.serverCertificatePem);
export const clientCredentials = { privateKey: clientKey, certificate: clientCertificate, caCertificates: [] };
