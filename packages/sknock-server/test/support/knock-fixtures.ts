/**
 * Credentials for the pipeline, daemon and CLI tests, made with the project's own CA
 * library (@sknock/ca): a CA, a server (key, certificate, PKCS#12), clients with grants, a
 * client of another CA, an expired and a revoked client, and a CRL. Made once per test
 * process (a few milliseconds each) and shared.
 */
import type { KeyObject } from 'node:crypto';
import { createKnockPacket, type Credentials, type KnockProtocol, type PortGrant } from '@sknock/protocol';
import {
  createCa,
  createCrl,
  issueClientCertificate,
  issueServerCertificate,
  type CertificateAuthority,
  type IssuedClientCertificate,
} from '@sknock/ca';

export const PFX_PASSWORD = 'correct horse battery staple';

export const ALICE_GRANTS: readonly PortGrant[] = [
  { protocol: 'tcp', port: 2000 },
  { protocol: 'tcp', port: 3000 },
  { protocol: 'udp', port: 8000 },
];

export interface TestClient {
  readonly name: string;
  readonly privateKey: KeyObject;
  readonly certificate: Uint8Array;
  readonly serial: string;
}

export interface KnockFixtures {
  readonly ca: CertificateAuthority;
  /** The server's in-memory credentials (key, certificate, [CA certificate]). */
  readonly server: Credentials;
  /** The same as a PKCS#12 file, password `PFX_PASSWORD`. */
  readonly serverPfx: Uint8Array;
  readonly alice: TestClient;
  readonly bob: TestClient;
  /** Issued by another CA. */
  readonly stranger: TestClient;
  /** Validity ended yesterday. */
  readonly expired: TestClient;
  /** On `crl`. */
  readonly revoked: TestClient;
  /** CRL of `ca` revoking `revoked`, DER. */
  readonly crl: Uint8Array;
  /** CRL of `ca` revoking nothing, DER. */
  readonly emptyCrl: Uint8Array;
}

function client(issued: IssuedClientCertificate, name: string): TestClient {
  return { name, privateKey: issued.privateKey, certificate: issued.certificate, serial: issued.serial };
}

let fixtures: Promise<KnockFixtures> | undefined;

export function knockFixtures(): Promise<KnockFixtures> {
  fixtures ??= make();
  return fixtures;
}

async function make(): Promise<KnockFixtures> {
  const ca = await createCa({ name: 'sKnock Test CA' });
  const otherCa = await createCa({ name: 'Some Other CA' });
  const server = await issueServerCertificate(ca, { name: 'knock.test', pkcs12: { passphrase: PFX_PASSWORD } });
  const day = 86_400_000;
  const now = Date.now();
  const [alice, bob, stranger, expired, revoked] = await Promise.all([
    issueClientCertificate(ca, { name: 'alice', grants: ALICE_GRANTS }),
    issueClientCertificate(ca, { name: 'bob', grants: [{ protocol: 'tcp', port: 4000 }] }),
    issueClientCertificate(otherCa, { name: 'mallory', grants: ALICE_GRANTS }),
    issueClientCertificate(ca, { name: 'old', grants: ALICE_GRANTS, notBefore: new Date(now - 10 * day), notAfter: new Date(now - day) }),
    issueClientCertificate(ca, { name: 'gone', grants: ALICE_GRANTS }),
  ]);
  const crl = await createCrl(ca, { revoked: [{ serial: revoked.serial, date: new Date(now - 60_000) }], crlNumber: 2 });
  const emptyCrl = await createCrl(ca, { revoked: [], crlNumber: 1 });
  return {
    ca,
    server: { privateKey: server.privateKey, certificate: server.certificate, caCertificates: [ca.certificate] },
    serverPfx: server.pfx as Uint8Array,
    alice: client(alice, 'alice'),
    bob: client(bob, 'bob'),
    stranger: client(stranger, 'mallory'),
    expired: client(expired, 'old'),
    revoked: client(revoked, 'gone'),
    crl,
    emptyCrl,
  };
}

export interface KnockOptions {
  readonly protocol?: KnockProtocol;
  readonly port?: number;
  /** The address the packet binds (default 127.0.0.1). */
  readonly address?: string;
  /** Unix seconds (default now). */
  readonly timestamp?: number;
}

/** One knock datagram from `who` to the fixtures' server. */
export function makeKnock(f: KnockFixtures, who: TestClient, options: KnockOptions = {}): Uint8Array {
  return createKnockPacket({
    credentials: { privateKey: who.privateKey, certificate: who.certificate },
    serverCertificate: f.server.certificate,
    protocol: options.protocol ?? 'tcp',
    port: options.port ?? 2000,
    address: options.address ?? '127.0.0.1',
    ...(options.timestamp === undefined ? {} : { timestamp: options.timestamp }),
  });
}
