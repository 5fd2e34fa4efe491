import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { knockFixtures, makeKnock, PFX_PASSWORD, type KnockFixtures } from './support/knock-fixtures.js';
import { sendOnce } from './support/udp.js';
import { runWithClosedOutput } from './support/closed-output.js';

/**
 * `sknock-server` as a process: --version/--help, usage errors (exit 2), check-config on a
 * good and a bad file (exit 0/1, the message names the key), a run with the memory back end
 * on loopback with a real PKCS#12 file: a knock accepted and logged, SIGHUP logged as a
 * reload, SIGTERM → exit 0; a start that fails (wrong password) → exit 1 naming the problem.
 */

const BIN = fileURLToPath(new URL('../src/cli/server-main.js', import.meta.url));
const TIMEOUT_MS = 15_000;

let f: KnockFixtures;
let dir: string;

interface Done {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runCli(args: readonly string[]): Promise<Done> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sknock-server ${args.join(' ')} did not finish`));
    }, TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind({ address: '127.0.0.1', port: 0 }, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function writeConfig(name: string, lines: readonly string[]): string {
  const file = join(dir, name);
  writeFileSync(file, ['[DEFAULT]', ...lines, ''].join('\n'));
  return file;
}

function baseConfig(port: number, extra: readonly string[] = []): string[] {
  return [
    'serverPFXFile = server.pfx',
    `PFXPasswd = ${PFX_PASSWORD}`,
    'crlFile = crl.der',
    'firewallBackend = memory',
    'listenAddress = 127.0.0.1',
    `knockPort = ${port}`,
    ...extra,
  ];
}

/** JSON log lines of a running child, with a way to wait for one. */
class LogWatch {
  readonly lines: Record<string, unknown>[] = [];
  #buffer = '';
  #waiters: Array<{ match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = [];
  raw = '';

  constructor(child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (d: Buffer) => {
      this.raw += d.toString();
      this.#buffer += d.toString();
      let nl: number;
      while ((nl = this.#buffer.indexOf('\n')) >= 0) {
        const text = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 1);
        let line: Record<string, unknown>;
        try {
          line = JSON.parse(text) as Record<string, unknown>;
        } catch {
          continue;
        }
        this.lines.push(line);
        for (const w of [...this.#waiters]) {
          if (w.match(line)) {
            this.#waiters.splice(this.#waiters.indexOf(w), 1);
            w.resolve(line);
          }
        }
      }
    });
  }

  wait(match: (l: Record<string, unknown>) => boolean, what: string, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const found = this.lines.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no log line: ${what}\n${this.raw}`)), timeoutMs);
      this.#waiters.push({
        match,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  }
}

