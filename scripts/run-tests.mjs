#!/usr/bin/env node
// Runs the compiled test files (`dist/test/**/*.test.js` of each package and of test/) on one
// or more runtimes, one after the other:
//   node, node22, node24   every file, through `node --test` (Node 20's `--test` does not
//                          expand globs itself, so this script lists the files);
//   bun, deno              the client SDK's files (packages/sknock-client), one process per
//                          file: `bun test` and `deno test`, which run node:test files
//                          (Deno's counts come from its JUnit report, Bun's from its summary).
// The other runtimes come from scripts/runtimes.mjs (installed from the npm registry on
// first use). Each run's own closing summary is replaced by one line per runtime, and the
// output ends with the totals over all runs, in node's summary form and as one plain line;
// the exit status is non-zero when any run failed.
//
// Usage: node scripts/run-tests.mjs [--runtimes=node,node22,node24,bun,deno | --runtimes=all] [substring-filter ...]
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { RUNTIME_NAMES, cacheDir, ensureRuntime } from './runtimes.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const roots = [
  'packages/sknock-protocol/dist/test',
  'packages/sknock-client/dist/test',
  'packages/sknock-ca/dist/test',
  'packages/sknock-server/dist/test',
  'test/dist',
];
const CLIENT_ROOT = 'packages/sknock-client/dist/test';

function walk(dir, out) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names.sort()) {
    const p = join(dir, name);
    if (name === 'node_modules') continue;
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

// --- Arguments --------------------------------------------------------------------------------
const args = process.argv.slice(2);
let runtimeNames = ['node'];
const filters = [];
for (const arg of args) {
  const m = /^--runtimes=(.*)$/.exec(arg);
  if (!m) {
    filters.push(arg);
    continue;
  }
  runtimeNames = m[1] === 'all' ? RUNTIME_NAMES : m[1].split(',').filter(Boolean);
  const unknown = runtimeNames.filter((n) => !RUNTIME_NAMES.includes(n));
  if (unknown.length > 0 || runtimeNames.length === 0) {
    console.error(`run-tests: --runtimes takes a comma-separated list of ${RUNTIME_NAMES.join(', ')} (or all), not ${JSON.stringify(m[1])}`);
    process.exit(2);
  }
}

const files = roots
  .flatMap((r) => walk(join(root, r), []))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));

if (files.length === 0) {
  console.error('run-tests: no compiled test files found; run `pnpm build` first');
  process.exit(1);
}

// --- One run ------------------------------------------------------------------------------------

const KEYS = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo', 'duration_ms'];
const emptyCounts = () => Object.fromEntries(KEYS.map((k) => [k, 0]));

/** Node's closing summary lines (spec reporter, colours or not), replaced by the per-runtime line and the totals. */
const NODE_SUMMARY = new RegExp(`^ℹ (${KEYS.join('|')}) [\\d.]+$`);
const isNodeSummary = (line) => NODE_SUMMARY.test(line.replace(/\x1b\[[\d;]*m/g, ''));

let current; // the running child, to pass a SIGTERM on to
let stopped; // the signal that stopped the runs
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    stopped ??= signal;
    if (signal !== 'SIGINT') current?.kill(signal); // Ctrl-C reaches the child through the process group
  });
}

/**
 * Runs a program with its output shown as it comes, except lines `hide` matches; resolves
 * with its exit status and the whole output.
 */
