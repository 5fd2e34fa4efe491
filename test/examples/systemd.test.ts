/**
 * The one systemd unit (packages/sknock-server/systemd/sknock-server.service, installed with
 * `sknock-server install-unit`) and examples/systemd/config.ini, with their /etc/sknock and
 * /var/lib/sknock paths pointed at fresh credentials made with the `sknock-ca` command: the
 * config passes `sknock-server check-config`, the unit passes `systemd-analyze verify` and
 * rates an exposure of at most 2.5 in `systemd-analyze security --offline=yes`, and the
 * unit's ExecStartPre and ExecStart command lines run (nftables, in a network namespace).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTopology, netnsSkipReason, type Topology } from '../support/netns.js';
import { caMain, examplesDir, repoRoot, run, serverMain, show } from './run-script.js';

/** The one unit, as shipped. */
const shippedUnit = readFileSync(join(repoRoot, 'packages/sknock-server/systemd/sknock-server.service'), 'utf8');
const configText = readFileSync(`${examplesDir}systemd/config.ini`, 'utf8');
/** Highest `systemd-analyze security` exposure accepted (it was 4.0 before the unit was hardened). */
const MAX_EXPOSURE = 2.5;

/** `Key=value` lines of one section of `unitText` (continuation lines are not used in it). */
function directives(unitText: string, section: string): [string, string][] {
  const out: [string, string][] = [];
  let current = '';
  for (const line of unitText.split('\n')) {
    const header = /^\[(.+)\]$/.exec(line.trim());
    if (header) current = header[1] as string;
    else if (current === section && /^[A-Za-z]+=/.test(line)) {
      const i = line.indexOf('=');
      out.push([line.slice(0, i), line.slice(i + 1)]);
    }
  }
  return out;
}

const netnsSkip = await netnsSkipReason({ tools: ['nft'] });
const systemdAnalyze = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0;

