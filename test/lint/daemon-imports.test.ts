import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// The daemon's import graph, walked from the built entry points of @sknock/server (the
// library root and the `sknock-server` command) through every static and dynamic import,
// into @sknock/protocol and on into node_modules: it reaches no `@peculiar/*` package and
// no `reflect-metadata` (those serve the CA, which belongs on an offline machine).
const root = fileURLToPath(new URL('../../../', import.meta.url));
const serverDir = join(root, 'packages', 'sknock-server');
const FORBIDDEN = /^(@peculiar\/|reflect-metadata$|pkijs$)/;

/** Bare specifiers and relative paths imported by one ES module (static, re-exports, dynamic with a literal). */
function importsOf(source: string): string[] {
  const out: string[] = [];
  const patterns = [/\bimport\s*(?:[^'"();]*?\sfrom\s*)?['"]([^'"]+)['"]/g, /\bexport\s*[^'";]*?\sfrom\s*['"]([^'"]+)['"]/g, /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const re of patterns) for (const m of source.matchAll(re)) out.push(m[1] as string);
  return out;
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] as string);
}

interface Walk {
  readonly files: Set<string>;
  readonly packages: Map<string, string>;
}

function walk(entries: readonly string[]): Walk {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (files.has(file)) continue;
    files.add(file);
    if (!/\.(c|m)?js$/.test(file)) continue;
    const require = createRequire(file);
    for (const specifier of importsOf(readFileSync(file, 'utf8'))) {
      if (specifier.startsWith('node:')) continue;
      if (specifier.startsWith('.')) {
        queue.push(resolve(dirname(file), specifier));
        continue;
      }
      const name = packageName(specifier);
      if (!packages.has(name)) packages.set(name, file);
      let resolved: string;
      try {
        resolved = fileURLToPath(import.meta.resolve(specifier, `file://${file}`));
      } catch {
        try {
          resolved = require.resolve(specifier);
        } catch {
          continue; // a Node built-in without the node: prefix, or an optional peer not installed
        }
      }
      if (existsSync(resolved)) queue.push(resolved);
    }
  }
  return { files, packages };
}

const entries = [join(serverDir, 'dist', 'src', 'index.js'), join(serverDir, 'dist', 'src', 'cli', 'server-main.js')];

test('the daemon (library root and sknock-server) imports no @peculiar/* and no reflect-metadata', () => {
  for (const entry of entries) assert.ok(existsSync(entry), `${entry} is built (tsc -b)`);
  const { files, packages } = walk(entries);
  assert.ok(files.size > 50, `walked ${files.size} files`);
  assert.ok(packages.has('@sknock/protocol'), 'the walk reaches the protocol layer');
  assert.ok(packages.has('pino'), 'the walk reaches node_modules');
  const forbidden = [...packages].filter(([name]) => FORBIDDEN.test(name)).map(([name, from]) => `${name} (imported by ${from})`);
  assert.deepEqual(forbidden, []);
  assert.ok(![...files].some((f) => /[\\/]src[\\/]ca[\\/]/.test(f) && f.includes('sknock-server')), 'no module of the CA is on the daemon path');
});

test('the walk would see @peculiar/x509 where it is imported (the CA library)', () => {
  const ca = join(serverDir, 'dist', 'src', 'ca', 'index.js');
  if (!existsSync(ca)) return; // the CA has moved out of @sknock/server
  const { packages } = walk([ca]);
  assert.ok(packages.has('@peculiar/x509'), [...packages.keys()].join(', '));
});
