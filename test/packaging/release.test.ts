/**
 * Release-ready: every package.json names the repository (with its folder), a homepage and
 * where to report bugs; the docs link to nothing that does not exist (files in the
 * repository, no page of the unpublished @sknock scope); `pnpm publish -r --dry-run`
 * publishes exactly the four packages, with public access, and sends nothing but look-ups
 * to a stand-in registry on loopback (no credentials, nothing leaves the machine); and
 * `changeset version` turns the pending changesets plus a new one into versions and
 * changelog entries, on a scratch copy of the workspace's manifests.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot, run, show } from '../examples/run-script.js';
import { devTool, pnpmCommand, toolEnv, workspaceProjects } from './tools.js';

interface Manifest {
  name: string;
  version?: string;
  private?: boolean;
  repository?: { type?: string; url?: string; directory?: string };
  homepage?: string;
  bugs?: { url?: string };
  publishConfig?: { access?: string };
}

const manifest = (dir: string): Manifest => JSON.parse(readFileSync(join(repoRoot, dir, 'package.json'), 'utf8')) as Manifest;
const root = manifest('.');
const projects = workspaceProjects();
const published = projects.filter((dir) => manifest(dir).private !== true);

/** The host of the root's repository URL (a placeholder until the project has a public one). */
const repositoryHost = new URL((root.repository?.url ?? '').replace(/^git\+/, '')).host;

const tracked = execFileSync('git', ['ls-files'], { cwd: repoRoot, encoding: 'utf8' }).split('\n').filter(Boolean);

