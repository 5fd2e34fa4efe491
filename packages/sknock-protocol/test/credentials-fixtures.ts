/**
 * Test credentials for the credential tests, made at test time by the `openssl` command
 * (never copied from anywhere): a P-256 CA and a client certificate it signed, an RSA and
 * a P-384 key with self-signed certificates, and PKCS#12 files of every kind.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PASSWORD = 'test pass';

export interface Fixtures {
  readonly dir: string;
  /** Runs `openssl` in the fixture directory; returns its standard output. */
  openssl(args: readonly string[], input?: Uint8Array | string): Buffer;
  path(name: string): string;
  read(name: string): Buffer;
  text(name: string): string;
  write(name: string, bytes: Uint8Array | string): string;
  cleanup(): void;
}

/** Makes the credentials in a new temporary directory; `unusable: false` skips the RSA and P-384 ones. */
export function makeFixtures({ unusable = true }: { unusable?: boolean } = {}): Fixtures {
  const dir = mkdtempSync(join(tmpdir(), 'sknock-credentials-'));
  const f: Fixtures = {
    dir,
    openssl: (args, input) => execFileSync('openssl', args, { cwd: dir, input, stdio: ['pipe', 'pipe', 'pipe'] }),
    path: (name) => join(dir, name),
    read: (name) => readFileSync(join(dir, name)),
    text: (name) => readFileSync(join(dir, name), 'utf8'),
    write: (name, bytes) => {
      writeFileSync(join(dir, name), bytes);
      return join(dir, name);
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
  // P-256 CA: SEC 1 key with its EC PARAMETERS block, as `openssl ecparam -genkey` writes it.
  f.openssl(['ecparam', '-genkey', '-name', 'prime256v1', '-out', 'ca.key']);
  f.openssl(['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=Credentials Test CA', '-days', '2', '-out', 'ca.pem']);
  // P-256 client: PKCS#8 key, certificate signed by the CA.
  f.openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'client.key']);
  f.openssl(['req', '-x509', '-new', '-key', 'client.key', '-subj', '/CN=Credentials Test Client', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-days', '2', '-out', 'client.pem']);
  if (!unusable) return f;
  // Keys sKnock cannot use.
  f.openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', 'rsa.key']);
  f.openssl(['req', '-x509', '-new', '-key', 'rsa.key', '-subj', '/CN=RSA', '-days', '2', '-out', 'rsa.pem']);
  f.openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384', '-out', 'p384.key']);
  f.openssl(['req', '-x509', '-new', '-key', 'p384.key', '-subj', '/CN=P-384', '-days', '2', '-out', 'p384.pem']);
  return f;
}

/** `openssl pkcs12 -export` into `name` with `PASSWORD` and the extra arguments. */
export function exportPkcs12(f: Fixtures, name: string, args: readonly string[]): Buffer {
  f.openssl(['pkcs12', '-export', '-passout', `pass:${PASSWORD}`, '-out', name, ...args]);
  return f.read(name);
}

/** The monorepo root (the directory holding pnpm-workspace.yaml). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'pnpm-workspace.yaml'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('repository root not found');
    dir = up;
  }
  return dir;
}

/** A file of test/data/pkcs12 (test data is not compiled, so it is read from the source tree). */
export function dataFile(name: string): string {
  return join(repoRoot(), 'packages', 'sknock-protocol', 'test', 'data', 'pkcs12', name);
}

/** The subject CN of a DER certificate, by `openssl x509`. */
export function opensslSubject(f: Fixtures, der: Uint8Array): string {
  return f.openssl(['x509', '-inform', 'DER', '-noout', '-subject', '-nameopt', 'utf8,sep_comma_plus'], der).toString('utf8').trim();
}

/** What `openssl pkcs12 -info -nokeys` prints (stdout and stderr: the algorithm lines go to stderr). */
export function opensslInfo(f: Fixtures, name: string, password: string, legacy: boolean): string {
  const args = ['pkcs12', ...(legacy ? ['-legacy'] : []), '-info', '-nokeys', '-in', name, '-passin', `pass:${password}`];
  const r = spawnSync('openssl', args, { cwd: f.dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
  return `${r.stdout}\n${r.stderr}`;
}
