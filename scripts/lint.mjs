#!/usr/bin/env node
// Project rules that the compiler does not check (DEVELOPERS.md "Style"):
// - public API only through explicit named exports: no `export *`, no default exports;
// - every package has an `exports` map and an explicit src/index.ts;
// - no console output from the client SDK (it publishes diagnostics_channel events instead);
// - nothing from ../shared/interop is committed.
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const problems = [];

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

for (const pkg of readdirSync(join(root, 'packages'))) {
  const dir = join(root, 'packages', pkg);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  if (!manifest.exports || !manifest.exports['.']) problems.push(`${pkg}: package.json has no exports map for "."`);
  if (!existsSync(join(dir, 'src', 'index.ts'))) problems.push(`${pkg}: no src/index.ts`);
  for (const file of walk(join(dir, 'src'))) {
    const text = readFileSync(file, 'utf8');
    const rel = relative(root, file);
    if (/^\s*export\s+\*/m.test(text)) problems.push(`${rel}: \`export *\` (name each export)`);
    if (/^\s*export\s+default\b/m.test(text)) problems.push(`${rel}: default export (use named exports)`);
    if (pkg === 'sknock-client' && !rel.includes('/cli/') && /\bconsole\.(log|info|warn|error|debug)\(/.test(text)) {
      problems.push(`${rel}: the client SDK never logs (publish a diagnostics_channel event)`);
    }
  }
}

const tracked = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).split('\n');
for (const f of tracked) {
  if (/(^|\/)dev(client|server)\.(pfx|cer)$/.test(f)) problems.push(`${f}: files from ../shared/interop must not be committed`);
}

if (problems.length > 0) {
  for (const p of problems) console.error(`lint: ${p}`);
  console.error(`lint: ${problems.length} problem(s)`);
  process.exit(1);
}
console.log('lint: ok');
