/**
 * The server README's install steps, run verbatim: the two shell blocks marked
 * `<!-- install: ca -->` and `<!-- install: server -->` are read from
 * packages/sknock-server/README.md (so the README cannot drift from what works) and run by
 * bash, as root, inside the server namespace of a test network and inside a scratch root
 * (a mount namespace where /etc, /usr/local and /var/lib are overlays and /run a fresh
 * tmpfs: useradd, install and the unit really write there, and it all vanishes after).
 * Stand-ins, on PATH first: `npm` (install -g links this checkout, `npm root -g` names where)
 * and `systemctl` (systemctl-standin.ts: runs the unit's Exec lines under its user,
 * capabilities, seccomp filter and mount sandbox, as far as that can be had without systemd).
 * The CA block runs on a pseudo-terminal (`script`), its passphrase prompts answered.
 *
 * Then, from client namespaces: the emergency port (tcp/22) answers, the service port
 * (tcp/5432) is dropped until alice knocks with the certificate the CA block made, and only
 * for her; the daemon runs as `sknock` with exactly the unit's capabilities, no_new_privs and
 * a seccomp filter; `systemctl reload` reloads; the same again with firewallBackend =
 * iptables; `systemctl stop` removes every rule.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createTopology, netnsSkipReason, type Namespace, type Topology } from '../support/netns.js';
import { repoRoot } from '../examples/run-script.js';

const README = join(repoRoot, 'packages/sknock-server/README.md');
/** Where the scratch root sees this checkout (so that paths do not depend on where it is cloned). */
const CHECKOUT = '/usr/local/lib/sknock-checkout';
const STANDIN = fileURLToPath(new URL('./systemctl-standin.js', import.meta.url)).replace(repoRoot.replace(/\/$/, ''), CHECKOUT);
/**
 * The node the installed commands run with. One under the repository (Node 22/24 from
 * .cache/runtimes) is reached through CHECKOUT, as the daemon's user cannot enter a clone in
 * a folder others cannot read (mode 0700).
 */
const NODE = process.execPath.startsWith(repoRoot) ? process.execPath.replace(repoRoot.replace(/\/$/, ''), CHECKOUT) : process.execPath;
const CA_PASS = 'correct horse battery staple CA';
const ALICE_PASS = 'alice passphrase';

