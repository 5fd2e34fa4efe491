import 'reflect-metadata';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createPublicKey, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Pkcs10CertificateRequest } from '@peculiar/x509';
import { encodePkcs12, openKnockPacket, verifyKnockSignature } from '@sknock/protocol';
import { FakeKnockServer, freePort } from './support/knock-server.js';
import { TestCa, type TestIdentity } from './support/pki.js';
import { scriptCommand } from './support/runtime.js';

/** The `sknock` command as a process: exit codes, output, dry runs, the relay, csr. */

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const PACKAGE_JSON = fileURLToPath(new URL('../../package.json', import.meta.url));

interface Run {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Runs the command in a session of its own (no controlling terminal, so no prompt). */
function run(args: readonly string[], options: { input?: Buffer | string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    // No profile file but the test's own: an empty XDG_CONFIG_HOME, no SKNOCK_CONFIG.
    const hermetic = { SKNOCK_CONFIG: '', XDG_CONFIG_HOME: join(dir, 'no-config') };
    const child = spawn(process.execPath, [MAIN, ...args], { detached: true, stdio: 'pipe', env: { ...process.env, ...hermetic, ...options.env } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() });
    });
    if (options.input !== undefined) child.stdin.end(options.input);
  });
}

/**
 * Runs the command with a standard output whose reader goes away: at once (closed before
 * anything is written) or after the first chunk. Standard input stays open until it ends.
 */
function runClosingOutput(args: readonly string[], close: 'at-once' | 'after-first-chunk'): Promise<{ code: number | null; stderr: string; read: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { detached: true, stdio: 'pipe' });
    let stderr = '';
    let read = 0;
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    if (close === 'at-once') child.stdout.destroy();
    else {
      child.stdout.once('data', (c: Buffer) => {
        read = c.length;
        child.stdout.destroy();
      });
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ code, stderr, read });
    });
  });
}

function json(r: Run): Record<string, unknown> & { error?: { code: string; message: string; attempts?: number } } {
  return JSON.parse(r.stdout.toString()) as never;
}

let dir: string;
let server: TestIdentity;
let client: TestIdentity;
const ports: number[] = [];
const f: Record<string, string> = {};

assert.equal(process.env['SKNOCK_TEST_UNSET'], undefined);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sknock-cli-'));
  for (let i = 0; i < 6; i++) ports.push(await freePort('127.0.0.1'));
  const ca = await TestCa.create();
  [server, client] = await Promise.all([
    ca.issue({ name: 'server' }),
    ca.issue({ name: 'cli client', grants: [...ports.map((port) => ({ protocol: 'tcp' as const, port })), { protocol: 'udp', port: 5353 }] }),
  ]);
  const files: Record<string, string | Uint8Array> = {
    'client.pfx': await encodePkcs12({ privateKey: client.privateKey, certificate: client.certificate, passphrase: 'pfx pass' }),
    'client.key': client.keyPem,
    'client.crt': client.certificatePem,
    'server.cer': server.certificate,
    'pass.txt': 'pfx pass\n',
  };
  for (const [name, data] of Object.entries(files)) {
    f[name] = join(dir, name);
    // A password file only its owner reads (sknock warns about any other).
    await writeFile(f[name], data, { mode: name === 'pass.txt' ? 0o600 : 0o644 });
  }
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const pfxArgs = (): string[] => ['--pfx', f['client.pfx']!, '--passphrase-file', f['pass.txt']!, '--server-cert', f['server.cer']!];
const keyArgs = (): string[] => ['--key', f['client.key']!, '--cert', f['client.crt']!, '--server-cert', f['server.cer']!];

