/**
 * Before the firewall is touched: whether this process can drive it (programs on PATH,
 * CAP_NET_ADMIN that the programs it starts inherit), `check-config --firewall` (the same,
 * plus a dry run of the real setup script checked by the kernel), and `check-config`'s
 * warnings of `firewallPolicy = none` and of a ruleset that drops by default. As processes:
 * the daemon run by an unprivileged user without capabilities fails with one sentence naming
 * CAP_NET_ADMIN (never nft's netlink error, never "could not undo"); a setup that fails
 * because nft may not run claims no undo failure either.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createCa, createCrl, issueServerCertificate } from '@sknock/ca';
import { checkConfig } from '../src/config/index.js';
import { firewallAccessProblems, parseCapabilities } from '../src/firewall/access.js';
import { droppingNftChains, droppingSavedInput } from '../src/firewall/ruleset-drops.js';
import { netns, type Topology } from './support/netns-harness.js';

const BIN = fileURLToPath(new URL('../src/cli/server-main.js', import.meta.url));
const REPO = fileURLToPath(new URL('../../../../', import.meta.url)).replace(/\/$/, '');

/**
 * `sknock-server ARGS` as nobody. nobody cannot enter a clone in a folder others cannot read
 * (mode 0700, as CI's), so the command runs in a mount namespace of its own where the
 * repository is also bind-mounted on `stage`, a folder everyone can enter (with the node
 * binary, when it lives in the repository: .cache/runtimes); nothing is copied.
 */
function asNobody(stage: string, args: readonly string[]): string[] {
  const under = (path: string): string => (path.startsWith(`${REPO}/`) ? join(stage, relative(REPO, path)) : path);
  const bind = 'mount --bind "$1" "$2" && shift 2 && exec "$@"';
  return ['unshare', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', bind, 'sh', REPO, stage,
    'setpriv', '--reuid', 'nobody', '--regid', 'nogroup', '--clear-groups', under(process.execPath), under(BIN), ...args];
}

/** /proc/self/status lines with the given capability sets (hex). */
function status(eff: string, amb: string, bnd = '000001ffffffffff'): string {
  return `Name:\tnode\nCapInh:\t0000000000000000\nCapPrm:\t${eff}\nCapEff:\t${eff}\nCapBnd:\t${bnd}\nCapAmb:\t${amb}\n`;
}
const NET_ADMIN = (1n << 12n).toString(16).padStart(16, '0');
const NONE = '0000000000000000';

describe('firewallAccessProblems', () => {
  it('reads the capability sets of /proc/self/status', () => {
    assert.deepEqual(parseCapabilities(status(NET_ADMIN, NONE)), { effective: 1n << 12n, ambient: 0n, bounding: 0x1ffffffffffn });
    assert.equal(parseCapabilities('Name: x\n'), undefined);
  });

  it('root with CAP_NET_ADMIN, or another user with it as an ambient capability: nothing to say', () => {
    const path = process.env['PATH'];
    assert.deepEqual(firewallAccessProblems('memory', { status: status(NONE, NONE), uid: 1000 }), []);
    // The programs exist on this machine (the firewall tests need them).
    assert.deepEqual(firewallAccessProblems('nftables', { status: status('000001ffffffffff', NONE), uid: 0, path }), []);
    assert.deepEqual(firewallAccessProblems('nftables', { status: status(NET_ADMIN, NET_ADMIN), uid: 998, path }), []);
  });

  it('names CAP_NET_ADMIN for a user without it, and for one that holds it only for itself', () => {
    const [none] = firewallAccessProblems('nftables', { status: status(NONE, NONE), uid: 1000 });
    assert.match(none ?? '', /runs as uid 1000 without CAP_NET_ADMIN .*nft needs it .*AmbientCapabilities=CAP_NET_ADMIN/);
    const [own] = firewallAccessProblems('iptables', { status: status(NET_ADMIN, NONE), uid: 1000 });
    assert.match(own ?? '', /holds it, but not as an ambient capability/);
    const [root] = firewallAccessProblems('nftables', { status: status(NONE, NONE, NONE), uid: 0 });
    assert.match(root ?? '', /runs as root but without CAP_NET_ADMIN/);
  });

  it('names a missing program and the package that brings it', () => {
    const problems = firewallAccessProblems('iptables', { status: status('000001ffffffffff', NONE), uid: 0, path: '/nonexistent' });
    assert.deepEqual(problems, ['firewallBackend = iptables runs iptables-save, iptables-restore, ip6tables-save, ip6tables-restore, which are not installed or not on PATH (apt-get install iptables)']);
  });
});