/** The shell block after `<!-- install: NAME -->` in the README. */
export function installBlock(readme: string, name: string): string {
  const m = new RegExp(`<!-- install: ${name} -->\\s*\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(readme);
  if (!m) throw new Error(`no <!-- install: ${name} --> shell block in the README`);
  return m[1] as string;
}

function seccompReason(): string | false {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import seccomp'], { stdio: 'ignore' });
  return r.status === 0 ? false : 'python3-seccomp is not installed (apt-get install python3-seccomp)';
}

const TOOLS = ['setpriv', 'unshare', 'script', 'useradd', 'openssl', 'mknod'];
const missing = TOOLS.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0);
const skip = (await netnsSkipReason({ tools: ['nft', 'iptables'] })) || seccompReason() || (missing.length > 0 ? `${missing.join(', ')} not installed` : false);

/** The scratch root: one bash inside the server namespace and a private mount namespace, driven line by line. */
class ScratchRoot {
  readonly child: ChildProcess;
  output = '';
  stderr = '';
  #waiters: Array<() => void> = [];

  constructor(ns: Namespace, runner: string, work: string) {
    this.child = ns.spawn('unshare', ['--mount', '--propagation', 'private', 'bash', runner, work, repoRoot, CHECKOUT], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (d: Buffer) => {
      this.output += d.toString('utf8');
      for (const w of this.#waiters.splice(0)) w();
    });
    this.child.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString('utf8');
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  /** Waits until `test(output)` holds (bounded). */
  async until(test: (out: string) => boolean, what: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!test(this.output)) {
      if (Date.now() > deadline || this.child.exitCode !== null) throw new Error(`scratch root: no ${what}; stdout:\n${this.output.slice(-4000)}\nstderr:\n${this.stderr.slice(-4000)}`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  #n = 0;
  /** Runs `script` (a file in `dir`) with bash -ex; `answer` is asked for each new output chunk when on a pseudo-terminal. */
  async run(dir: string, script: string, options: { pty?: boolean; answer?: (recent: string) => string | undefined; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    const id = ++this.#n;
    const file = join(dir, `.step-${id}.sh`);
    writeFileSync(file, script);
    const outStart = this.output.length;
    const errStart = this.stderr.length;
    this.child.stdin?.write(`${options.pty ? 'PTY' : 'RUN'} ${id} ${dir} ${file}\n`);
    const done = new RegExp(`@@DONE ${id} (\\d+)`);
    let answered = outStart;
    const deadline = Date.now() + (options.timeoutMs ?? 120_000);
    while (!done.test(this.output.slice(outStart))) {
      if (options.answer !== undefined && this.output.length > answered) {
        const recent = this.output.slice(answered);
        const reply = options.answer(recent);
        if (reply !== undefined) {
          answered = this.output.length;
          this.child.stdin?.write(`${reply}\r`);
        }
      }
      if (Date.now() > deadline || this.child.exitCode !== null) throw new Error(`scratch root: step ${id} did not finish; stdout:\n${this.output.slice(outStart)}\nstderr:\n${this.stderr.slice(errStart)}`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    const stdout = this.output.slice(outStart).replace(done, '');
    return { code: Number(done.exec(this.output.slice(outStart))?.[1]), stdout, stderr: this.stderr.slice(errStart) };
  }

  close(): void {
    this.child.stdin?.end();
  }
}

const RUNNER = `set -euo pipefail
work=$1 repo=$2 checkout=$3
for d in /etc /usr/local /var/lib; do
  n=$(echo "$d" | tr / _)
  mkdir -p "$work/overlay/$n/upper" "$work/overlay/$n/work"
  mount -t overlay overlay -o "lowerdir=$d,upperdir=$work/overlay/$n/upper,workdir=$work/overlay/$n/work" "$d"
done
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p "$checkout"
mount --bind "$repo" "$checkout"
export PATH="$work/standin-bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export HOME=/root
echo "@@READY"
while IFS= read -r line; do
  set -- $line
  if [ "$1" = PTY ]; then
    (cd "$3" && script -qec "bash -ex -o pipefail $4" /dev/null) && rc=0 || rc=$?
  else
    (cd "$3" && bash -ex -o pipefail "$4") && rc=0 || rc=$?
  fi
  echo "@@DONE $2 $rc"
done
`;

/**
 * `npm install -g @sknock/server`, `npm install -g @sknock/ca` and `npm root -g`, as npm
 * would do them with the prefix /usr/local.
 */
const NPM_STANDIN = `#!/bin/sh
# stand-in for npm: the package from this checkout instead of the registry
set -e
install_package() { # NAME FOLDER BIN:PATH
  mkdir -p /usr/local/lib/node_modules/@sknock /usr/local/bin
  ln -sfn ${CHECKOUT}/packages/$2 /usr/local/lib/node_modules/@sknock/$1
  printf '#!/bin/sh\\nexec %s /usr/local/lib/node_modules/@sknock/%s/%s "$@"\\n' "${NODE}" "$1" "\${3#*:}" > "/usr/local/bin/\${3%%:*}"
  chmod 755 "/usr/local/bin/\${3%%:*}"
  echo "added 1 package (stand-in: ${CHECKOUT}/packages/$2)"
}
if [ "$1 $2 $3" = "install -g @sknock/server" ]; then
  install_package server sknock-server sknock-server:dist/src/cli/server-main.js
elif [ "$1 $2 $3" = "install -g @sknock/ca" ]; then
  install_package ca sknock-ca sknock-ca:dist/src/cli/main.js
elif [ "$1 $2" = "root -g" ]; then
  echo /usr/local/lib/node_modules
else
  echo "npm stand-in: $* is not emulated" >&2; exit 1
fi
`;

describe('the server README install steps, verbatim', { skip }, () => {
  let topo: Topology;
  let work: string;
  let root: ScratchRoot;
  let caDir: string;
  let serverDir: string;
  const readme = readFileSync(README, 'utf8');

  before(async () => {
    topo = await createTopology({ prefix: 'sknockinst', clients: 2 });
    work = mkdtempSync(join(tmpdir(), 'sknock-install-'));
    chmodSync(work, 0o755);
    caDir = join(work, 'ca-machine');
    serverDir = join(work, 'server');
    mkdirSync(caDir);
    mkdirSync(serverDir);
    mkdirSync(join(work, 'standin-bin'));
    writeFileSync(join(work, 'standin-bin', 'npm'), NPM_STANDIN, { mode: 0o755 });
    writeFileSync(join(work, 'standin-bin', 'systemctl'), `#!/bin/sh\nexec ${NODE} ${STANDIN} "$@"\n`, { mode: 0o755 });
    writeFileSync(join(work, 'runner.sh'), RUNNER);
    root = new ScratchRoot(topo.server, join(work, 'runner.sh'), work);
    await root.until((o) => o.includes('@@READY'), 'ready line');
  });

  after(async () => {
    if (root) {
      await root.run(serverDir, 'systemctl stop sknock-server\n').catch(() => undefined);
      root.close();
    }
    await topo?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('the CA block runs on a terminal, its prompts answered', async () => {
    const block = installBlock(readme, 'ca');
    let last = '';
    const r = await root.run(caDir, block, {
      pty: true,
      answer: (recent) => {
        if (/Same passphrase again: $/.test(recent)) return last;
        if (/Passphrase for (the new )?(the )?CA key [^\n]*: $/.test(recent)) return (last = CA_PASS);
        if (/Passphrase for clients\/alice\.pfx: $/.test(recent)) return (last = ALICE_PASS);
        return undefined;
      },
    });
    console.log(`--- install: ca (as it ran)\n${r.stdout.replaceAll('\r', '')}`);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // The files the README says to copy to the server (the test's scp).
    for (const f of ['sknock-ca/servers/host.example.pfx', 'host.example.pass', 'sknock-ca/crl.pem']) copyFileSync(join(caDir, f), join(serverDir, f.split('/').pop() as string));
    assert.match(readFileSync(join(caDir, 'sknock-ca/ca.key'), 'utf8'), /BEGIN ENCRYPTED PRIVATE KEY/, 'the CA key is encrypted with the passphrase typed');
  });

  it('the server block runs as root and starts the daemon under the unit', async () => {
    const r = await root.run(serverDir, installBlock(readme, 'server'));
    console.log(`--- install: server (as it ran)\n${r.stderr}${r.stdout}`);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /configuration OK \(and the firewall can be driven\)/);
    assert.doesNotMatch(r.stderr, /warning/, 'check-config has nothing to warn of');
    assert.match(r.stdout, /Active: active \(running\)/);
    await waitForJournal(/"event":"listening"/);
  });

  const journal = async (): Promise<string> => (await root.run(serverDir, 'cat /run/standin/sknock-server.journal\n')).stdout;
  async function waitForJournal(pattern: RegExp, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = await journal();
      if (pattern.test(text)) return text;
      if (Date.now() > deadline) throw new Error(`the journal never showed ${pattern}:\n${text.slice(-4000)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async function knock(from: Namespace, port: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const clientBin = join(repoRoot, 'packages/sknock-client/dist/src/cli/main.js');
    writeFileSync(join(work, 'alice.pass'), `${ALICE_PASS}\n`, { mode: 0o600 });
    return from.exec(
      process.execPath,
      [clientBin, 'knock', topo.server.ipv4, '-p', String(port), '--pfx', join(caDir, 'sknock-ca/clients/alice.pfx'), '--passphrase-file', join(work, 'alice.pass'), '--server-cert', join(caDir, 'sknock-ca/servers/host.example.cer'), '--timeout', '8'],
      { allowFailure: true, timeoutMs: 20_000 },
    );
  }

  async function probeService(backend: string): Promise<void> {
    const [alice, bob] = topo.clients as [Namespace, Namespace];
    const ssh = await topo.server.listenTcp(22);
    const db = await topo.server.listenTcp(5432);
    try {
      assert.equal(await alice.probeTcp(topo.server.ipv4, 22), 'open', `${backend}: the emergency port answers`);
      assert.equal(await alice.probeTcp(topo.server.ipv4, 5432), 'timeout', `${backend}: the service is dropped before a knock`);
      const k = await knock(alice, 5432);
      assert.equal(k.code, 0, `${backend}: sknock knock: ${k.stdout}${k.stderr}`);
      assert.equal(await alice.probeTcp(topo.server.ipv4, 5432), 'open', `${backend}: open for alice after her knock`);
      assert.equal(await bob.probeTcp(topo.server.ipv4, 5432), 'timeout', `${backend}: still dropped for anyone else`);
      assert.equal(await bob.probeTcp(topo.server.ipv4, 22), 'open');
    } finally {
      await ssh.close();
      await db.close();
    }
  }

  it('the emergency port stays reachable and the service port is closed until a knock (nftables)', async () => {
    await probeService('nftables');
    const ruleset = await topo.server.nftRuleset();
    assert.match(ruleset, /table inet sknock/);
  });

  it('the admin commands reach the daemon through /run/sknock/control.sock (RuntimeDirectory, mode 0660, group sknock)', async () => {
    const r = await root.run(serverDir, 'stat -c "%a %U %G" /run/sknock/control.sock\nsknock-server status\nsknock-server grants --json\n');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    console.log(`--- sknock-server status (as installed)\n${r.stdout}`);
    assert.match(r.stdout, /^660 sknock sknock$/m);
    assert.match(r.stdout, /^firewall\s+nftables, policy drop/m);
    assert.match(r.stdout, /^knocks\s+\d+ received, 1 accepted/m);
  });

  it('the daemon runs with the unit\'s user, capabilities, no_new_privs and seccomp filter', async () => {
    const r = await root.run(serverDir, 'pid=$(cat /run/standin/sknock-server.pid)\ncat /proc/$pid/status\ncat /proc/$pid/cmdline | tr "\\0" " "; echo\n');
    const status = r.stdout;
    const field = (name: string): string => new RegExp(`^${name}:\\s*(.+)$`, 'm').exec(status)?.[1]?.trim() ?? '';
    const uid = spawnSync('sh', ['-c', `grep '^sknock:' ${join(work, 'overlay/_etc/upper/passwd')} | cut -d: -f3`], { encoding: 'utf8' }).stdout.trim();
    assert.ok(uid !== '' && uid !== '0', `sknock has a uid: ${uid}`);
    assert.equal(field('Uid').split(/\s+/)[0], uid, 'runs as sknock');
    // CAP_NET_BIND_SERVICE (10), CAP_NET_ADMIN (12), CAP_NET_RAW (13): 0x3400.
    for (const set of ['CapEff', 'CapPrm', 'CapAmb', 'CapBnd']) assert.equal(BigInt(`0x${field(set)}`), 0x3400n, `${set}: ${field(set)}`);
    assert.equal(field('NoNewPrivs'), '1');
    assert.equal(field('Seccomp'), '2', 'a seccomp filter is in force');
    assert.match(r.stdout, /server-main\.js run --config \/etc\/sknock\/config\.ini/);
    const text = await journal();
    assert.match(text, /standin: not emulated: /);
    console.log(`--- the stand-in's list of unit settings it did not emulate: ${/standin: not emulated: (.*)/.exec(text)?.[1]}`);
  });

  it('systemctl reload checks the config and reloads', async () => {
    const r = await root.run(serverDir, 'systemctl reload sknock-server\n');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await waitForJournal(/configuration reloaded/);
    // A broken edit fails the reload (ExecReload's check-config) and the daemon keeps running.
    const broken = await root.run(serverDir, "cp /etc/sknock/config.ini /root/config.ini.good\nsed -i 's/^PORT_OPEN_DURATION_IN_SECONDS = .*/PORT_OPEN_DURATION_IN_SECONDS = soon/' /etc/sknock/config.ini\nif systemctl reload sknock-server; then exit 1; fi\ncp /root/config.ini.good /etc/sknock/config.ini\nsystemctl is-active sknock-server\n");
    assert.equal(broken.code, 0, broken.stdout + broken.stderr);
  });

  it('the same under iptables (firewallBackend = iptables, systemctl restart)', async () => {
    const r = await root.run(serverDir, "sed -i 's/^firewallBackend = nftables$/firewallBackend = iptables/' /etc/sknock/config.ini\ngrep '^firewallBackend = iptables$' /etc/sknock/config.ini\nsystemctl restart sknock-server\n");
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await waitForJournal(/"event":"listening"[^\n]*"firewall":"iptables"/);
    assert.doesNotMatch(await topo.server.nftRuleset(), /table inet sknock/, 'the nftables table went with the nftables daemon');
    await probeService('iptables');
    assert.match((await topo.server.exec('iptables-save')).stdout, /-A INPUT -j SKNOCK/);
  });

  it('systemctl stop removes every rule and the daemon exits 0', async () => {
    const r = await root.run(serverDir, 'systemctl stop sknock-server\ncat /run/standin/sknock-server.status\n');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /status 0/);
    assert.doesNotMatch(await topo.server.rulesetSnapshot(), /sknock|SKNOCK/);
  });
});
