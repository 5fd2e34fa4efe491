import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CONTROL_REQUEST_MAX_BYTES } from '../src/control/control-protocol.js';
import { sendControlRequest } from '../src/control/control-client.js';
import { groupId } from '@sknock/protocol/account-names';
import { DaemonProcess, freeUdpPort, runServerCli, writeConfigFile } from './support/daemon-process.js';
import { knockFixtures, makeKnock, PFX_PASSWORD, type KnockFixtures } from './support/knock-fixtures.js';
import { sendOnce } from './support/udp.js';

/**
 * The admin commands against a real `sknock-server run` (memory back end, loopback): grants
 * opened by real knocks are listed (table and --json), one closed, the rest flushed; status
 * shows the counters; the socket is mode 0600 (0660 with a sknock group); bad requests get
 * typed error replies and random bytes on the socket leave the daemon answering. The same
 * commands under nftables and iptables: test/e2e/admin.test.ts.
 */

let f: KnockFixtures;
let dir: string;
let daemon: DaemonProcess;
let config: string;
let socketPath: string;
let port: number;

/** One raw exchange: `bytes` written, every reply line read until the daemon is quiet for `quietMs` or closes. */
function exchange(bytes: Uint8Array | string, quietMs = 150): Promise<{ replies: Record<string, unknown>[]; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s = connect(socketPath);
    let text = '';
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve({ replies: text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>), closed });
    };
    const quiet = (): void => {
      clearTimeout(timer);
      timer = setTimeout(done, quietMs);
    };
    s.on('connect', () => {
      s.write(bytes);
      quiet();
    });
    s.on('data', (d: Buffer) => {
      text += d.toString('utf8');
      quiet();
    });
    s.on('end', () => {
      closed = true;
      done();
    });
    s.on('error', (err) => (closed ? undefined : reject(err)));
  });
}

function errorCode(reply: Record<string, unknown> | undefined): unknown {
  return (reply?.['error'] as { code?: unknown } | undefined)?.code;
}

before(async () => {
  f = await knockFixtures();
  dir = mkdtempSync(join(tmpdir(), 'sknock-admin-'));
  writeFileSync(join(dir, 'server.pfx'), f.serverPfx, { mode: 0o600 });
  writeFileSync(join(dir, 'crl.der'), f.crl);
  port = await freeUdpPort();
  socketPath = join(dir, 'control.sock');
  config = writeConfigFile(dir, 'config.ini', [
    'serverPFXFile = server.pfx',
    `PFXPasswd = ${PFX_PASSWORD}`,
    'crlFile = crl.der',
    'firewallBackend = memory',
    'listenAddress = 127.0.0.1',
    `knockPort = ${port}`,
    'PORT_OPEN_DURATION_IN_SECONDS = 600',
    'controlSocket = control.sock',
  ]);
  daemon = await DaemonProcess.start(config);
  await daemon.waitFor((l) => l['event'] === 'control-listening', 'control-listening');
});