describe('dropping input chains', () => {
  it('finds a base input chain with policy drop or an unconditional final drop, and nothing else', () => {
    const json = JSON.stringify({
      nftables: [
        { chain: { family: 'inet', table: 'filter', name: 'input', type: 'filter', hook: 'input', prio: 0, policy: 'drop' } },
        { chain: { family: 'inet', table: 'last', name: 'input', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
        { rule: { family: 'inet', table: 'last', chain: 'input', expr: [{ match: {} }, { accept: null }] } },
        { rule: { family: 'inet', table: 'last', chain: 'input', expr: [{ counter: {} }, { drop: null }] } },
        { chain: { family: 'inet', table: 'narrow', name: 'input', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
        { rule: { family: 'inet', table: 'narrow', chain: 'input', expr: [{ match: { left: 'tcp dport' } }, { drop: null }] } },
        { chain: { family: 'inet', table: 'out', name: 'output', type: 'filter', hook: 'output', prio: 0, policy: 'drop' } },
        { chain: { family: 'inet', table: 'user', name: 'mine' } },
      ],
    });
    assert.deepEqual(
      droppingNftChains(json).map((c) => `${c.where}: ${c.how}`),
      ['nft table inet filter chain input: policy drop', 'nft table inet last chain input: a final rule that drops everything'],
    );
    assert.deepEqual(droppingNftChains('not json'), []);
    assert.deepEqual(
      droppingSavedInput('*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\nCOMMIT\n', 'iptables-legacy').map((c) => c.how),
      ['policy DROP'],
    );
    assert.deepEqual(droppingSavedInput('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -j ACCEPT\n-A INPUT -j REJECT --reject-with icmp-port-unreachable\nCOMMIT\n', 'x').length, 1);
    assert.deepEqual(droppingSavedInput('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 23 -j DROP\nCOMMIT\n', 'x'), []);
  });
});

interface Done {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runIn(ns: string, argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Done> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const skip = await netns.netnsSkipReason({ tools: ['nft', 'iptables', 'setpriv'] });

describe('check-config and the daemon, in a network namespace', { skip }, () => {
  let topo: Topology;
  let dir: string;
  const config = (name: string, lines: string): string => {
    const file = join(dir, name);
    writeFileSync(file, `[DEFAULT]\nserverPFXFile = server.pfx\nPFXPasswdFile = server.pass\ncrlFile = crl.der\nknockPort = 62201\n${lines}`, { mode: 0o644 });
    return file;
  };

  before(async () => {
    topo = await netns.createTopology({ prefix: 'sknockacc', clients: 1, startAgents: false });
    dir = mkdtempSync(join(tmpdir(), 'sknock-access-'));
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, 'repository'), { mode: 0o755 }); // where nobody sees the repository (asNobody)
    const ca = await createCa({ name: 'Access CA' });
    const server = await issueServerCertificate(ca, { name: 'knock.example.org', pkcs12: { passphrase: 'pw' } });
    // Readable by the unprivileged user the tests run the daemon as (the secret-file warnings are not what this tests).
    writeFileSync(join(dir, 'server.pfx'), server.pfx as Uint8Array, { mode: 0o644 });
    writeFileSync(join(dir, 'server.pass'), 'pw\n', { mode: 0o644 });
    writeFileSync(join(dir, 'crl.der'), await createCrl(ca, { revoked: [], crlNumber: 1 }), { mode: 0o644 });
  });

  after(async () => {
    await topo?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('warns of firewallPolicy = none (and not of drop)', async () => {
    const none = await checkConfig(config('none.ini', 'firewallPolicy = none\n'), { netns: topo.server.name });
    assert.equal(none.ok, true, none.problems.join('\n'));
    assert.match(none.warnings.join('\n'), /firewallPolicy = none in .*none\.ini: sknock-server only adds accepts .*Use firewallPolicy = drop/);
    const drop = await checkConfig(config('drop.ini', 'firewallPolicy = drop\n'), { netns: topo.server.name });
    assert.deepEqual(drop.warnings.filter((w) => /firewallPolicy|drops inbound/.test(w)), []);
    const memory = await checkConfig(config('memory.ini', 'firewallPolicy = none\nfirewallBackend = memory\n'), { netns: topo.server.name });
    assert.deepEqual(memory.warnings.filter((w) => /firewallPolicy/.test(w)), [], 'the memory back end writes no rules');
  });

  it('warns of a ruleset that drops by default, except where the back end decides itself', async () => {
    const ns = topo.server;
    await ns.exec('nft', ['-f', '-'], {
      input: 'table inet filter {\n chain input {\n  type filter hook input priority filter; policy drop;\n  ct state established,related accept\n }\n}\n',
    });
    try {
      const none = await checkConfig(config('none.ini', 'firewallPolicy = none\n'), { netns: ns.name });
      assert.match(none.warnings.join('\n'), /firewallPolicy = none in .*, and nft table inet filter chain input drops inbound traffic by default \(policy drop\): .*no grant would let anything through/);
      const drop = await checkConfig(config('drop.ini', 'firewallPolicy = drop\n'), { netns: ns.name });
      assert.match(drop.warnings.join('\n'), /nft table inet filter chain input drops inbound traffic by default \(policy drop\): .*grants and emergencyAccessPorts are dropped there/);
    } finally {
      await ns.exec('nft', ['delete', 'table', 'inet', 'filter']);
    }
    // iptables' INPUT with policy DROP: the iptables back end's jump comes first there, the nftables back end's accept does not help.
    await ns.exec('iptables', ['-P', 'INPUT', 'DROP']);
    try {
      const nft = await checkConfig(config('nft.ini', 'firewallPolicy = drop\n'), { netns: ns.name });
      assert.match(nft.warnings.join('\n'), /nft table ip filter chain INPUT drops inbound traffic by default \(policy drop\)/);
      const ipt = await checkConfig(config('ipt.ini', 'firewallPolicy = drop\nfirewallBackend = iptables\n'), { netns: ns.name });
      assert.deepEqual(ipt.warnings.filter((w) => /drops inbound/.test(w)), []);
    } finally {
      await ns.exec('iptables', ['-P', 'INPUT', 'ACCEPT']);
      await ns.exec('nft', ['delete', 'table', 'ip', 'filter'], { allowFailure: true });
    }
  });

  it('check-config --firewall: the setup is dry-run by the kernel and nothing changes', async () => {
    const ns = topo.server;
    const before = await ns.rulesetSnapshot();
    for (const backend of ['nftables', 'iptables']) {
      const r = await checkConfig(config(`${backend}.ini`, `firewallPolicy = drop\nfirewallBackend = ${backend}\n`), { netns: ns.name, firewall: true });
      assert.deepEqual(r.problems, [], backend);
    }
    assert.equal(await ns.rulesetSnapshot(), before, 'a dry run changes nothing');
    // Without the program: a problem naming it and its package.
    const r = await runIn(ns.name, ['env', 'PATH=/nonexistent', process.execPath, BIN, 'check-config', '--firewall', '--config', config('c.ini', 'firewallPolicy = drop\n')]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /firewallBackend = nftables runs nft, which is not installed or not on PATH \(apt-get install nftables\)/);
  });

  for (const backend of ['nftables', 'iptables']) {
    it(`${backend}: as a user without capabilities, check-config --firewall and run name CAP_NET_ADMIN, never the netlink error`, async () => {
      const file = config(`user-${backend}.ini`, `firewallPolicy = drop\nfirewallBackend = ${backend}\n`);
      const stage = join(dir, 'repository');
      const check = await runIn(topo.server.name, asNobody(stage, ['check-config', '--firewall', '--config', file]));
      assert.equal(check.code, 1, check.stdout + check.stderr);
      assert.match(check.stderr, /sknock-server runs as uid \d+ without CAP_NET_ADMIN for the programs it starts; (nft|iptables) needs it/);
      assert.doesNotMatch(check.stdout, /configuration OK/);
      const plain = await runIn(topo.server.name, asNobody(stage, ['check-config', '--config', file]));
      assert.equal(plain.code, 0, 'without --firewall the firewall is not checked');
      const run = await runIn(topo.server.name, asNobody(stage, ['run', '--config', file]));
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.match(run.stderr, /firewall back end \w+ is unavailable: sknock-server runs as uid \d+ without CAP_NET_ADMIN/);
      const all = run.stdout + run.stderr;
      assert.doesNotMatch(all, /netlink|Operation not permitted|could not undo/);
      assert.doesNotMatch(await topo.server.rulesetSnapshot(), /sknock|SKNOCK/, 'nothing was set up');
    });
  }

  it('a setup that fails because nft may not run claims no undo failure', async () => {
    // An nft that may not do anything (as nft says without CAP_NET_ADMIN), found first on PATH.
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'nft'), '#!/bin/sh\necho "netlink: Error: cache initialization failed: Operation not permitted" >&2\nexit 1\n', { mode: 0o755 });
    const file = config('fake.ini', 'firewallPolicy = drop\nlogLevel = debug\n');
    const run = await runIn(topo.server.name, [process.execPath, BIN, 'run', '--config', file], { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}` });
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.doesNotMatch(run.stdout, /could not undo/);
    assert.match(run.stderr, /firewall back end nftables could not be set up: .*check-config --firewall says what is missing/);
    assert.match(run.stdout, /nothing to undo: the firewall tools could not run/);
  });
});
