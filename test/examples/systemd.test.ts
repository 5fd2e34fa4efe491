/**
 * examples/systemd/: the unit and config.ini, with their /etc/sknock and /var/lib/sknock
 * paths pointed at fresh credentials made with the `sknock-ca` command, pass
 * `sknock-server check-config` and `systemd-analyze verify`, and the unit's ExecStart
 * command line runs the daemon (nftables, in a network namespace) and stops it cleanly.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTopology, netnsSkipReason, type Topology } from '../support/netns.js';
import { caMain, examplesDir, run, serverMain, show } from './run-script.js';

const SERVER_BIN = '/usr/local/bin/sknock-server';

const unitText = readFileSync(`${examplesDir}systemd/sknock-server.service`, 'utf8');
const configText = readFileSync(`${examplesDir}systemd/config.ini`, 'utf8');

/** The unit's `Key=value` lines of one section (continuation lines are not used in it). */
function directives(section: string): [string, string][] {
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

  it('the unit runs sknock-server with that config, and checks it before start and reload', () => {
    const service = directives('Service');
    const exec = (key: string): string[] => service.filter(([k]) => k === key).map(([, v]) => v);
    assert.deepEqual(exec('ExecStart'), [`${SERVER_BIN} run --config /etc/sknock/config.ini`]);
    assert.deepEqual(exec('ExecStartPre'), [`${SERVER_BIN} check-config --config /etc/sknock/config.ini`]);
    assert.deepEqual(exec('ExecReload'), [`${SERVER_BIN} check-config --config /etc/sknock/config.ini`, '/bin/kill -HUP $MAINPID']);
    assert.deepEqual(exec('Type'), ['exec']);
    assert.deepEqual(exec('User'), ['sknock']);
  });

  it('passes `systemd-analyze verify` (paths replaced)', { skip: systemdAnalyze ? false : 'systemd-analyze is not installed' }, async () => {
    const unit = join(dir, 'sknock-server.service');
    writeFileSync(unit, unitText.replaceAll(SERVER_BIN, `${process.execPath} ${serverMain}`).replaceAll('/etc/sknock/config.ini', config));
    const r = await run('systemd-analyze', ['verify', unit]);
    assert.equal(r.code, 0, show(r));
    const aboutUnit = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes('sknock-server.service'));
    assert.deepEqual(aboutUnit, [], 'systemd-analyze found problems in the unit');
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
      const [, args = ''] = directives('Service').find(([k]) => k === 'ExecStart') ?? [];
      const argv = args.split(' ').slice(1).map((a) => (a === '/etc/sknock/config.ini' ? config : a)); // drop the binary
      const daemon = topo.server.spawn(process.execPath, [serverMain, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
      let log = '';
      daemon.stdout?.on('data', (c: Buffer) => (log += c.toString()));
      daemon.stderr?.on('data', (c: Buffer) => (log += c.toString()));
      const deadline = Date.now() + 30_000;
      while (!log.includes('"event":"listening"') && daemon.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.match(log, /"event":"listening"/, log);
      assert.match(log, /"policy":"reject"/, log);
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