function runShown(file, argv, { env, cwd = root, hide = () => false }) {
  return new Promise((resolve) => {
    const child = spawn(file, argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    current = child;
    let text = '';
    const pending = [];
    for (const [stream, out] of [
      [child.stdout, process.stdout],
      [child.stderr, process.stderr],
    ]) {
      const lines = createInterface({ input: stream });
      lines.on('line', (line) => {
        text += `${line}\n`;
        if (!hide(line)) out.write(`${line}\n`);
      });
      pending.push(new Promise((r) => lines.on('close', r)));
    }
    let status = null;
    child.on('error', (err) => {
      text += `${err.message}\n`;
      process.stderr.write(`run-tests: ${file}: ${err.message}\n`);
    });
    child.on('close', async (code, signal) => {
      current = undefined;
      await Promise.all(pending);
      status = code ?? (signal ? 128 : 1);
      resolve({ status, text });
    });
  });
}

/** PATH with the runtime's own folder first, so that `node` (and `#!/usr/bin/env node`) in child processes is this one. */
function envFor(rt) {
  const env = { ...process.env };
  if (process.stdout.isTTY && env.NO_COLOR === undefined) env.FORCE_COLOR ??= '1'; // the output is piped through this script
  if (rt.kind === 'node') env.PATH = [dirname(rt.bin), env.PATH ?? ''].join(delimiter);
  if (rt.kind === 'deno') {
    env.NO_COLOR = '1';
    env.DENO_NO_UPDATE_CHECK = '1';
    env.DENO_DIR = join(cacheDir, 'deno-dir');
  }
  return env;
}

async function runNode(rt, list) {
  const tapFile = join(tmpdir(), `sknock-tests-${process.pid}-${rt.name}.tap`);
  const { status } = await runShown(
    rt.bin,
    ['--test', '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tapFile}`, ...list],
    { env: envFor(rt), hide: isNodeSummary },
  );
  const counts = emptyCounts();
  try {
    const tap = readFileSync(tapFile, 'utf8');
    for (const key of KEYS) counts[key] = Number((tap.match(new RegExp(`^# ${key} ([\\d.]+)$`, 'm')) ?? [])[1] ?? 0);
  } catch {
    // no TAP file: the run failed before reporting; counted below
  } finally {
    rmSync(tapFile, { force: true });
  }
  return { status, counts };
}

/**
 * Leaf test results of Deno's JUnit report. Deno reports node:test suites as tests and their
 * tests as steps named `suite > test`; a name that another one extends is a suite.
 */
function countJunit(xml, counts) {
  const cases = [];
  for (const m of xml.matchAll(/<testcase\b([^>]*?)(?:\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const name = /\bname="([^"]*)"/.exec(m[1])?.[1] ?? '';
    cases.push({ name: decodeXml(name), body: m[2] ?? '' });
  }
  const names = cases.map((c) => c.name);
  for (const c of cases) {
    if (names.some((n) => n.startsWith(`${c.name} > `))) {
      counts.suites++;
      continue;
    }
    counts.tests++;
    if (/<skipped\b/.test(c.body)) counts.skipped++;
    else if (/<(failure|error)\b/.test(c.body)) counts.fail++;
    else counts.pass++;
  }
}

function decodeXml(text) {
  const named = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
  return text.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[\da-f]+);/gi, (_, e) =>
    e[0] === '#' ? String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1))) : named[e],
  );
}

