/**
 * scripts/bootstrap.mjs (`npm run demo`, `npm test`): run on a copy in a scratch
 * repository with fake pnpm, npx, tsc, demo and test runner that log what they were asked to
 * do — installs only when needed, with pnpm from PATH or else the pinned one through npx,
 * then builds, then runs, passing arguments and exit status through.
 */
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { repoRoot, run, show } from '../examples/run-script.js';

const node = process.execPath;

/** A program (node script with an absolute shebang) that appends `label args…` to $BOOTSTRAP_LOG. */
function fakeTool(path: string, label: string, body = ''): void {
  writeFileSync(
    path,
    `#!${node}
const fs = require('node:fs');
const args = process.argv.slice(2);
fs.appendFileSync(process.env.BOOTSTRAP_LOG, [${JSON.stringify(label)}, ...args].join(' ') + (process.env.npm_config_leak ? ' [npm_config_leak]' : '') + '\\n');
${body}
`,
  );
  chmodSync(path, 0o755);
}

/** What `pnpm install` leaves behind, as far as bootstrap.mjs looks. */
const INSTALL = `
if (args.includes('install')) {
  for (const d of ['node_modules/.pnpm', 'node_modules/typescript/bin', 'packages/a/node_modules', 'examples/node_modules']) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync('node_modules/.modules.yaml', '{}');
  fs.copyFileSync('pnpm-lock.yaml', 'node_modules/.pnpm/lock.yaml');
  fs.writeFileSync('node_modules/typescript/bin/tsc', "import('node:fs').then((f) => f.appendFileSync(process.env.BOOTSTRAP_LOG, ['tsc', ...process.argv.slice(2)].join(' ') + '\\\\n'));");
}
`;

