/**
 * `npm run demo` (examples/demo.mjs): the story's output and exit status in each mode, and
 * that nothing is left behind — no namespace, no nftables table, no process — also when it
 * is interrupted.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { netnsSkipReason } from '../support/netns.js';
import { repoRoot, run, runExample, show, type RunResult } from './run-script.js';

const netnsSkip = await netnsSkipReason({ tools: ['nft'] });
const root = process.getuid?.() === 0;

function usernsSkipReason(): string | false {
  const probe = spawnSync('unshare', ['--user', '--map-root-user', '--net', '--mount', '--', '/bin/sh', '-c', 'mount -t tmpfs x /run && ip netns add p && nft --version'], {
    stdio: 'ignore',
    timeout: 10_000,
  });
  return probe.status === 0 ? false : 'unprivileged user namespaces (or ip/nft inside them) are not available here';
}

/** Output lines without the `[ 1.2 s] ` time stamps. */
function lines(r: RunResult): string[] {
  return r.stdout.split('\n').map((l) => l.replace(/^\[\s*[\d.]+ s\] /, ''));
}

/** Each pattern matches a line, in this order (other lines may come between). */
function assertInOrder(r: RunResult, patterns: readonly RegExp[]): void {
  const all = lines(r);
  let at = 0;
  for (const pattern of patterns) {
    const found = all.findIndex((line, i) => i >= at && pattern.test(line));
    assert.ok(found >= 0, `no line matching ${pattern} after line ${at}\n${show(r)}`);
    at = found + 1;
  }
}

async function labNamespaces(pid: number): Promise<string[]> {
  const r = await run('ip', ['netns', 'list']);
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(`sknockdemo-${pid.toString(36)}-`));
}

