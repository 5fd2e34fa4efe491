#!/usr/bin/env node
// Runs every compiled benchmark (`test/dist/bench/*.bench.js` and
// `packages/*/dist/test/bench/*.bench.js`) in its own process, one
// after the other, so that each has a core to itself. Each prints its own figures; this
// script prints them again as one table at the end. Usage: pnpm bench [substring ...]
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';

const root = fileURLToPath(new URL('..', import.meta.url));
const dirs = [
  join(root, 'test/dist/bench'),
  ...readdirSync(join(root, 'packages')).map((p) => join(root, 'packages', p, 'dist/test/bench')),
];
const filters = process.argv.slice(2);
const files = dirs
  .flatMap((dir) => {
    try {
      return readdirSync(dir).map((f) => join(dir, f));
    } catch {
      return [];
    }
  })
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();

console.log(`bench: Node ${process.version}, ${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}`);
const rows = [];
let failed = 0;
for (const f of files) {
  console.log(`\n== ${f.slice(root.length)}`);
  const r = spawnSync(process.execPath, [f], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  process.stdout.write(r.stdout);
  for (const line of r.stdout.split('\n')) if (line.startsWith('FIGURE ')) rows.push(line.slice(7));
  if (r.status !== 0) {
    failed++;
    console.log(`bench: ${f} exited with ${r.status}`);
  }
}
console.log('\n== figures');
for (const row of rows) console.log(row);
process.exit(failed === 0 ? 0 : 1);