describe('help, version, usage errors (exit 2)', { concurrency: 3 }, () => {
  test('--help and --version', async () => {
    const help = await run(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout.toString(), /Usage: sknock <command>/);
    const knockHelp = await run(['knock', '--help']);
    assert.equal(knockHelp.code, 0);
    assert.match(knockHelp.stdout.toString(), /--passphrase-file/);
    const version = await run(['--version']);
    assert.equal(version.code, 0);
    assert.equal(version.stdout.toString().trim(), (JSON.parse(await readFile(PACKAGE_JSON, 'utf8')) as { version: string }).version);
  });

  const usage: [string, () => string[], RegExp][] = [
    ['no command', () => [], /Usage/],
    ['unknown command', () => ['knok'], /unknown command/],
    ['knock without a host', () => ['knock', '-p', '22', ...pfxArgs()], /host is missing/],
    ['knock without -p', () => ['knock', '127.0.0.1', ...pfxArgs()], /-p\/--port is required/],
    ['port out of range', () => ['knock', '127.0.0.1', '-p', '70000', ...pfxArgs()], /port/],
    ['unknown flag', () => ['knock', '127.0.0.1', '-p', '22', '--bogus', ...pfxArgs()], /bogus/],
    ['--pfx and --key together', () => ['knock', '127.0.0.1', '-p', '22', ...pfxArgs(), '--key', 'k', '--cert', 'c'], /not both/],
    ['--key without --cert', () => ['knock', '127.0.0.1', '-p', '22', '--key', 'k', '--server-cert', 's'], /--key needs --cert/],
    ['no --server-cert', () => ['knock', '127.0.0.1', '-p', '22', '--pfx', 'x', '--passphrase-env', 'HOME'], /--server-cert is required/],
    ['--dry-run without --output', () => ['knock', '127.0.0.1', '-p', '22', '--dry-run', ...pfxArgs()], /--output/],
    ['--passphrase-env naming an unset variable', () => ['knock', '127.0.0.1', '-p', '22', '--pfx', f['client.pfx']!, '--passphrase-env', 'SKNOCK_TEST_UNSET', '--server-cert', 'x'], /SKNOCK_TEST_UNSET/],
    ['--pfx with no password source and no terminal', () => ['knock', '127.0.0.1', '-p', '22', '--pfx', f['client.pfx']!, '--server-cert', 'x'], /needs a password/],
    ['--timeout not a number', () => ['knock', '127.0.0.1', '-p', '22', '--timeout', 'soon', ...pfxArgs()], /--timeout/],
    ['--retries negative', () => ['knock', '127.0.0.1', '-p', '22', '--retries', '-1', ...pfxArgs()], /retries/],
    ['-6 with an IPv4 host (refused by the SDK)', () => ['knock', '127.0.0.1', '-p', '22', '-6', ...pfxArgs()], /-4\/-6/],
    ['connect with -u', () => ['connect', '127.0.0.1', '22', '-u', ...pfxArgs()], /--udp does not apply/],
    ['connect with one positional', () => ['connect', '127.0.0.1', ...pfxArgs()], /<host> <port>/],
    ['csr without --name', () => ['csr'], /--name is required/],
  ];
  for (const [name, args, message] of usage) {
    test(name, async () => {
      const r = await run(args());
      assert.equal(r.code, 2, `exit ${r.code}: ${r.stderr}`);
      assert.match(r.stderr, message);
    });
  }

  test('--json reports usage errors as JSON too', async () => {
    const r = await run(['knock', '127.0.0.1', '--json', ...pfxArgs()]);
    assert.equal(r.code, 2);
    assert.deepEqual(json(r).error?.code, 'ERR_SKNOCK_USAGE');
  });
});

