import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// The project's own rules (scripts/lint.mjs): named exports only, no `export *`, no default
// exports, an exports map per package, no logging from the client SDK, no interop files
// committed. Run as part of the suite so that CI enforces them.
const root = fileURLToPath(new URL('../../../', import.meta.url));

test('scripts/lint.mjs finds no problem', () => {
  const r = spawnSync(process.execPath, ['scripts/lint.mjs'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /lint: ok/);
});
