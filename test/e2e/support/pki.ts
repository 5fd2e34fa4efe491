/**
 * Test credentials for the end-to-end tests, made with the project's own CA library
 * (`@sknock/ca`) and written to a temporary folder as the programs under test read
 * them: the server's PKCS#12 and certificate, client PKCS#12 files, CRLs, a passphrase file.
 */
import type { KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePem, type PortGrant } from '@sknock/protocol';
import { createCa, createCrl, issueClientCertificate, issueServerCertificate, type CertificateAuthority } from '@sknock/ca';

export const PASSPHRASE = 'e2e passphrase';

/** The ports the test services listen on. */
export const TCP_SERVICE = 2000;
export const UDP_SERVICE = 2001;
/** A TCP service no certificate grants. */
export const TCP_NOT_GRANTED = 2002;
/** The emergency access port (always reachable). */
export const TCP_EMERGENCY = 22;

export const ALICE_GRANTS: readonly PortGrant[] = [
  { protocol: 'tcp', port: TCP_SERVICE },
  { protocol: 'udp', port: UDP_SERVICE },
];

export interface E2eClient {
  readonly name: string;
  readonly privateKey: KeyObject;
  readonly certificate: Uint8Array;
  readonly serial: string;
  /** Its PKCS#12 file (password in `passphraseFile`). */
  readonly pfxFile: string;
}

export interface E2ePki {
  /** The temporary folder holding every file (remove with `dispose()`). */
  readonly dir: string;
  readonly ca: CertificateAuthority;
  /** The server's PKCS#12 (key, certificate, CA certificate), password `PASSPHRASE`. */
  readonly serverPfxFile: string;
  /** The server certificate, DER (what clients encrypt to). */
  readonly serverCertFile: string;
  readonly serverCertificate: Uint8Array;
  /** Holds `PASSPHRASE`, for `sknock --passphrase-file`. */
  readonly passphraseFile: string;
  /** Grants tcp/2000 and udp/2001. */
  readonly alice: E2eClient;
  /** Grants tcp/2000; revoked by `crlFile`. */
  readonly carol: E2eClient;
  /** Grants tcp/2000; revoked by `urlCrl` (the CRL served over HTTP). */
  readonly dave: E2eClient;
  /** Grants tcp/2000; on no CRL at first (the SIGHUP test revokes it). */
  readonly erin: E2eClient;
  /** CRL (DER) revoking carol, written to `crlFile`. */
  readonly crlFile: string;
  /** CRL (DER) revoking dave, to serve at a crlUrl. */
  readonly urlCrl: Uint8Array;
  dispose(): Promise<void>;
}

/** Makes a CA, a server and the clients above; writes the files to a new temporary folder. */
export async function makePki(): Promise<E2ePki> {
  const dir = await mkdtemp(join(tmpdir(), 'sknock-e2e-'));
  try {
    const ca = await createCa({ name: 'sKnock E2E CA' });
    const server = await issueServerCertificate(ca, { name: 'server.e2e.test', pkcs12: { passphrase: PASSPHRASE } });
    const client = async (name: string, grants: readonly PortGrant[]): Promise<E2eClient> => {
      const issued = await issueClientCertificate(ca, { name, grants, pkcs12: { passphrase: PASSPHRASE } });
      const pfxFile = join(dir, `${name}.pfx`);
      await writeFile(pfxFile, issued.pfx as Uint8Array);
      return { name, privateKey: issued.privateKey, certificate: issued.certificate, serial: issued.serial, pfxFile };
    };
    const alice = await client('alice', ALICE_GRANTS);
    const carol = await client('carol', [{ protocol: 'tcp', port: TCP_SERVICE }]);
    const dave = await client('dave', [{ protocol: 'tcp', port: TCP_SERVICE }]);
    const erin = await client('erin', [{ protocol: 'tcp', port: TCP_SERVICE }]);
    const revokedAt = new Date(Date.now() - 60_000);
    const fileCrl = await createCrl(ca, { revoked: [{ serial: carol.serial, date: revokedAt }], crlNumber: 1 });
    const urlCrl = await createCrl(ca, { revoked: [{ serial: dave.serial, date: revokedAt }], crlNumber: 1 });
    const serverPfxFile = join(dir, 'server.pfx');
    const serverCertFile = join(dir, 'server.cer');
    const passphraseFile = join(dir, 'passphrase.txt');
    const crlFile = join(dir, 'revoked-carol.crl');
    await Promise.all([
      writeFile(serverPfxFile, server.pfx as Uint8Array),
      writeFile(serverCertFile, server.certificate),
      writeFile(passphraseFile, `${PASSPHRASE}\n`, { mode: 0o600 }), // a password file others cannot read (sknock warns otherwise)
      writeFile(crlFile, fileCrl),
    ]);
    return {
      dir,
      ca,
      serverPfxFile,
      serverCertFile,
      serverCertificate: server.certificate,
      passphraseFile,
      alice,
      carol,
      dave,
      erin,
      crlFile,
      urlCrl,
      dispose: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** A second trusted CA (for `caFile`) and a client of it, next to `makePki`'s. */
export interface E2eSecondCa {
  readonly ca: CertificateAuthority;
  /** The CA certificate, PEM: what `caFile` names. */
  readonly caFile: string;
  /** Grants tcp/2000, issued by the second CA. */
  readonly frank: E2eClient;
}

/** Makes a second CA and its client `frank`; writes `second-ca.pem` and `frank.pfx` into `pki.dir`. */
export async function makeSecondCa(pki: E2ePki): Promise<E2eSecondCa> {
  const ca = await createCa({ name: 'sKnock E2E Second CA' });
  const issued = await issueClientCertificate(ca, { name: 'frank', grants: [{ protocol: 'tcp', port: TCP_SERVICE }], pkcs12: { passphrase: PASSPHRASE } });
  const pfxFile = join(pki.dir, 'frank.pfx');
  const caFile = join(pki.dir, 'second-ca.pem');
  await Promise.all([writeFile(pfxFile, issued.pfx as Uint8Array), writeFile(caFile, encodePem('CERTIFICATE', ca.certificate))]);
  return { ca, caFile, frank: { name: 'frank', privateKey: issued.privateKey, certificate: issued.certificate, serial: issued.serial, pfxFile } };
}