before(async () => {
  f = await knockFixtures();
  dir = mkdtempSync(join(tmpdir(), 'sknock-cli-'));
  writeFileSync(join(dir, 'server.pfx'), f.serverPfx);
  writeFileSync(join(dir, 'crl.der'), f.crl);
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('sknock-server command', () => {
  it('--version and --help exit 0', async () => {
    const v = await runCli(['--version']);
    assert.equal(v.code, 0);
    assert.match(v.stdout, /^sknock-server \d+\.\d+\.\d+\n$/);
    const h = await runCli(['--help']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /check-config/);
    assert.match(h.stdout, /SIGHUP/);
  });

  it('bad usage exits 2 with the usage text', async () => {
    const unknownOption = await runCli(['--bogus']);
    assert.equal(unknownOption.code, 2);
    assert.match(unknownOption.stderr, /bogus/);
    assert.match(unknownOption.stderr, /Usage:/);
    const unknownCommand = await runCli(['frobnicate']);
    assert.equal(unknownCommand.code, 2);
    assert.match(unknownCommand.stderr, /unknown command 'frobnicate'/);
    const noValue = await runCli(['--config']);
    assert.equal(noValue.code, 2);
  });

  it('check-config: a good file exits 0, a bad one exits 1 naming the key', async () => {
    const port = await freeUdpPort();
    const good = await runCli(['check-config', '--config', writeConfig('good.ini', baseConfig(port))]);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /OK/);
    const typo = await runCli(['check-config', '--config', writeConfig('typo.ini', baseConfig(port, ['knockPrt = 5']))]);
    assert.equal(typo.code, 1);
    assert.match(typo.stderr, /knockPrt/);
    assert.match(typo.stderr, /line 8/);
    const value = await runCli(['check-config', '--config', writeConfig('value.ini', baseConfig(port, ['PORT_OPEN_DURATION_IN_SECONDS = soon']))]);
    assert.equal(value.code, 1);
    assert.match(value.stderr, /PORT_OPEN_DURATION_IN_SECONDS/);
    const keys = await runCli(['check-config', '--keys']);
    assert.equal(keys.code, 0);
    assert.match(keys.stdout, /TIMESTAMP_THRESHOLD_IN_SECONDS \(default 7\)/);
  });

  it('ends quietly, status 141, when its output is closed: check-config --keys, --help, and run (which stops as on SIGTERM)', async () => {
    for (const args of [['check-config', '--keys'], ['--help'], ['check-config', '--config', writeConfig('closed.ini', baseConfig(await freeUdpPort()))]]) {
      const r = await runWithClosedOutput([process.execPath, BIN, ...args], { close: 'at-once' });
      assert.equal(r.code, 141, `${args.join(' ')}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /EPIPE|Error|at /, `${args.join(' ')}: no stack trace`);
    }
    // The daemon's output is its log: with nobody reading it, it stops cleanly and exits, rather than run unheard.
    const port = await freeUdpPort();
    const run = await runWithClosedOutput([process.execPath, BIN, 'run', '--config', writeConfig('closed-run.ini', baseConfig(port))], { close: 'at-once', timeoutMs: TIMEOUT_MS });
    assert.equal(run.code, 141, run.stderr);
    assert.equal(run.stderr, '');
    const again = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.bind(port, '127.0.0.1', () => resolve());
    });
    again.close(); // the knock port was released: the daemon stopped
  });

  it('runs with a config file and a PKCS#12: knocks accepted and logged, SIGHUP reloads, SIGTERM exits 0', async () => {
    const port = await freeUdpPort();
    const config = writeConfig('run.ini', baseConfig(port));
    const child = spawn(process.execPath, [BIN, 'run', '--config', config], { stdio: ['pipe', 'pipe', 'pipe'] });
    const log = new LogWatch(child);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const killer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    try {
      const listening = await log.wait((l) => l.event === 'listening', 'listening');
      assert.equal(listening.port, port);
      assert.equal(listening.firewall, 'memory');

      await sendOnce(makeKnock(f, f.alice, { port: 3000 }), port, '127.0.0.1');
      const accepted = await log.wait((l) => l.event === 'accept', 'accept');
      assert.match(String(accepted.subject), /alice/);
      assert.equal(accepted.serial, f.alice.serial);
      assert.match(String(accepted.source), /^127\.0\.0\.1:\d+$/);
      assert.equal(accepted.protocol, 'tcp');
      assert.equal(accepted.port, 3000);

      await sendOnce(makeKnock(f, f.revoked), port, '127.0.0.1');
      const rejected = await log.wait((l) => l.event === 'reject', 'reject');
      assert.equal(rejected.code, 'revoked');

      child.kill('SIGHUP');
      await log.wait((l) => l.event === 'reload' && l.msg === 'configuration reloaded', 'reload');

      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
      await log.wait((l) => l.event === 'stopped', 'stopped');
      assert.equal(log.raw.includes(PFX_PASSWORD), false, 'the PKCS#12 password never reaches the log');
      assert.equal(stderr, '');
    } finally {
      clearTimeout(killer);
      child.kill('SIGKILL');
    }
  });

  it('a start that fails exits 1 with one line naming the problem', async () => {
    const port = await freeUdpPort();
    const wrong = writeConfig('wrong.ini', baseConfig(port).map((l) => (l.startsWith('PFXPasswd') ? 'PFXPasswd = not-the-password' : l)));
    const r = await runCli(['run', '--config', wrong]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /serverPFXFile .*server\.pfx.* password/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    const fatal = r.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.event === 'start-failed');
    assert.equal(fatal?.code, 'ERR_SKNOCK_SERVER_CREDENTIALS');
    assert.equal(r.stdout.includes('not-the-password'), false);

    const missing = await runCli(['--config', join(dir, 'nope.ini')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nope\.ini does not exist/);
  });
});
