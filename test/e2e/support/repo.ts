/**
 * Where things are: the repository root (found by its pnpm-workspace.yaml, so the compiled
 * tests work from any folder), the two command-line programs under test, and the optional
 * sKnock 1.0 reference data beside the repository.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no pnpm-workspace.yaml above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** The repository root (the folder holding pnpm-workspace.yaml). */
export const REPO_ROOT = findRoot();

/** The `sknock-server` bin of @sknock/server, compiled. */
export const SERVER_BIN = join(REPO_ROOT, 'packages/sknock-server/dist/src/cli/server-main.js');

/** The `sknock` bin of @sknock/client, compiled. */
export const CLIENT_BIN = join(REPO_ROOT, 'packages/sknock-client/dist/src/cli/main.js');

/** `../shared/interop/sknock-1.0` relative to the repository root: reference data, never copied in. */
export const INTEROP_DIR = join(REPO_ROOT, '..', 'shared', 'interop', 'sknock-1.0');