describe('examples/systemd', () => {
  let dir: string;
  let etc: string;
  let config: string;
  /** The unit `sknock-server install-unit` wrote for this checkout and `config`. */
  let unitText: string;
  let unitFile: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sknock-systemd-'));
    etc = join(dir, 'etc-sknock');
    const varLib = join(dir, 'var-lib-sknock');
    mkdirSync(etc);
    mkdirSync(varLib);
    // The operator's steps, with the sknock-ca command: a CA, the server's PKCS#12, a CRL.
    const ca = join(dir, 'ca');
    writeFileSync(join(dir, 'pass'), 'server password\n', { mode: 0o600 });
    writeFileSync(join(dir, 'ca-pass'), 'CA key passphrase\n', { mode: 0o600 });
    const caPass = ['--ca-passphrase-file', join(dir, 'ca-pass')];
    for (const args of [
      ['init', '--dir', ca, '--name', 'systemd example CA', ...caPass],
      ['issue-server', '--dir', ca, '--name', 'knock.example.org', '--passphrase-file', join(dir, 'pass'), ...caPass],
      ['crl', '--dir', ca, ...caPass],
    ]) {
      const r = await run(process.execPath, [caMain, ...args]);
      assert.equal(r.code, 0, `sknock-ca ${args[0]}: ${show(r)}`);
    }
    copyFileSync(join(ca, 'servers', 'knock.example.org.pfx'), join(etc, 'server.pfx'));
    copyFileSync(join(dir, 'pass'), join(etc, 'server.pfx.pass'));
    copyFileSync(join(ca, 'crl.der'), join(varLib, 'crl.der'));
    config = join(etc, 'config.ini');
    writeFileSync(config, configText.replaceAll('/etc/sknock/', `${etc}/`).replaceAll('/var/lib/sknock/', `${varLib}/`));
    unitFile = join(dir, 'sknock-server.service');
    const r = await run(process.execPath, [serverMain, 'install-unit', '--config', config, '--output', unitFile]);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /wrote .*sknock-server\.service; now run: systemctl daemon-reload && systemctl enable --now sknock-server/);
    unitText = readFileSync(unitFile, 'utf8');
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('config.ini names only the standard paths that the test replaces', () => {
    const paths = [...configText.matchAll(/^\s*(?:serverPFXFile|PFXPasswdFile|crlFile)\s*=\s*(\S+)/gm)].map((m) => m[1]);
    assert.deepEqual(paths, ['/etc/sknock/server.pfx', '/etc/sknock/server.pfx.pass', '/var/lib/sknock/crl.der']);
  });

  it('passes `sknock-server check-config` with fresh credentials', async () => {
    const r = await run(process.execPath, [serverMain, 'check-config', '--config', config]);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /configuration OK/);
    assert.equal(r.stderr, '', 'no warnings expected');
  });

  it('check-config names the problem in a broken copy (so the check above can fail)', async () => {
    const broken = join(etc, 'broken.ini');
    writeFileSync(broken, readFileSync(config, 'utf8').replace('PORT_OPEN_DURATION_IN_SECONDS = 30', 'PORT_OPEN_DURATION_IN_SECONDS = soon'));
    const r = await run(process.execPath, [serverMain, 'check-config', '--config', broken]);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /PORT_OPEN_DURATION_IN_SECONDS/);
  });

  it('there is one unit: the package ships it, examples/ has none', () => {
    assert.throws(() => readFileSync(`${examplesDir}systemd/sknock-server.service`), /ENOENT/);
    const commands = directives(shippedUnit, 'Service').filter(([k]) => k.startsWith('Exec')).map(([, v]) => v.split(' ')[0]);
    assert.deepEqual(commands, ['sknock-server', 'sknock-server', 'sknock-server', '/bin/kill'], 'no hard-coded prefix');
  });

  it('install-unit points every sknock-server command at this node and this package, with that config', () => {
    const command = `${process.execPath} ${serverMain}`;
    const service = directives(unitText, 'Service');
    const exec = (key: string): string[] => service.filter(([k]) => k === key).map(([, v]) => v);
    assert.deepEqual(exec('ExecStartPre'), [`${command} check-config --firewall --config ${config}`]);
    assert.deepEqual(exec('ExecStart'), [`${command} run --config ${config}`]);
    assert.deepEqual(exec('ExecReload'), [`${command} check-config --config ${config}`, '/bin/kill -HUP $MAINPID']);
    assert.deepEqual(exec('Type'), ['exec']);
    assert.deepEqual(exec('User'), ['sknock']);
    // Documentation= names the README of this installation (the package beside server-main.js).
    assert.deepEqual(
      directives(unitText, 'Unit').filter(([k]) => k === 'Documentation').map(([, v]) => v),
      [`file:${resolve(dirname(serverMain), '../../../README.md')}`],
    );
    // Everything else as shipped.
    const strip = (t: string): string[] => t.split('\n').filter((l) => !/^(Exec(StartPre|Start|Reload)|Documentation)=/.test(l));
    assert.deepEqual(strip(unitText), strip(shippedUnit));
  });

  it('install-unit refuses to replace a unit that differs without --force, and says when it is up to date', async () => {
    const again = await run(process.execPath, [serverMain, 'install-unit', '--config', config, '--output', unitFile]);
    assert.equal(again.code, 0, show(again));
    assert.match(again.stdout, /is up to date/);
    const other = await run(process.execPath, [serverMain, 'install-unit', '--config', join(etc, 'other.ini'), '--output', unitFile]);
    assert.equal(other.code, 1, show(other));
    assert.match(other.stderr, /exists and differs .*--force/);
    assert.equal(readFileSync(unitFile, 'utf8'), unitText, 'left as it was');
    const printed = await run(process.execPath, [serverMain, 'install-unit', '--config', config, '--output', '-']);
    assert.equal(printed.stdout, unitText);
  });

  it('passes `systemd-analyze verify`', { skip: systemdAnalyze ? false : 'systemd-analyze is not installed' }, async () => {
    const r = await run('systemd-analyze', ['verify', unitFile]);
    assert.equal(r.code, 0, show(r));
    const aboutUnit = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes('sknock-server.service'));
    assert.deepEqual(aboutUnit, [], 'systemd-analyze found problems in the unit');
  });

  it(`rates an exposure of at most ${MAX_EXPOSURE} in \`systemd-analyze security --offline=yes\``, { skip: systemdAnalyze ? false : 'systemd-analyze is not installed' }, async () => {
    const r = await run('systemd-analyze', ['security', '--offline=yes', '--no-pager', unitFile]);
    const m = /Overall exposure level for sknock-server\.service: (\d+(?:\.\d+)?)/.exec(`${r.stdout}${r.stderr}`);
    assert.ok(m, `no exposure level in: ${show(r)}`);
    const exposure = Number(m[1]);
    console.log(`FIGURE systemd-analyze security exposure of sknock-server.service: ${exposure}`);
    assert.ok(exposure <= MAX_EXPOSURE, `exposure ${exposure} > ${MAX_EXPOSURE}:\n${r.stdout}`);
  });

  describe('the ExecStart command line, in a network namespace', { skip: netnsSkip }, () => {
    let topo: Topology;
    before(async () => {
      topo = await createTopology({ prefix: 'sknocksd', startAgents: false });
    });
    after(async () => {
      await topo?.cleanup();
    });

    it('starts the daemon with nftables and stops it cleanly on SIGTERM', async () => {
      const service = directives(unitText, 'Service');
      const argvOf = (key: string): string[] => (service.find(([k]) => k === key)?.[1] ?? '').split(' ');
      const pre = argvOf('ExecStartPre');
      const check = await topo.server.exec(pre[0] as string, pre.slice(1), { allowFailure: true });
      assert.equal(check.code, 0, `ExecStartPre: ${check.stdout}${check.stderr}`);
      assert.match(check.stdout, /configuration OK \(and the firewall can be driven\)/);
      const argv = argvOf('ExecStart');
      const daemon = topo.server.spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
      let log = '';
      daemon.stdout?.on('data', (c: Buffer) => (log += c.toString()));
      daemon.stderr?.on('data', (c: Buffer) => (log += c.toString()));
      const deadline = Date.now() + 30_000;
      while (!log.includes('"event":"listening"') && daemon.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.match(log, /"event":"listening"/, log);
      assert.match(log, /"policy":"drop"/, log);
      const table = await topo.server.exec('nft', ['list', 'table', 'inet', 'sknock']);
      assert.match(table.stdout, /tcp dport \{? ?22 ?\}? accept/, table.stdout); // emergencyAccessPorts = tcp/22
      const exited = once(daemon, 'exit');
      daemon.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      assert.equal(code, 0, log);
      const after = await topo.server.exec('nft', ['list', 'tables']);
      assert.doesNotMatch(after.stdout, /sknock/, 'the daemon should remove its table when it stops');
    });
  });
});