/** Bun's closing lines: ` 29 pass`, ` 1 skip`, ` 0 fail`, ` 2 errors`, ` 1 todo`. */
function countBun(output, counts) {
  const text = output.replace(/\x1b\[[\d;]*m/g, '');
  const n = (word) => Number((text.match(new RegExp(`^\\s*(\\d+) ${word}$`, 'm')) ?? [])[1] ?? 0);
  const [pass, skip, fail, todo, errors] = [n('pass'), n('skip'), n('fail'), n('todo'), n('errors?')];
  Object.assign(counts, {
    tests: counts.tests + pass + skip + fail + todo,
    pass: counts.pass + pass,
    skipped: counts.skipped + skip,
    fail: counts.fail + fail + errors,
    todo: counts.todo + todo,
  });
}

async function runPerFile(rt, list) {
  const counts = emptyCounts();
  const manifest = join(root, 'package.json');
  const before = readFileSync(manifest, 'utf8');
  let status = 0;
  const started = performance.now();
  for (const file of list) {
    if (stopped) break;
    const abs = join(root, file);
    const junit = join(tmpdir(), `sknock-tests-${process.pid}-${rt.name}.xml`);
    const argv =
      rt.kind === 'bun'
        ? ['test', '--timeout=120000', abs]
        : ['test', '-A', '--no-check', '--node-modules-dir=manual', `--junit-path=${junit}`, abs];
    process.stdout.write(`# ${rt.label}: ${file}\n`);
    const r = await runShown(rt.bin, argv, { env: envFor(rt), cwd: join(root, 'packages', 'sknock-client') });
    const seen = emptyCounts();
    if (rt.kind === 'bun') countBun(r.text, seen);
    else {
      try {
        countJunit(readFileSync(junit, 'utf8'), seen);
      } catch {
        // no report: counted as a failure below
      }
      rmSync(junit, { force: true });
    }
    if (r.status !== 0 && seen.fail === 0) {
      seen.fail = 1; // it failed outside any test (a load error, a crash): one failure, not none
      seen.tests++;
      process.stdout.write(`# ${rt.label}: ${file} exited with ${r.status} outside any test: counted as one failure\n`);
    }
    for (const key of KEYS) counts[key] += seen[key];
    if (r.status !== 0) status = r.status;
  }
  counts.duration_ms = performance.now() - started;
  // Deno may "migrate" a pnpm workspace into the root package.json; never let it.
  if (readFileSync(manifest, 'utf8') !== before) {
    writeFileSync(manifest, before);
    process.stdout.write(`# ${rt.label} changed package.json: restored it, and counted one failure\n`);
    counts.fail++;
    counts.tests++;
    status ||= 1;
  }
  return { status, counts };
}

// --- All runs -----------------------------------------------------------------------------------

const results = [];
for (const name of runtimeNames) {
  if (stopped) {
    console.error(`run-tests: ${stopped}: not running ${name}`);
    continue;
  }
  let rt;
  try {
    rt = ensureRuntime(name);
  } catch (err) {
    console.error(`run-tests: ${err.message}`);
    results.push({ label: name, status: 1, counts: { ...emptyCounts(), tests: 1, fail: 1 }, files: 0 });
    continue;
  }
  rt.label = `${rt.kind === 'node' ? 'Node' : rt.kind === 'bun' ? 'Bun' : 'Deno'} ${rt.version}`;
  const list = rt.suite === 'all' ? files : files.filter((f) => f.startsWith(`${CLIENT_ROOT}/`));
  if (list.length === 0) {
    process.stdout.write(`# ${rt.label}: no test file of the client SDK matches the filters; nothing to run\n`);
    continue;
  }
  process.stdout.write(`\n# ── ${rt.label} (${rt.bin}): ${list.length} test file${list.length === 1 ? '' : 's'} ──\n`);
  const r = rt.kind === 'node' ? await runNode(rt, list) : await runPerFile(rt, list);
  if (r.status !== 0 && r.counts.fail + r.counts.cancelled === 0) {
    r.counts.fail++; // a non-zero exit with no failing test: still a failure
    r.counts.tests++;
  }
  results.push({ label: rt.label, files: list.length, ...r });
}

const line = (c) => `pass ${c.pass}, fail ${c.fail}, cancelled ${c.cancelled}, skipped ${c.skipped}, todo ${c.todo} of ${c.tests} tests`;
const total = emptyCounts();
console.log('\n# Results per runtime:');
for (const r of results) {
  for (const key of KEYS) total[key] += r.counts[key];
  console.log(`#   ${r.label.padEnd(14)} ${line(r.counts)} in ${r.files} files, ${(r.counts.duration_ms / 1000).toFixed(1)} s${r.status === 0 ? '' : ` — exit ${r.status}`}`);
}
if (results.length > 1) console.log(`# Totals over the ${results.length} runs above:`);
for (const key of KEYS) console.log(`ℹ ${key} ${key === 'duration_ms' ? total[key].toFixed(3) : total[key]}`);
// The same totals as one plain line, for readers that do not parse node's reporters.
console.log(`tests: ${total.pass} passed, ${total.fail + total.cancelled} failed, ${total.skipped} skipped`);
if (stopped) process.exit(stopped === 'SIGINT' ? 130 : stopped === 'SIGTERM' ? 143 : 129);
process.exit(results.some((r) => r.status !== 0) || total.fail + total.cancelled > 0 ? 1 : 0);