describe('release-ready', () => {
  it('every package.json names the repository (with its folder), a homepage and where to report bugs', () => {
    assert.ok(root.repository?.url, 'the root package.json has no repository.url');
    assert.equal(root.repository?.directory, undefined);
    assert.ok(root.homepage, 'the root package.json has no homepage');
    assert.ok(root.bugs?.url, 'the root package.json has no bugs.url');
    assert.deepEqual(published, ['packages/sknock-ca', 'packages/sknock-client', 'packages/sknock-protocol', 'packages/sknock-server']);
    for (const dir of projects) {
      const m = manifest(dir);
      assert.deepEqual(m.repository, { type: 'git', url: root.repository?.url, directory: dir }, `${dir}: repository`);
      assert.ok(m.homepage?.includes(`/${dir}`), `${dir}: homepage ${m.homepage} is not its folder's page`);
      assert.equal(m.bugs?.url, root.bugs?.url, `${dir}: bugs`);
      if (m.private !== true) assert.equal(m.publishConfig?.access, 'public', `${dir}: a scoped package is published restricted unless publishConfig.access is public`);
    }
  });

  it('the docs link only to what exists: files of the repository, no page of the unpublished @sknock scope or the placeholder repository', () => {
    const isTracked = (path: string): boolean => tracked.includes(path) || tracked.some((f) => f.startsWith(`${path}/`));
    const problems: string[] = [];
    for (const file of tracked.filter((f) => /\.(md|service|ini|example)$/.test(f))) {
      const text = readFileSync(join(repoRoot, file), 'utf8');
      for (const m of text.matchAll(/https?:\/\/[^\s)>"'`]+/g)) {
        const url = m[0];
        if (/npmjs\.(com|org)\/(package\/)?@sknock\b/.test(url)) problems.push(`${file}: ${url} (the @sknock scope is not on npm)`);
        if (repositoryHost !== '' && new URL(url).host === repositoryHost) problems.push(`${file}: ${url} (the repository's URL is a placeholder)`);
      }
      if (!file.endsWith('.md')) continue;
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const path = (target as string).replace(/#.*$/, '');
        if (path === '' || /^[a-z][a-z0-9+.-]*:/i.test(path)) continue;
        const resolved = posix.normalize(posix.join(posix.dirname(file), path)).replace(/\/$/, '');
        if (!isTracked(resolved)) problems.push(`${file}: link to ${target}, which is not in the repository`);
      }
    }
    for (const unit of tracked.filter((f) => f.endsWith('.service'))) {
      for (const [, value] of readFileSync(join(repoRoot, unit), 'utf8').matchAll(/^Documentation=(.*)$/gm)) {
        for (const uri of (value as string).split(/\s+/)) if (!/^file:\//.test(uri)) problems.push(`${unit}: Documentation=${uri} (point it at the README installed with the package)`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('pnpm publish -r --dry-run publishes exactly the four packages, with public access, and puts nothing on the registry', async () => {
    // A stand-in registry on loopback: every package is unknown (404), as on npm today.
    const requests: string[] = [];
    const registry = createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      req.resume();
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Not found"}');
    }).listen(0, '127.0.0.1');
    await once(registry, 'listening');
    const url = `http://127.0.0.1:${(registry.address() as AddressInfo).port}/`;
    try {
      const [file, ...args] = pnpmCommand() as [string, ...string[]];
      const r = await run(file, [...args, 'publish', '-r', '--dry-run', '--no-git-checks', `--registry=${url}`], {
        cwd: repoRoot,
        env: { ...toolEnv(), npm_config_fetch_retries: '0', NO_COLOR: '1' },
        timeoutMs: 180_000,
      });
      assert.equal(r.code, 0, show(r));
      const out = `${r.stdout}${r.stderr}`;
      const plus = [...out.matchAll(/^\+ (\S+)$/gm)].map((m) => m[1]).sort();
      assert.deepEqual(plus, published.map((dir) => `${manifest(dir).name}@${manifest(dir).version}`).sort(), show(r));
      assert.equal(out.split(`Publishing to ${url} with tag latest and public access (dry-run)`).length - 1, published.length, show(r));
      assert.deepEqual(requests.filter((q) => !q.startsWith('GET ')), [], 'a dry run only looks up');
      for (const dir of published) assert.deepEqual(readdirSync(join(repoRoot, dir)).filter((n) => n.endsWith('.tgz')), [], `${dir}: a tarball was left behind`);
    } finally {
      registry.close();
    }
  });

  it('changeset version: the pending changesets and a new patch one become versions and CHANGELOG entries (on a scratch copy)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sknock-changeset-'));
    try {
      for (const f of ['package.json', 'pnpm-workspace.yaml']) cpSync(join(repoRoot, f), join(dir, f));
      cpSync(join(repoRoot, '.changeset'), join(dir, '.changeset'), { recursive: true });
      for (const p of projects) {
        mkdirSync(join(dir, p), { recursive: true });
        cpSync(join(repoRoot, p, 'package.json'), join(dir, p, 'package.json'));
      }
      symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
      const pending = readdirSync(join(dir, '.changeset')).filter((n) => n.endsWith('.md') && n !== 'README.md');
      assert.ok(pending.length > 0, 'no pending changeset');
      // Every pending changeset names only published packages and a known bump.
      const names = new Set(published.map((p) => manifest(p).name));
      for (const name of pending) {
        const front = /^---\n([\s\S]*?)^---\n/m.exec(readFileSync(join(dir, '.changeset', name), 'utf8'))?.[1];
        assert.ok(front !== undefined, `.changeset/${name} has no front matter`);
        for (const line of front.split('\n').filter(Boolean)) {
          const m = /^"(@sknock\/[\w-]+)": (patch|minor|major)$/.exec(line);
          assert.ok(m && names.has(m[1] as string), `.changeset/${name}: ${line}`);
        }
      }
      writeFileSync(join(dir, '.changeset', 'zz-release-test.md'), '---\n"@sknock/protocol": patch\n---\n\nA change made up by the release test.\n');
      const before = manifest('packages/sknock-protocol').version as string;
      const r = await run(process.execPath, [devTool('@changesets/cli', 'changeset'), 'version'], { cwd: dir, env: { ...toolEnv(), NO_COLOR: '1' }, timeoutMs: 60_000 });
      assert.equal(r.code, 0, show(r));
      assert.deepEqual(readdirSync(join(dir, '.changeset')).filter((n) => n.endsWith('.md')), ['README.md'], 'every changeset was used');
      const after = (JSON.parse(readFileSync(join(dir, 'packages/sknock-protocol/package.json'), 'utf8')) as Manifest).version as string;
      const [b, a] = [before, after].map((v) => v.split('.').map(Number)) as [number[], number[]];
      assert.ok(a[0]! > b[0]! || (a[0] === b[0] && (a[1]! > b[1]! || (a[1] === b[1] && a[2]! > b[2]!))), `@sknock/protocol ${before} → ${after}`);
      const changelog = readFileSync(join(dir, 'packages/sknock-protocol/CHANGELOG.md'), 'utf8');
      assert.match(changelog, new RegExp(`^## ${after.replace(/\./g, '\\.')}$[\\s\\S]*A change made up by the release test\\.`, 'm'));
      for (const p of projects.filter((d) => manifest(d).private === true)) {
        assert.deepEqual(JSON.parse(readFileSync(join(dir, p, 'package.json'), 'utf8')), manifest(p), `${p} (private) was versioned`);
        assert.ok(!existsSync(join(dir, p, 'CHANGELOG.md')), `${p} (private) got a changelog`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