describe('scripts/bootstrap.mjs', () => {
  let dir: string;
  let repo: string;
  let bin: string;
  let log: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sknock-bootstrap-'));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    repo = mkdtempSync(join(dir, 'repo-'));
    bin = `${repo}-bin`; // outside the scratch repository, whose package.json says "type": "module"
    mkdirSync(bin);
    log = join(repo, 'log');
    for (const d of ['scripts', 'examples', 'packages/a']) mkdirSync(join(repo, d), { recursive: true });
    copyFileSync(join(repoRoot, 'scripts', 'bootstrap.mjs'), join(repo, 'scripts', 'bootstrap.mjs'));
    writeFileSync(join(repo, 'package.json'), JSON.stringify({ name: 'x', private: true, type: 'module', packageManager: 'pnpm@10.34.9', engines: { node: '>=20.19' } }));
    writeFileSync(join(repo, 'pnpm-workspace.yaml'), 'packages:\n  - packages/*\n  - examples\n');
    writeFileSync(join(repo, 'pnpm-lock.yaml'), "lockfileVersion: '9.0'\n");
    writeFileSync(join(repo, 'packages/a/package.json'), '{"name":"a"}');
    writeFileSync(join(repo, 'examples/package.json'), '{"name":"examples"}');
    writeFileSync(join(repo, 'scripts', 'run-tests.mjs'), "import { appendFileSync } from 'node:fs';\nappendFileSync(process.env.BOOTSTRAP_LOG, ['run-tests', ...process.argv.slice(2)].join(' ') + '\\n');\nprocess.exit(Number(process.env.TESTS_EXIT ?? 0));\n");
    writeFileSync(join(repo, 'examples', 'demo.mjs'), "import { appendFileSync } from 'node:fs';\nappendFileSync(process.env.BOOTSTRAP_LOG, 'demo\\n');\n");
    writeFileSync(log, '');
  });

  /** Runs bootstrap.mjs with only the fake tools on PATH; returns the log lines. */
  async function bootstrap(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; lines: string[]; stdout: string; stderr: string }> {
    const r = await run(node, [join(repo, 'scripts', 'bootstrap.mjs'), ...args], {
      cwd: repo,
      env: { PATH: bin, HOME: process.env['HOME'] ?? '/', BOOTSTRAP_LOG: log, ...env },
    });
    const lines = readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);
    writeFileSync(log, '');
    if (r.code === null) assert.fail(show(r));
    return { code: r.code, lines, stdout: r.stdout, stderr: r.stderr };
  }

  it('on a fresh clone: pnpm install --frozen-lockfile (pnpm from PATH), tsc -b, then the tests with their arguments', async () => {
    fakeTool(join(bin, 'pnpm'), 'pnpm', `if (args[0] === '--version') console.log('10.34.9');${INSTALL}`);
    const first = await bootstrap(['test', 'examples', 'packaging'], { TESTS_EXIT: '3' });
    assert.deepEqual(first.lines, ['pnpm --version', 'pnpm install --frozen-lockfile', 'tsc -b', 'pnpm install --frozen-lockfile --offline', 'run-tests examples packaging']);
    assert.equal(first.code, 3, 'the test runner\'s exit status');
    assert.match(first.stderr, /dependencies are not installed: pnpm install --frozen-lockfile with pnpm 10\.34\.9/);

    const again = await bootstrap(['demo']);
    assert.deepEqual(again.lines, ['tsc -b', 'demo'], 'installed and unchanged: no install');
    assert.equal(again.code, 0);

    writeFileSync(join(repo, 'pnpm-lock.yaml'), "lockfileVersion: '9.0'\n# a new dependency\n");
    const changed = await bootstrap(['build']);
    assert.deepEqual(changed.lines, ['pnpm --version', 'pnpm install --frozen-lockfile', 'tsc -b', 'pnpm install --frozen-lockfile --offline']);
    assert.match(changed.stderr, /pnpm-lock\.yaml changed since the last install/);

    rmSync(join(repo, 'packages/a/node_modules'), { recursive: true });
    const project = await bootstrap(['build']);
    assert.deepEqual(project.lines, ['pnpm --version', 'pnpm install --frozen-lockfile', 'tsc -b', 'pnpm install --frozen-lockfile --offline']);
    assert.match(project.stderr, /packages\/a not installed/);
  });

  it('without pnpm: npx --yes pnpm@<packageManager version>', async () => {
    fakeTool(join(bin, 'npx'), 'npx', INSTALL);
    const r = await bootstrap(['test']);
    assert.deepEqual(r.lines, ['npx --yes pnpm@10.34.9 install --frozen-lockfile', 'tsc -b', 'npx --yes pnpm@10.34.9 install --frozen-lockfile --offline', 'run-tests']);
    assert.equal(r.code, 0);
  });

  it('with a pnpm that cannot run this lockfile on this Node (11.x): npx with the pinned one', async () => {
    fakeTool(join(bin, 'pnpm'), 'pnpm', "if (args[0] === '--version') console.log('11.0.0');");
    fakeTool(join(bin, 'npx'), 'npx', INSTALL);
    const r = await bootstrap(['build']);
    assert.deepEqual(r.lines, ['pnpm --version', 'npx --yes pnpm@10.34.9 install --frozen-lockfile', 'tsc -b', 'npx --yes pnpm@10.34.9 install --frozen-lockfile --offline']);
    assert.match(r.stderr, /pnpm 11\.0\.0 on PATH is not a 9\.x or 10\.x release/);
  });

  it('keeps the npm_* variables of `npm run` away from pnpm', async () => {
    fakeTool(join(bin, 'pnpm'), 'pnpm', `if (args[0] === '--version') console.log('10.34.9');${INSTALL}`);
    const r = await bootstrap(['build'], { npm_config_leak: 'yes' });
    assert.deepEqual(r.lines, ['pnpm --version', 'pnpm install --frozen-lockfile', 'tsc -b', 'pnpm install --frozen-lockfile --offline']);
  });

  it("shows pnpm's output, except its warnings about bins of the not yet built workspace packages", async () => {
    const warn = "if (args.includes('install') && !args.includes('--offline')) { console.log('Progress: resolved 40'); console.log(' WARN  Failed to create bin at /r/examples/node_modules/.bin/sknock. ENOENT: no such file or directory, open \\'/r/main.js\\''); }";
    fakeTool(join(bin, 'pnpm'), 'pnpm', `if (args[0] === '--version') console.log('10.34.9');${warn}${INSTALL}`);
    const r = await bootstrap(['build']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Progress: resolved 40$/m);
    assert.doesNotMatch(`${r.stdout}${r.stderr}`, /Failed to create bin/);
  });

  it('stops with a message when the install fails', async () => {
    fakeTool(join(bin, 'pnpm'), 'pnpm', "if (args[0] === '--version') console.log('10.34.9'); else process.exit(1);");
    const r = await bootstrap(['demo']);
    assert.equal(r.code, 1);
    assert.deepEqual(r.lines, ['pnpm --version', 'pnpm install --frozen-lockfile']);
    assert.match(r.stderr, /pnpm install failed \(exit 1\)/);
  });

  it('refuses an unknown command', async () => {
    const r = await bootstrap(['deploy']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /usage: node scripts\/bootstrap\.mjs demo\|test\|build/);
    assert.deepEqual(r.lines, []);
  });
});