/** Processes whose parent is `pid` (the demo's helpers: `ip netns exec` becomes node). */
function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const STORY = [
  /^1\. alice connects to \S+ without knocking$/,
  /^2\. alice knocks: knock\(\{ host: /,
  /^ {3}✓ port open \d+ ms after knock\(\) was called \(\d+ datagrams? of \d+ bytes to udp\/\d+\)$/,
  /^3\. alice connects again$/,
  /^ {3}✓ connected in \d+ ms; the service says: "hello [\d.]+, you reached the hidden service"$/,
  /^4\. waiting for the grant to run out \(3 s\)…$/,
  /^5\. alice connects once more$/,
];

describe('the demo (npm run demo)', () => {
  it('knocks through nftables in two network namespaces and leaves nothing behind', { skip: netnsSkip }, async () => {
    let pid = 0;
    // As root the default (auto) mode is this one; otherwise force it.
    const env = root ? { ...process.env, SKNOCK_DEMO_MODE: undefined } : { ...process.env, SKNOCK_DEMO_MODE: 'netns' };
    const r = await runExample('demo.mjs', { env, onSpawn: (c) => (pid = c.pid ?? 0) });
    assert.equal(r.code, 0, show(r));
    assertInOrder(r, [
      /^Mode: nftables in two network namespaces \(real packets, real firewall\)\.$/,
      /^Made a throwaway CA "sKnock demo CA", a server certificate, and a client certificate for "alice" that grants tcp\/2000\.$/,
      /^Made network namespaces sknockdemo-\S+-srv \(10\.66\.0\.1\) and sknockdemo-\S+-cli \(10\.66\.0\.2\), joined by a veth pair\.$/,
      /^In sknockdemo-\S+-srv: the sKnock daemon on udp\/62201 \(nftables, policy drop, grants last 3 s\)/,
      STORY[0] as RegExp,
      /^ {3}✗ no answer within \d+ ms: the firewall drops the packets$/,
      STORY[1] as RegExp,
      /^ {3}server: knock from 10\.66\.0\.2 verified \(CN=alice, may open tcp\/2000\)$/,
      ...STORY.slice(2, 6),
      /^ {3}server: grant expired, 10\.66\.0\.2 → tcp\/2000 closed$/,
      STORY[6] as RegExp,
      /^ {3}✗ no answer within \d+ ms: the firewall drops the packets$/,
      /^Cleaned up: daemon stopped \(its nftables table removed\), namespaces deleted, temporary files removed\.$/,
      /^Done in [\d.]+ s: dropped → knock → open → dropped again after 3 s\.$/,
    ]);
    assert.deepEqual(await labNamespaces(pid), [], 'the demo left namespaces behind');
    // Its nftables table lived in its own namespace; nothing reached the host's ruleset.
    const tables = await run('nft', ['list', 'tables']);
    assert.doesNotMatch(tables.stdout, /table inet sknock\b/, 'an sknock table in the host namespace');
  });

  it('cleans up everything when interrupted (SIGINT mid-story)', { skip: netnsSkip }, async () => {
    let pid = 0;
    let helpers: number[] = [];
    let signalled = false;
    const r = await runExample('demo.mjs', {
      env: { ...process.env, SKNOCK_DEMO_MODE: 'netns' },
      onSpawn: (c) => (pid = c.pid ?? 0),
      onStdout: (text, child) => {
        if (signalled || !text.includes('1. alice connects')) return;
        signalled = true;
        helpers = childPids(pid);
        child.kill('SIGINT');
      },
    });
    assert.ok(signalled, `the story never started\n${show(r)}`);
    assert.equal(r.code, 130, show(r));
    assert.match(r.stdout, /SIGINT: cleaning up…[\s\S]*Cleaned up: daemon stopped \(its nftables table removed\), namespaces deleted[\s\S]*cleaned up\.\n$/);
    assert.ok(helpers.length >= 2, `expected the server and client helpers among ${helpers.join(', ')}`);
    for (const helper of helpers) assert.ok(!existsSync(`/proc/${helper}`), `helper process ${helper} still runs`);
    assert.deepEqual(await labNamespaces(pid), []);
  });

  it('runs inside an unprivileged user namespace (unshare --user --map-root-user --net)', { skip: usernsSkipReason() }, async () => {
    const r = await runExample('demo.mjs', { env: { ...process.env, SKNOCK_DEMO_MODE: 'userns' } });
    assert.equal(r.code, 0, show(r));
    assertInOrder(r, [
      /^Mode: nftables in two network namespaces, inside an unprivileged user namespace \(real packets, real firewall\)\.$/,
      STORY[0] as RegExp,
      /^ {3}✗ no answer within \d+ ms: the firewall drops the packets$/,
      ...STORY.slice(1),
      /^ {3}✗ no answer within \d+ ms: the firewall drops the packets$/,
      /^Done in [\d.]+ s: dropped → knock → open → dropped again after 3 s\.$/,
    ]);
  });

  // As an unprivileged user (setpriv to nobody), the automatic choice: a user namespace where
  // the kernel allows one, else the memory back end with the reason. Interrupted once the
  // mode is printed (the full stories are tested above and below).
  //
  // nobody must read the repository (the demo, the built packages, node_modules) and the node
  // binary, which a clone in a folder others cannot enter (mode 0700, as CI's) does not
  // allow. So the demo runs in a mount namespace of its own where the repository is also
  // bind-mounted on a fresh folder everyone can enter; nothing is copied, nothing outside
  // that namespace changes.
  const which = (name: string): string => spawnSync('/bin/sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim(); // absolute: PATH changes below
  const [setpriv, unshare, mount] = [which('setpriv'), which('unshare'), which('mount')];
  const asNobody = root && setpriv !== '' && unshare !== '' && mount !== '' ? false : 'needs root, setpriv, unshare and mount to run the demo as nobody';
  const repo = repoRoot.replace(/\/$/, '');

  /** Where nobody finds this node: under the bind mount when it lives in the repository (.cache/runtimes). */
  function nodeFor(stage: string): string | undefined {
    if (process.execPath.startsWith(`${repo}/`)) return join(stage, relative(repo, process.execPath));
    const r = spawnSync(setpriv, ['--reuid=nobody', '--regid=nogroup', '--clear-groups', '--', process.execPath, '-e', '0'], { stdio: 'ignore' });
    return r.status === 0 ? process.execPath : undefined;
  }

  /** Runs the demo as nobody from the bind-mounted repository, with PATH `path(node)`; SIGINT once the story starts. */
  async function demoAsNobody(t: TestContext, path: (node: string) => string): Promise<RunResult | undefined> {
    const stage = mkdtempSync(join(tmpdir(), 'sknock-demo-nobody-'));
    try {
      chmodSync(stage, 0o755);
      const node = nodeFor(stage);
      if (node === undefined) {
        const why = `nobody cannot run ${process.execPath}`;
        if (process.env['CI'] === 'true') assert.fail(why);
        t.skip(why);
        return undefined;
      }
      let signalled = false;
      const script = `${mount} --bind "$1" "$2" && shift 2 && exec "$@"`;
      const command = [setpriv, '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--', node, join(stage, 'examples', 'demo.mjs')];
      return await run(unshare, ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', script, 'sh', repo, stage, ...command], {
        env: { PATH: path(node), HOME: '/', LANG: 'C.UTF-8' },
        onStdout: (text, child) => {
          if (signalled || !/\n1\. alice connects|\] 1\. alice connects/.test(text)) return;
          signalled = true;
          child.kill('SIGINT');
        },
      });
    } finally {
      rmSync(stage, { recursive: true, force: true });
    }
  }

  it('not root: picks the user namespace by itself', { skip: asNobody || usernsSkipReason() }, async (t) => {
    const r = await demoAsNobody(t, () => process.env['PATH'] ?? '/usr/bin:/bin');
    if (!r) return;
    assert.match(r.stdout, /^Mode: nftables in two network namespaces, inside an unprivileged user namespace/m, show(r));
    assert.equal(r.code, 130, show(r));
  });

  it('not root and no unshare: says why and falls back to the memory back end', { skip: asNobody }, async (t) => {
    const bin = mkdtempSync(join(tmpdir(), 'sknock-demo-path-'));
    try {
      chmodSync(bin, 0o755);
      const r = await demoAsNobody(t, (node) => {
        symlinkSync(node, join(bin, 'node'));
        return bin; // PATH: node only
      });
      if (!r) return;
      assert.match(r.stdout, /^Mode: SIMULATED — no network namespace can be made here \(not root, and unshare \(util-linux\) is not installed\),$/m, show(r));
      assert.equal(r.code, 130, show(r));
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('says plainly when it falls back to the memory back end, and still tells the story', async () => {
    const r = await runExample('demo.mjs', { env: { ...process.env, SKNOCK_DEMO_MODE: 'memory' } });
    assert.equal(r.code, 0, show(r));
    assertInOrder(r, [
      /^Mode: SIMULATED — no network namespace can be made here \(SKNOCK_DEMO_MODE=memory\),$/,
      /^so this runs the same story on loopback with the in-memory firewall back end\.$/,
      /the service itself asks it whether a grant is open$/,
      STORY[0] as RegExp,
      /^ {3}✗ connection reset after \d+ ms: the memory back end holds no grant, so the service resets it \(simulated firewall\)$/,
      STORY[1] as RegExp,
      /^ {3}server: knock from 127\.0\.0\.1 verified \(CN=alice, may open tcp\/\d+\)$/,
      ...STORY.slice(2, 6),
      /^ {3}server: grant expired, 127\.0\.0\.1 → tcp\/\d+ closed$/,
      STORY[6] as RegExp,
      /^ {3}✗ connection reset after \d+ ms: the memory back end holds no grant/,
      /^Cleaned up: daemon and service stopped\.$/,
      /^Done in [\d.]+ s: refused → knock → open → refused again after 3 s \(simulated firewall\)\.$/,
    ]);
  });

  it('stops cleanly on SIGTERM in memory mode', async () => {
    let signalled = false;
    const r = await runExample('demo.mjs', {
      env: { ...process.env, SKNOCK_DEMO_MODE: 'memory' },
      onStdout: (text, child) => {
        if (signalled || !text.includes('4. waiting')) return;
        signalled = true;
        child.kill('SIGTERM');
      },
    });
    assert.equal(r.code, 143, show(r));
    assert.match(r.stdout, /SIGTERM: cleaning up…\n.*Cleaned up: daemon and service stopped\.\ncleaned up\.\n$/);
  });

  it('refuses an unknown SKNOCK_DEMO_MODE', async () => {
    const r = await runExample('demo.mjs', { env: { ...process.env, SKNOCK_DEMO_MODE: 'cloud' } });
    assert.equal(r.code, 1, show(r));
    assert.match(r.stdout, /demo failed: SKNOCK_DEMO_MODE must be auto, netns, userns or memory, not cloud/);
  });
});
