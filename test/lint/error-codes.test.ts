import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as protocol from '@sknock/protocol';
import * as client from '@sknock/client';
import * as server from '@sknock/server';
import { SknockError } from '@sknock/protocol/errors';

// Every error code the built packages can throw is in docs/ERRORS.md, once (one meaning),
// with every package that defines it (in a `…ErrorCode` union of its declarations), and
// starts with ERR_SKNOCK_. Reads dist/src of each package (the files that ship), skipping
// compiled files whose source is gone.
const root = fileURLToPath(new URL('../../../', import.meta.url));
const PREFIX = 'ERR_SKNOCK_';

/** Short package name of a built file: protocol, client, server, ca (the CA inside @sknock/server too). */
function packageOf(pkg: string, file: string): string {
  const short = pkg.replace(/^sknock-/, '');
  return short === 'server' && /(^|\/)ca\//.test(file) ? 'ca' : short;
}

function builtFiles(): { pkg: string; file: string; text: string }[] {
  const out: { pkg: string; file: string; text: string }[] = [];
  for (const pkg of readdirSync(join(root, 'packages'))) {
    const dist = join(root, 'packages', pkg, 'dist', 'src');
    if (!existsSync(dist)) continue;
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.(js|d\.ts)$/.test(name)) {
          const rel = relative(dist, p);
          const source = join(root, 'packages', pkg, 'src', rel.replace(/\.d\.ts$|\.js$/, '.ts'));
          if (existsSync(source)) out.push({ pkg, file: rel, text: readFileSync(p, 'utf8') });
        }
      }
    };
    walk(dist);
  }
  return out;
}

interface Row {
  readonly code: string;
  readonly packages: ReadonlySet<string>;
  readonly meaning: string;
}

function documentedRows(): Row[] {
  const text = readFileSync(join(root, 'docs', 'ERRORS.md'), 'utf8');
  const rows: Row[] = [];
  for (const line of text.split('\n')) {
    const m = /^\| `(ERR_[A-Z0-9_]+)` \| ([^|]+) \| ([^|]+) \| ([^|]+) \|$/.exec(line);
    if (m === null) continue;
    const packages = new Set((m[2] as string).split(',').map((p) => (p.trim().split(/\s+/)[0] as string)));
    rows.push({ code: m[1] as string, packages, meaning: (m[3] as string).trim() });
  }
  return rows;
}

const files = builtFiles();
const rows = documentedRows();

test('the built packages were found', () => {
  assert.ok(files.some((f) => f.pkg === 'sknock-protocol'), 'run tsc -b first');
  assert.ok(files.some((f) => f.pkg === 'sknock-server'), 'run tsc -b first');
  assert.ok(rows.length > 40, 'docs/ERRORS.md has its table');
});

test('every code in the built packages is documented in docs/ERRORS.md, and every documented code exists', () => {
  const found = new Map<string, Set<string>>();
  for (const { pkg, file, text } of files) {
    for (const m of text.matchAll(/\bERR_SKNOCK_[A-Z0-9][A-Z0-9_]*\b/g)) {
      const set = found.get(m[0]) ?? new Set<string>();
      set.add(`${packageOf(pkg, file)}: ${file}`);
      found.set(m[0], set);
    }
  }
  const documented = new Set(rows.map((r) => r.code));
  const missing = [...found.keys()].filter((c) => !documented.has(c)).map((c) => `${c} (${[...(found.get(c) ?? [])].join(', ')})`);
  assert.deepEqual(missing, [], 'codes thrown but not in docs/ERRORS.md');
  const stale = [...documented].filter((c) => !found.has(c));
  assert.deepEqual(stale, [], 'codes in docs/ERRORS.md that no package has');
});

test('each code is one row (one meaning), prefixed ERR_SKNOCK_', () => {
  const seen = new Map<string, string>();
  for (const row of rows) {
    assert.ok(row.code.startsWith(PREFIX), `${row.code} is not prefixed ${PREFIX}`);
    assert.equal(seen.get(row.code), undefined, `${row.code} is documented twice, with two meanings: "${seen.get(row.code)}" and "${row.meaning}"`);
    seen.set(row.code, row.meaning);
  }
});

test('a code defined by several packages is one row naming them all (no code means two things)', () => {
  const byCode = new Map(rows.map((r) => [r.code, r]));
  const problems: string[] = [];
  for (const { pkg, file, text } of files) {
    if (!file.endsWith('.d.ts')) continue;
    // `export type SknockXErrorCode = | 'ERR_…' | …;` (and single-code aliases).
    for (const union of text.matchAll(/type \w*ErrorCode\s*=([^;]*);/g)) {
      for (const m of (union[1] as string).matchAll(/'([A-Z0-9_]+)'/g)) {
        const code = m[1] as string;
        if (!code.startsWith(PREFIX)) problems.push(`${code} in ${pkg}/${file} is not prefixed ${PREFIX}`);
        const row = byCode.get(code);
        const owner = packageOf(pkg, file);
        if (row !== undefined && !row.packages.has(owner)) problems.push(`${code} is defined in ${owner} (${file}) but its row names only ${[...row.packages].join(', ')}`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

test('every error class the packages export is a SknockError', () => {
  const classes = Object.entries({ ...protocol, ...client, ...server }).filter(
    ([name, value]) => /^[A-Z]\w*Error$/.test(name) && typeof value === 'function',
  ) as [string, new (...args: never[]) => unknown][];
  assert.ok(classes.length >= 6, classes.map(([n]) => n).join(', '));
  for (const [name, value] of classes) {
    assert.ok(value === SknockError || value.prototype instanceof SknockError, `${name} does not extend SknockError`);
  }
});
