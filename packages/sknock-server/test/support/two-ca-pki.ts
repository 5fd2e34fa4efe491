/**
 * Two CAs and an intermediate, for the tests of trust per issuer: CA One (the server's CA,
 * in its credentials), CA Two (a second trust anchor, for caFile), and Issuing CA under CA
 * One (an intermediate, for caFile). sKnock client certificates with grants under each, made
 * with the project's CA library (`issueClientCertificate`), and CRLs of each CA.
 */
import { encodePem, type PortGrant } from '@sknock/protocol';
import { createCa, createCrl, issueClientCertificate, issueServerCertificate, type CertificateAuthority } from '@sknock/ca';
import type { TestClient } from './knock-fixtures.js';
import { authorityFromTestCa, createTestCa, testCaFromAuthority, type TestCa } from './test-pki.js';

export const GRANTS: readonly PortGrant[] = [{ protocol: 'tcp', port: 2000 }];

export interface TwoCaPki {
  readonly one: CertificateAuthority;
  readonly two: CertificateAuthority;
  /** Under `one`. */
  readonly issuing: CertificateAuthority;
  /** The same CAs for test-pki (forged CRLs, odd certificates). */
  readonly oneAsTest: TestCa;
  readonly twoAsTest: TestCa;
  readonly issuingAsTest: TestCa;
  /** The server's credentials: key, certificate (issued by `one`), caCertificates [one]. */
  readonly server: { readonly privateKey: import('node:crypto').KeyObject; readonly certificate: Uint8Array; readonly caCertificates: Uint8Array[] };
  /** caFile text: CA Two and Issuing CA, PEM. */
  readonly caFilePem: string;
  /** Issued by `one`. */
  readonly alice: TestClient;
  /** Issued by `two`. */
  readonly bob: TestClient;
  /** Issued by `issuing` (chain: dave ← Issuing CA ← CA One). */
  readonly dave: TestClient;
}

function asClient(name: string, issued: { privateKey: import('node:crypto').KeyObject; certificate: Uint8Array; serial: string }): TestClient {
  return { name, privateKey: issued.privateKey, certificate: issued.certificate, serial: issued.serial };
}

export async function makeTwoCaPki(): Promise<TwoCaPki> {
  const one = await createCa({ name: 'Trust CA One' });
  const two = await createCa({ name: 'Trust CA Two' });
  const oneAsTest = await testCaFromAuthority(one);
  const twoAsTest = await testCaFromAuthority(two);
  const issuingAsTest = await createTestCa({ name: 'Trust Issuing CA', issuer: oneAsTest });
  const issuing = authorityFromTestCa(issuingAsTest);
  const server = await issueServerCertificate(one, { name: 'knock.test' });
  const [alice, bob, dave] = await Promise.all([
    issueClientCertificate(one, { name: 'alice', grants: GRANTS }),
    issueClientCertificate(two, { name: 'bob', grants: GRANTS }),
    issueClientCertificate(issuing, { name: 'dave', grants: GRANTS }),
  ]);
  return {
    one,
    two,
    issuing,
    oneAsTest,
    twoAsTest,
    issuingAsTest,
    server: { privateKey: server.privateKey, certificate: server.certificate, caCertificates: [one.certificate] },
    caFilePem: encodePem('CERTIFICATE', two.certificate) + encodePem('CERTIFICATE', issuing.certificate),
    alice: asClient('alice', alice),
    bob: asClient('bob', bob),
    dave: asClient('dave', dave),
  };
}

/** A CRL of `ca` (DER) revoking `serials`, numbered `crlNumber`, thisUpdate `crlNumber` seconds after `base`. */
export function crlOf(ca: CertificateAuthority, crlNumber: number, serials: readonly string[], options: { base?: number; nextUpdate?: Date } = {}): Promise<Uint8Array> {
  const base = options.base ?? Date.now() - 3_600_000;
  const thisUpdate = new Date(Math.floor(base / 1000) * 1000 + crlNumber * 1000);
  return createCrl(ca, {
    crlNumber,
    revoked: serials.map((serial) => ({ serial, date: new Date(thisUpdate.getTime() - 1000) })),
    thisUpdate,
    ...(options.nextUpdate !== undefined ? { nextUpdate: options.nextUpdate } : {}),
  });
}
