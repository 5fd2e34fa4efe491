#!/usr/bin/env node
// `npm run demo` and `npm test` on a fresh clone, with nothing but Node and npm:
//   1. installs the dependencies if they are missing or stale (`pnpm install --frozen-lockfile`,
//      with pnpm from PATH or else `npx --yes pnpm@<packageManager version>`);
//   2. builds (`tsc -b`, incremental: quick when nothing changed), and after a fresh install
//      links the workspace packages' bins, which exist only once built;
//   3. runs the demo (examples/demo.mjs) or the test suite (scripts/run-tests.mjs [filter …]).
// `pnpm demo` / `pnpm test` run the same script.
//
// Usage: node scripts/bootstrap.mjs demo|test|build [arguments for run-tests.mjs …]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const [command, ...rest] = process.argv.slice(2);
const say = (text) => process.stderr.write(`bootstrap: ${text}\n`);

function fail(text) {
  say(text);
  process.exit(1);
}

if (!['demo', 'test', 'build'].includes(command ?? '')) fail('usage: node scripts/bootstrap.mjs demo|test|build [run-tests filters …]');

// --- Node version (package.json engines) ------------------------------------------------------
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) fail(`Node ${manifest.engines?.node ?? '>=20.19'} is needed; this is ${process.version}`);

// --- Dependencies -------------------------------------------------------------------------------

/** The workspace's project folders (pnpm-workspace.yaml: `- dir` or `- dir/*`). */
function workspaceProjects() {
  const yaml = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8');
  const dirs = [];
  for (const m of yaml.matchAll(/^\s*-\s*['"]?([^'"\s#]+)['"]?/gm)) {
    const pattern = m[1];
    if (pattern.endsWith('/*')) {
      const parent = join(root, pattern.slice(0, -2));
      for (const name of existsSync(parent) ? readdirSync(parent) : []) {
        if (existsSync(join(parent, name, 'package.json'))) dirs.push(join(parent, name));
      }
    } else if (existsSync(join(root, pattern, 'package.json'))) dirs.push(join(root, pattern));
  }
  return dirs;
}

/** Why an install is needed, or '' when node_modules matches pnpm-lock.yaml. */
function installNeeded() {
  if (!existsSync(join(root, 'node_modules', '.modules.yaml'))) return 'dependencies are not installed';
  const installed = join(root, 'node_modules', '.pnpm', 'lock.yaml'); // pnpm's copy of the lockfile it installed
  if (!existsSync(installed) || readFileSync(installed, 'utf8') !== readFileSync(join(root, 'pnpm-lock.yaml'), 'utf8')) {
    return 'pnpm-lock.yaml changed since the last install';
  }
  const missing = workspaceProjects().filter((dir) => !existsSync(join(dir, 'node_modules')));
  if (missing.length > 0) return `${missing.map((d) => d.slice(root.length)).join(', ')} not installed`;
  return '';
}

/** The environment for pnpm/tsc: without the npm_* variables `npm run` sets (pnpm would read them as its settings). */
function cleanEnv() {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key)) env[key] = value;
  }
  env.COREPACK_INTEGRITY_KEYS ??= '0'; // corepack's pnpm shim fails without it on some hosts
  return env;
}

/** How to run pnpm: the one on PATH if it works on this Node, else a pinned one through npx. */
function pnpmCommand() {
  const pinned = /^pnpm@(\d[\w.-]*)/.exec(manifest.packageManager ?? '')?.[1] ?? '10';
  const onPath = spawnSync('pnpm', ['--version'], { encoding: 'utf8', env: cleanEnv(), timeout: 60_000 });
  const version = onPath.status === 0 ? onPath.stdout.trim() : '';
  if (/^(9|10)\./.test(version)) return { file: 'pnpm', args: [], label: `pnpm ${version}` };
  if (version) say(`pnpm ${version} on PATH is not a 9.x or 10.x release; using pnpm ${pinned} through npx instead`);
  return { file: 'npx', args: ['--yes', `pnpm@${pinned}`], label: `pnpm ${pinned} (npx)` };
}

function runSync(file, args, what) {
  const r = spawnSync(file, args, { cwd: root, stdio: 'inherit', env: cleanEnv() });
  if (r.error) fail(`${what}: ${r.error.message}`);
  if (r.status !== 0) fail(`${what} failed (exit ${r.status ?? r.signal})`);
}

/**
 * Runs a command, showing its output as it comes except lines `hide` matches (or none of it
 * with `quiet`, unless it fails).
 */
function runFiltered(file, args, what, { hide = () => false, quiet = false } = {}) {
  return new Promise((resolve) => {
    const child = spawn(file, args, { cwd: root, stdio: ['inherit', 'pipe', 'pipe'], env: cleanEnv() });
    const held = [];
    for (const [stream, out] of [
      [child.stdout, process.stdout],
      [child.stderr, process.stderr],
    ]) {
      createInterface({ input: stream }).on('line', (line) => {
        if (hide(line)) return;
        if (quiet) held.push(line);
        else out.write(`${line}\n`);
      });
    }
    child.on('error', (err) => fail(`${what}: ${err.message}`));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      for (const line of held) process.stderr.write(`${line}\n`);
      fail(`${what} failed (exit ${code ?? signal})`);
    });
  });
}

// On a fresh clone the workspace packages are not built yet, so pnpm cannot link their bins
// (sknock, sknock-server, sknock-ca) and warns; a second, offline install after the build does.
const missingBin = (line) => /Failed to create bin at .*ENOENT/.test(line);
const why = installNeeded();
const pnpm = why ? pnpmCommand() : undefined;
if (pnpm) {
  say(`${why}: pnpm install --frozen-lockfile with ${pnpm.label}`);
  await runFiltered(pnpm.file, [...pnpm.args, 'install', '--frozen-lockfile'], 'pnpm install', { hide: missingBin });
}

// --- Build ----------------------------------------------------------------------------------------
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
if (!existsSync(tsc)) fail('node_modules/typescript is missing after the install');
runSync(process.execPath, [tsc, '-b'], 'tsc -b');
if (pnpm) await runFiltered(pnpm.file, [...pnpm.args, 'install', '--frozen-lockfile', '--offline'], 'linking the workspace bins (pnpm install --offline)', { quiet: true });
if (command === 'build') process.exit(0);

// --- Run --------------------------------------------------------------------------------------------
const target = command === 'demo' ? [join(root, 'examples', 'demo.mjs')] : [join(root, 'scripts', 'run-tests.mjs'), ...rest];
const child = spawn(process.execPath, target, { cwd: root, stdio: 'inherit' });
// Ctrl-C reaches the child too (same process group); wait for it to clean up and pass on
// its exit status. A SIGTERM sent to this process alone is forwarded.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => child.kill('SIGTERM'));
process.on('SIGHUP', () => child.kill('SIGHUP'));
child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' ? 130 : 1)));
