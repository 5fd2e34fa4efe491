import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { levelStreams, syslogPriority } from '../src/logging/level-streams.js';
import { DaemonProcess, freeUdpPort, SERVER_BIN, writeConfigFile } from './support/daemon-process.js';
import { knockFixtures, makeKnock, PFX_PASSWORD, type KnockFixtures } from './support/knock-fixtures.js';
import { sendOnce } from './support/udp.js';

/**
 * The daemon's log as journald and log pipelines read it, from a real `sknock-server run`:
 * warn and above on stderr, info and below on stdout; accepts and rejects with `subject`,
 * `serial`, `sourceAddress` and `sourcePort` (an IPv6 source's address and port apart); a
 * revoked certificate's knock is a warning; grant open/close at info; no secret. Connected to
 * journald (JOURNAL_STREAM naming its output), each line carries its syslog priority prefix.
 */

let f: KnockFixtures;
let dir: string;

function configLines(port: number): string[] {
  return [
    'serverPFXFile = server.pfx',
    `PFXPasswd = ${PFX_PASSWORD}`,
    'crlFile = crl.der',
    'firewallBackend = memory',
    'listenAddress = ::',
    `knockPort = ${port}`,
    'PORT_OPEN_DURATION_IN_SECONDS = 1',
    'controlSocket = none',
  ];
}