describe('sknock knock', () => {
  test('exit 0 when the port opens; a line for people, or JSON', async () => {
    const port = ports[0]!;
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port });
    try {
      const human = await run(['knock', '127.0.0.1', '-p', String(port), '--knock-port', String(fake.knockPort), ...pfxArgs()]);
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout.toString(), new RegExp(`tcp/${port} on 127\\.0\\.0\\.1 is open \\(1 knock, \\d+ ms\\)`));
      const r = await run(['knock', '127.0.0.1', '-p', String(port), '--knock-port', String(fake.knockPort), '--json', ...keyArgs()]);
      assert.equal(r.code, 0, r.stderr);
      const out = json(r);
      assert.equal(out['ok'], true);
      assert.equal(out['verified'], true);
      assert.equal(out['attempts'], 1);
      assert.equal(out['sourceAddress'], '127.0.0.1');
      assert.equal(typeof out['elapsedMs'], 'number');
      assert.equal(fake.validKnocks.length, 2);
    } finally {
      await fake.close();
    }
  });

  test('exit 1 when the port does not open, with the knock count', async () => {
    const port = ports[1]!;
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port, openOnKnock: false });
    try {
      // --timeout covers resolving the host and finding the source address too: a second is
      // ample on every runtime under load (a cold Deno takes ~60 ms before its first knock).
      const r = await run(['knock', '127.0.0.1', '-p', String(port), '--knock-port', String(fake.knockPort), '--timeout', '1', '--retries', '1', '--json', ...pfxArgs()]);
      assert.equal(r.code, 1, r.stderr);
      const out = json(r);
      assert.equal(out['ok'], false);
      assert.equal(out.error?.code, 'ERR_SKNOCK_PORT_NOT_OPENED');
      assert.equal(out.error?.attempts, 2);
      assert.equal(fake.received.length, 2);
      const human = await run(['knock', '127.0.0.1', '-p', String(port), '--knock-port', String(fake.knockPort), '--timeout', '1', '--retries', '0', ...pfxArgs()]);
      assert.equal(human.code, 1);
      assert.match(human.stderr, /did not open after 1 knock/);
    } finally {
      await fake.close();
    }
  });

  // On every runtime: Bun 1.4 once kept the process alive after the prompt (a tty.ReadStream
  // destroyed while flowing); the command must exit by itself.
  test('prompts for the password on the terminal (a pty made by script(1)) without echo, and exits', async (t) => {
    if (spawnSync('script', ['--version']).status !== 0) {
      t.skip('script(1) from util-linux is not installed');
      return;
    }
    const port = ports[0]!;
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port });
    try {
      const args = scriptCommand(MAIN, ['knock', '127.0.0.1', '-p', String(port), '--knock-port', String(fake.knockPort), '--json',
        '--pfx', f['client.pfx']!, '--server-cert', f['server.cer']!]);
      const command = args.map((a) => `'${a}'`).join(' ');
      const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: 'pipe' });
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        const before = out;
        out += c.toString();
        if (!before.includes('Password for') && out.includes('Password for')) child.stdin.write('pfx pass\r');
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      clearTimeout(timer);
      child.stdin.destroy();
      assert.equal(code, 0, out);
      assert.ok(!out.includes('pfx pass'), 'the password is not echoed');
      const line = out.split(/\r?\n/).find((l) => l.startsWith('{'));
      assert.ok(line !== undefined, out);
      assert.equal((JSON.parse(line) as { verified: boolean }).verified, true);
    } finally {
      await fake.close();
    }
  });

  test('exit 1 on a wrong password (from the environment) and on a missing file', async () => {
    const r = await run(['knock', '127.0.0.1', '-p', String(ports[0]), '--pfx', f['client.pfx']!, '--passphrase-env', 'KNOCK_PASS', '--server-cert', f['server.cer']!, '--json'], {
      env: { KNOCK_PASS: 'wrong' },
    });
    assert.equal(r.code, 1);
    assert.equal(json(r).error?.code, 'ERR_SKNOCK_CREDENTIALS');
    const missing = await run(['knock', '127.0.0.1', '-p', String(ports[0]), '--pfx', join(dir, 'none.pfx'), '--passphrase-env', 'KNOCK_PASS', '--server-cert', f['server.cer']!], {
      env: { KNOCK_PASS: 'x' },
    });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /--pfx: file not found: .*none\.pfx/);
  });

  test('--no-verify and -u: exit 0 once the knock is sent', async () => {
    const port = ports[2]!;
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port, openOnKnock: false });
    try {
      const r = await run(['knock', '127.0.0.1', '-p', String(port), '--knock-port', String(fake.knockPort), '--no-verify', '--json', ...keyArgs()]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(json(r)['verified'], false);
      const u = await run(['knock', '127.0.0.1', '-u', '-p', '5353', '--knock-port', String(fake.knockPort), ...keyArgs()]);
      assert.equal(u.code, 0, u.stderr);
      assert.match(u.stdout.toString(), /knock sent for udp\/5353/);
      assert.equal(fake.validKnocks.length, 2);
      assert.equal(fake.validKnocks[1]?.opened?.protocol, 'udp');
    } finally {
      await fake.close();
    }
  });

  test('--dry-run --output writes the datagram (no name resolution with --source-address)', async () => {
    const out = join(dir, 'knock.bin');
    const r = await run([
      'knock', 'server.example.invalid', '-p', String(ports[0]), '--source-address', '192.0.2.10', '--dry-run', '--output', out, '--json', ...pfxArgs(),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const summary = json(r);
    const datagram = await readFile(out);
    assert.equal(summary['bytes'], datagram.length);
    assert.equal(summary['sourceAddress'], '192.0.2.10');
    const opened = openKnockPacket(datagram, { privateKey: server.privateKey }, { family: 4 });
    assert.equal(opened.address, '192.0.2.10');
    assert.equal(opened.port, ports[0]);
    assert.equal(opened.protocol, 'tcp');
    assert.ok(verifyKnockSignature(opened));
    const toStdout = await run(['knock', '127.0.0.1', '-p', String(ports[0]), '--dry-run', '--output', '-', ...keyArgs()]);
    assert.equal(toStdout.code, 0, toStdout.stderr);
    assert.equal(openKnockPacket(toStdout.stdout, { privateKey: server.privateKey }, { family: 4 }).address, '127.0.0.1');
    assert.match(toStdout.stderr, /wrote a \d+-byte knock/);
  });
});