after(async () => {
  await daemon?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('admin commands over the control socket (memory back end)', () => {
  it('the socket is the configured path (relative to the config file), mode 0600 or 0660 with group sknock', () => {
    const st = statSync(socketPath);
    assert.ok(st.isSocket());
    const gid = groupId('sknock');
    assert.equal(st.mode & 0o777, gid === undefined ? 0o600 : 0o660);
    if (gid !== undefined) assert.equal(st.gid, gid);
  });

  it('lists grants opened by real knocks, closes one, flushes the rest; status counts them', async () => {
    const empty = await runServerCli(['grants', '--config', config]);
    assert.equal(empty.code, 0, empty.stderr);
    assert.equal(empty.stdout, 'no grants open\n');

    await sendOnce(makeKnock(f, f.alice, { port: 2000 }), port);
    await sendOnce(makeKnock(f, f.alice, { port: 3000 }), port);
    await sendOnce(makeKnock(f, f.alice, { protocol: 'udp', port: 8000 }), port);
    await sendOnce(makeKnock(f, f.bob, { port: 4000 }), port);
    await sendOnce(makeKnock(f, f.expired, { port: 2000 }), port);
    await daemon.waitForCount((l) => l['event'] === 'open', 4, 'four grants open');
    await daemon.waitFor((l) => l['event'] === 'reject' && l['code'] === 'expired', 'the expired knock');

    const table = await runServerCli(['grants', '--config', config]);
    assert.equal(table.code, 0, table.stderr);
    console.log(`--- sknock-server grants (memory)\n${table.stdout}`);
    const rows = table.stdout.trim().split('\n');
    assert.match(rows[0] ?? '', /^ADDRESS\s+PORT\s+EXPIRES IN\s+EXPIRES AT\s+SUBJECT\s+SERIAL$/);
    assert.equal(rows.length, 5);
    assert.match(rows[1] ?? '', new RegExp(`^127\\.0\\.0\\.1\\s+tcp/2000\\s+(9m|10m)[^C]+CN=alice\\s+${f.alice.serial}$`));
    assert.ok(rows.some((r) => /udp\/8000/.test(r)) && rows.some((r) => new RegExp(`tcp/4000 .*CN=bob\\s+${f.bob.serial}`).test(r)));

    const json = await runServerCli(['grants', '--json', '--config', config]);
    assert.equal(json.code, 0, json.stderr);
    const listed = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(listed.map((g) => `${String(g['protocol'])}/${String(g['port'])}`), ['tcp/2000', 'tcp/3000', 'tcp/4000', 'udp/8000']);
    assert.ok(listed.every((g) => g['address'] === '127.0.0.1' && g['family'] === 4 && Number(g['secondsLeft']) > 590 && typeof g['expiresAt'] === 'string'));

    const status = await runServerCli(['status', '--json', '--config', config]);
    assert.equal(status.code, 0, status.stderr);
    const s = JSON.parse(status.stdout) as Record<string, Record<string, unknown>>;
    assert.equal(s['knocks']?.['received'], 5);
    assert.equal(s['knocks']?.['accepted'], 4);
    assert.equal((s['knocks']?.['rejected'] as Record<string, number>)['expired'], 1);
    assert.equal(s['grants']?.['held'], 4);
    assert.equal(s['firewall']?.['backend'], 'memory');
    const text = await runServerCli(['status', '--config', config]);
    assert.match(text.stdout, /^daemon\s+sknock-server \d+\.\d+\.\d+, pid \d+, running for /m);
    assert.match(text.stdout, /^knocks\s+5 received, 4 accepted, 1 rejected \(expired 1\)$/m);
    assert.match(text.stdout, /^firewall\s+memory, policy none/m);
    assert.match(text.stdout, /CN=sKnock Test CA: CRL number 2 fresh/);

    const closeOne = await runServerCli(['grants', 'close', '127.0.0.1', 'tcp/3000', '--config', config]);
    assert.equal(closeOne.code, 0, closeOne.stderr);
    assert.match(closeOne.stdout, /^closed 1 grant:\n/);
    assert.match(closeOne.stdout, /tcp\/3000/);
    await daemon.waitFor((l) => l['event'] === 'close' && l['reason'] === 'closed' && (l['grant'] as { port?: number })?.port === 3000, 'the close line');
    const after = JSON.parse((await runServerCli(['grants', '--json', '--config', config])).stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(after.map((g) => g['port']), [2000, 4000, 8000]);

    const none = await runServerCli(['grants', 'close', '192.0.2.9', '--config', config]);
    assert.equal(none.code, 0);
    assert.equal(none.stdout, 'no grant matched: nothing closed\n');

    const flush = await runServerCli(['grants', 'flush', '--config', config]);
    assert.equal(flush.code, 0, flush.stderr);
    assert.match(flush.stdout, /^closed 3 grants:\n/);
    assert.equal((await runServerCli(['grants', '--config', config])).stdout, 'no grants open\n');
    assert.equal(JSON.parse((await runServerCli(['status', '--json', '--config', config])).stdout).grants.held, 0);
  });

  it('bad usage exits 2; an unreachable daemon exits 1 with ERR_SKNOCK_CONTROL_UNAVAILABLE', async () => {
    for (const args of [['grants', 'close'], ['grants', 'close', 'not-an-address'], ['grants', 'close', '127.0.0.1', 'tcp/0'], ['grants', 'frob'], ['status', 'extra']]) {
      const r = await runServerCli([...args, '--config', config]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    }
    const other = writeConfigFile(dir, 'other.ini', ['controlSocket = nobody-here.sock']);
    const r = await runServerCli(['status', '--config', other]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /nobody-here\.sock.*does not exist.*ERR_SKNOCK_CONTROL_UNAVAILABLE/);
    const off = writeConfigFile(dir, 'off.ini', ['controlSocket = none']);
    const o = await runServerCli(['grants', '--config', off]);
    assert.equal(o.code, 1);
    assert.match(o.stderr, /controlSocket is off/);
  });

  it('bad requests get typed error replies, and the connection goes on', async () => {
    const { replies } = await exchange(
      [
        'not json',
        '[1,2]',
        '{"cmd":"status"}',
        '{"command":"reboot"}',
        '{"command":"status","extra":1}',
        '{"command":"close"}',
        '{"command":"close","address":"127.0.0.1","protocol":"sctp","port":1}',
        '{"command":"close","address":"127.0.0.1","protocol":"tcp"}',
        '{"command":"close","address":"nope"}',
        '{"command":"status"}',
        '',
      ].join('\n'),
    );
    assert.deepEqual(replies.map(errorCode), [
      'ERR_SKNOCK_CONTROL_BAD_REQUEST',
      'ERR_SKNOCK_CONTROL_BAD_REQUEST',
      'ERR_SKNOCK_CONTROL_BAD_REQUEST',
      'ERR_SKNOCK_CONTROL_UNKNOWN_COMMAND',
      'ERR_SKNOCK_CONTROL_BAD_REQUEST',
      'ERR_SKNOCK_CONTROL_BAD_REQUEST',
      'ERR_SKNOCK_CONTROL_BAD_REQUEST',
      'ERR_SKNOCK_CONTROL_BAD_REQUEST',
      'ERR_SKNOCK_INVALID_ARGUMENT',
      undefined,
    ]);
    assert.equal(replies.at(-1)?.['ok'], true);
    const long = await exchange(`{"command":"status","x":"${'a'.repeat(CONTROL_REQUEST_MAX_BYTES)}"}\n`);
    assert.deepEqual(long.replies.map(errorCode), ['ERR_SKNOCK_CONTROL_TOO_LONG']);
    assert.equal(long.closed, true, 'the connection is closed after a request that is too long');
    const endless = await exchange(randomBytes(CONTROL_REQUEST_MAX_BYTES * 3).map((b) => (b === 0x0a ? 0x20 : b)));
    assert.deepEqual(endless.replies.map(errorCode), ['ERR_SKNOCK_CONTROL_TOO_LONG']);
  });

  it('random bytes on the socket (300 connections) leave the daemon running and answering', async () => {
    const deadline = Date.now() + 30_000;
    for (let i = 0; i < 300 && Date.now() < deadline; i++) {
      const length = randomInt(0, i % 10 === 0 ? 3 * CONTROL_REQUEST_MAX_BYTES : 600);
      const bytes = randomBytes(length);
      if (i % 3 === 0 && length > 0) bytes[randomInt(0, length)] = 0x0a;
      const r = await exchange(bytes, 20).catch(() => ({ replies: [], closed: true }));
      for (const reply of r.replies) assert.equal(reply['ok'], false);
    }
    assert.equal(daemon.child.exitCode, null, 'still running');
    const status = (await sendControlRequest(socketPath, { command: 'status' })) as { state: string };
    assert.equal(status.state, 'running');
    assert.equal(daemon.lines.filter((l) => l['level'] === 'error' || l['level'] === 'fatal').length, 0, daemon.output);
  });
});