before(async () => {
  f = await knockFixtures();
  dir = mkdtempSync(join(tmpdir(), 'sknock-logs-'));
  writeFileSync(join(dir, 'server.pfx'), f.serverPfx, { mode: 0o600 });
  writeFileSync(join(dir, 'crl.der'), f.crl);
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('log streams', () => {
  it('warnings on stderr with subject, serial, sourceAddress, sourcePort; info on stdout; IPv6 sources apart', async () => {
    const port = await freeUdpPort('::');
    const daemon = await DaemonProcess.start(writeConfigFile(dir, 'logs.ini', configLines(port)));
    try {
      await sendOnce(makeKnock(f, f.alice, { port: 2000 }), port, '127.0.0.1');
      await sendOnce(makeKnock(f, f.alice, { port: 3000, address: '::1' }), port, '::1');
      await sendOnce(makeKnock(f, f.revoked, { address: '::1' }), port, '::1');
      await sendOnce(makeKnock(f, f.expired), port, '127.0.0.1');
      await daemon.waitFor((l) => l['event'] === 'reject' && l['code'] === 'revoked', 'the revoked reject');
      await daemon.waitFor((l) => l['event'] === 'reject' && l['code'] === 'expired', 'the expired reject');
      await daemon.waitForCount((l) => l['event'] === 'close' && l['reason'] === 'expired', 2, 'both grants expire (1 s)', 8000);
    } finally {
      assert.equal(await daemon.stop(), 0);
    }
    const out = daemon.stdout.lines;
    const err = daemon.stderr.lines;
    console.log(`--- stderr (what journalctl -p warning shows)\n${daemon.stderr.raw}`);
    assert.ok(out.length > 0 && err.length > 0);
    assert.deepEqual([...new Set(out.map((l) => l['level']))].filter((l) => !['info', 'debug', 'trace'].includes(String(l))), [], 'only info and below on stdout');
    assert.deepEqual([...new Set(err.map((l) => l['level']))].filter((l) => !['warn', 'error', 'fatal'].includes(String(l))), [], 'only warn and above on stderr');

    const revoked = err.find((l) => l['event'] === 'reject' && l['code'] === 'revoked');
    assert.ok(revoked, daemon.output);
    assert.equal(revoked['level'], 'warn');
    assert.equal(revoked['subject'], 'CN=gone');
    assert.equal(revoked['serial'], f.revoked.serial);
    assert.equal(revoked['sourceAddress'], '::1');
    assert.ok(Number.isInteger(revoked['sourcePort']) && Number(revoked['sourcePort']) > 0);

    const expired = out.find((l) => l['event'] === 'reject' && l['code'] === 'expired');
    assert.equal(expired?.['level'], 'info');
    assert.equal(expired?.['subject'], 'CN=old');
    assert.equal(expired?.['serial'], f.expired.serial);
    assert.equal(expired?.['sourceAddress'], '127.0.0.1');

    const accepts = out.filter((l) => l['event'] === 'accept');
    assert.deepEqual(accepts.map((l) => [l['sourceAddress'], typeof l['sourcePort'], l['subject'], l['serial'], l['level']]), [
      ['127.0.0.1', 'number', 'CN=alice', f.alice.serial, 'info'],
      ['::1', 'number', 'CN=alice', f.alice.serial, 'info'],
    ]);
    for (const l of [...accepts, revoked, expired]) assert.equal(l?.['source'], undefined, 'no ambiguous addr:port field');

    const opens = out.filter((l) => l['event'] === 'open');
    const closes = out.filter((l) => l['event'] === 'close');
    assert.deepEqual(opens.map((l) => [(l['grant'] as { address: string }).address, l['level']]), [['127.0.0.1', 'info'], ['::1', 'info']]);
    assert.deepEqual(closes.map((l) => l['level']), ['info', 'info']);
    assert.equal(`${daemon.stdout.raw}${daemon.stderr.raw}`.includes(PFX_PASSWORD), false, 'the PKCS#12 password is never logged');
  });

  it('connected to journald (JOURNAL_STREAM), each line starts with its syslog priority: <4> warn, <6> info', async () => {
    const port = await freeUdpPort('::');
    const logFile = join(dir, 'journal.log');
    const fd = openSync(logFile, 'w');
    const st = fstatSync(fd, { bigint: true });
    const child = spawn(process.execPath, [SERVER_BIN, 'run', '--config', writeConfigFile(dir, 'journal.ini', configLines(port))], {
      stdio: ['ignore', fd, fd],
      env: { ...process.env, JOURNAL_STREAM: `${st.dev}:${st.ino}` },
    });
    closeSync(fd);
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const waitFor = async (re: RegExp): Promise<void> => {
      const deadline = Date.now() + 10_000;
      while (!re.test(readFileSync(logFile, 'utf8'))) {
        if (Date.now() > deadline) throw new Error(`no ${String(re)} in:\n${readFileSync(logFile, 'utf8')}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    try {
      await waitFor(/"event":"listening"/);
      await sendOnce(makeKnock(f, f.revoked, { address: '::1' }), port, '::1');
      await sendOnce(makeKnock(f, f.alice), port, '127.0.0.1');
      await waitFor(/"code":"revoked"/);
      await waitFor(/"event":"accept"/);
    } finally {
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      clearTimeout(killer);
    }
    const lines = readFileSync(logFile, 'utf8').trim().split('\n');
    for (const line of lines) {
      const m = /^<(\d)>(\{.*\})$/.exec(line);
      assert.ok(m, `a priority prefix and a JSON line: ${line}`);
      const level = (JSON.parse(m[2] as string) as { level: string }).level;
      assert.equal(Number(m[1]), { fatal: 2, error: 3, warn: 4, info: 6, debug: 7, trace: 7 }[level], line);
    }
    // journalctl -p warning: priorities 0 to 4.
    const warnings = lines.filter((l) => /^<[0-4]>/.test(l));
    console.log(`--- journald priority <=4 (journalctl -p warning)\n${warnings.join('\n')}`);
    assert.ok(warnings.some((l) => l.includes('"code":"revoked"') && l.includes('"sourceAddress":"::1"')));
    assert.ok(warnings.every((l) => !l.includes('"event":"accept"')));
  });

  it('levelStreams sends each line by its pino level', () => {
    const low: string[] = [];
    const high: string[] = [];
    const d = levelStreams({ low: { write: (s: string) => low.push(s) }, high: { write: (s: string) => high.push(s) }, prefixHigh: true }) as unknown as { lastLevel: number; write(s: string): void };
    for (const [level, text] of [[10, 't'], [30, 'i'], [40, 'w'], [50, 'e'], [60, 'f']] as const) {
      d.lastLevel = level;
      d.write(text);
    }
    assert.deepEqual(low, ['t', 'i']);
    assert.deepEqual(high, ['<4>w', '<3>e', '<2>f']);
    assert.deepEqual([10, 20, 30, 40, 50, 60].map(syslogPriority), [7, 7, 6, 4, 3, 2]);
  });
});