describe('sknock connect', () => {
  test('relays bytes both ways over the connection that answered; stdin EOF half-closes', async () => {
    const port = ports[3]!;
    const fake = await FakeKnockServer.start({
      host: '127.0.0.1',
      serverKey: server.privateKey,
      port,
      // An echo server that answers the half-close with its own.
      onConnection: (s) => {
        s.pipe(s);
      },
    });
    try {
      const payload = randomBytes(256 * 1024);
      const r = await run(['connect', '127.0.0.1', String(port), '--knock-port', String(fake.knockPort), ...pfxArgs()], { input: payload });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.length, payload.length);
      assert.ok(r.stdout.equals(payload), 'the echo came back unchanged');
      assert.equal(fake.validKnocks.length, 1);
    } finally {
      await fake.close();
    }
  });

  test('--no-verify with the listener up: server speaks first, then answers and closes', async () => {
    const port = ports[4]!;
    const fake = await FakeKnockServer.start({
      host: '127.0.0.1',
      serverKey: server.privateKey,
      port,
      openOnKnock: false,
      onConnection: (s) => {
        s.write('SSH-2.0-test\r\n');
        const got: Buffer[] = [];
        s.on('data', (c: Buffer) => got.push(c));
        s.on('end', () => s.end(Buffer.concat(got).toString().toUpperCase()));
      },
    });
    try {
      await fake.listen();
      const r = await run(['connect', '127.0.0.1', String(port), '--no-verify', '--knock-port', String(fake.knockPort), ...keyArgs()], { input: 'hello\n' });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.toString(), 'SSH-2.0-test\r\nHELLO\n');
      assert.equal(fake.connections, 1);
      assert.equal(fake.validKnocks.length, 1);
    } finally {
      await fake.close();
    }
  });

  test('exit 1 when the port does not open', async () => {
    const port = ports[1]!;
    const r = await run(['connect', '127.0.0.1', String(port), '--timeout', '1', '--retries', '0', ...keyArgs()], { input: '' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /did not open/);
    assert.equal(r.stdout.length, 0);
  });
});

describe('a closed output', () => {
  test('every command ends quietly with status 141 when the reader of its output goes away', async () => {
    const csrKey = join(dir, 'closed.key');
    const cases: [string, readonly string[]][] = [
      ['--help', ['--help']],
      ['knock --help', ['knock', '--help']],
      ['knock --dry-run --output -', ['knock', '127.0.0.1', '-p', String(ports[0]), '--dry-run', '--output', '-', ...pfxArgs(), '--source-address', '127.0.0.1']],
      ['csr to stdout', ['csr', '--name', 'closed', '--out-key', csrKey, '--out-csr', '-']],
    ];
    for (const [what, args] of cases) {
      const r = await runClosingOutput(args, 'at-once');
      assert.equal(r.code, 141, `${what}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /EPIPE|Error|at .*:\d+/, `${what}: no stack trace`);
    }
    assert.equal((await stat(csrKey)).mode & 0o777, 0o600, 'csr wrote its key all the same');
  });

  test('connect: a server that sends far more than a pipe holds, its reader gone after the first chunk', async () => {
    const port = ports[5]!;
    const fake = await FakeKnockServer.start({
      host: '127.0.0.1',
      serverKey: server.privateKey,
      port,
      onConnection: (s) => {
        s.on('error', () => undefined);
        s.write(randomBytes(8 * 1024 * 1024));
      },
    });
    try {
      const r = await runClosingOutput(['connect', '127.0.0.1', String(port), '--knock-port', String(fake.knockPort), ...pfxArgs()], 'after-first-chunk');
      assert.ok(r.read > 0, `nothing came through: ${r.code} ${r.stderr}`);
      assert.equal(r.code, 141, r.stderr);
      assert.equal(r.stderr, '');
    } finally {
      await fake.close();
    }
  });
});

describe('sknock csr', () => {
  test('a P-256 key (0600) and a request that openssl verifies', async () => {
    const key = join(dir, 'me.key');
    const csr = join(dir, 'me.csr');
    const r = await run(['csr', '--name', 'alice laptop', '--out-key', key, '--out-csr', csr, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(json(r), { ok: true, name: 'alice laptop', key, csr });
    assert.equal((await stat(key)).mode & 0o777, 0o600);
    const keyPem = await readFile(key, 'utf8');
    assert.match(keyPem, /^-----BEGIN PRIVATE KEY-----/);
    const verified = execFileSync('openssl', ['req', '-verify', '-in', csr, '-noout', '-subject'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.match(verified, /CN ?= ?alice laptop/);
    const request = new Pkcs10CertificateRequest(await readFile(csr, 'utf8'));
    const requested = Buffer.from(request.publicKey.rawData);
    const own = createPublicKey(keyPem).export({ type: 'spki', format: 'der' });
    assert.ok(own.equals(requested), 'the request carries the key written');
    assert.equal(createPublicKey(keyPem).asymmetricKeyDetails?.namedCurve, 'prime256v1');

    const again = await run(['csr', '--name', 'alice laptop', '--out-key', key, '--out-csr', csr]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /exists/);
    const forced = await run(['csr', '--name', 'alice laptop', '--out-key', key, '--out-csr', csr, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.notEqual(await readFile(key, 'utf8'), keyPem);
  });
});
