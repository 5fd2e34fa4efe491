#!/usr/bin/env node
// Runs every compiled test file (`dist/test/**/*.test.js` of each package and of test/)
// through `node --test`, which prints the closing summary CI reads.
// Node 20's `--test` does not expand globs itself, so this script lists the files.
// Usage: node scripts/run-tests.mjs [substring-filter ...]
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const roots = [
  'packages/sknock-protocol/dist/test',
  'packages/sknock-client/dist/test',
  'packages/sknock-server/dist/test',
  'test/dist',
];

function walk(dir, out) {
  let names;
  try { names = readdirSync(dir); } catch { return out; }
  for (const name of names.sort()) {
    const p = join(dir, name);
    if (name === 'node_modules') continue;
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = roots
  .flatMap((r) => walk(join(root, r), []))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));

if (files.length === 0) {
  console.error('run-tests: no compiled test files found; run `pnpm build` first');
  process.exit(1);
}
const tapFile = join(tmpdir(), `sknock-tests-${process.pid}.tap`);
const result = spawnSync(
  process.execPath,
  [
    '--test',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tapFile}`,
    ...files,
  ],
  { cwd: root, stdio: 'inherit', env: process.env },
);
// Repeat the totals as one plain line, for readers that do not parse node's reporters.
try {
  const tap = readFileSync(tapFile, 'utf8');
  const count = (key) => Number((tap.match(new RegExp(`^# ${key} (\\d+)$`, 'm')) ?? [])[1] ?? 0);
  const passed = count('pass');
  const failed = count('fail') + count('cancelled');
  const skipped = count('skipped');
  console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  rmSync(tapFile, { force: true });
} catch {
  // the spec reporter's own summary above still stands
}
process.exit(result.status ?? 1);
