/**
 * Helpers for the sknock-ca tests: the real `openssl` command as the independent checker,
 * temporary folders, PEM files.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePem } from '@sknock/protocol';

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `openssl args…` and returns what it said. */
export function openssl(args: readonly string[], cwd?: string): RunResult {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8', timeout: 20_000 });
  if (r.error !== undefined) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A fresh folder under the system temp folder; `remove()` deletes it. */
export function tempFolder(prefix: string): { readonly path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Writes a DER certificate as PEM to `dir/name` and returns the path. */
export function writeCertificatePem(dir: string, name: string, der: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, encodePem('CERTIFICATE', der));
  return path;
}
