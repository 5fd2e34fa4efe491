import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodePkcs12, openKnockPacket } from '@sknock/protocol';
import { FakeKnockServer, freePort } from './support/knock-server.js';
import { TestCa, type TestIdentity } from './support/pki.js';
import { StunResponder } from './support/stun-responder.js';
import { jsonOf, runCli } from './support/run-cli.js';

/**
 * Errors a person can act on, as processes: "did you mean" for a mistyped flag, a password
 * flag pointed to the safe ways, messages that name flags rather than SDK options, and the
 * likely causes when the port did not open (the server never answers).
 */

let dir: string;
let server: TestIdentity;
let client: TestIdentity;
let port: number;
const f: Record<string, string> = {};
const run = (args: readonly string[]): ReturnType<typeof runCli> => runCli(args, { configHome: join(dir, 'no-config') });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sknock-cli-errors-'));
  port = await freePort('127.0.0.1');
  const ca = await TestCa.create();
  [server, client] = await Promise.all([ca.issue({ name: 'server' }), ca.issue({ name: 'errors client', grants: [{ protocol: 'tcp', port }] })]);
  for (const [name, data] of Object.entries({
    'client.pfx': await encodePkcs12({ privateKey: client.privateKey, certificate: client.certificate, passphrase: 'p' }),
    'server.cer': server.certificate,
    pass: 'p\n',
  })) {
    f[name] = join(dir, name);
    await writeFile(f[name], data, { mode: 0o600 });
  }
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const creds = (): string[] => ['--pfx', f['client.pfx']!, '--passphrase-file', f['pass']!, '--server-cert', f['server.cer']!];

describe('a mistyped flag gets "did you mean"', { concurrency: 4 }, () => {
  const cases: [string[], string][] = [
    [['knock', '127.0.0.1', '-p', '22', '--servr-cert', 'x'], 'unknown option --servr-cert; did you mean --server-cert?'],
    [['knock', '127.0.0.1', '-p', '22', '--knock-prot', '1'], 'unknown option --knock-prot; did you mean --knock-port?'],
    [['knock', '127.0.0.1', '-p', '22', '--source-adress', '1.2.3.4'], 'unknown option --source-adress; did you mean --source-address?'],
    [['knock', '127.0.0.1', '-p', '22', '--stunserver=x'], 'unknown option --stunserver; did you mean --stun-server?'],
    [['connect', '127.0.0.1', '22', '--local-addr', '1.2.3.4'], 'unknown option --local-addr; did you mean --local-address?'],
    [['csr', '--nmae', 'x'], 'unknown option --nmae; did you mean --name?'],
    [['profile', 'list', '--jsn'], 'unknown option --jsn; did you mean --json?'],
    [['knock', '127.0.0.1', '-p', '22', '--frobnicate'], 'unknown option --frobnicate'],
  ];
  for (const [args, message] of cases) {
    test(args.join(' '), async () => {
      const r = await run(args);
      assert.equal(r.code, 2);
      assert.equal(r.stderr.split('\n')[0], `sknock: ${message}`);
    });
  }
});

describe('a password on the command line is refused, pointing to --passphrase-env and --passphrase-file', { concurrency: 4 }, () => {
  for (const args of [
    ['knock', '127.0.0.1', '-p', '22', '--pfx', 'c.pfx', '--passphrase', 'hunter2'],
    ['knock', '127.0.0.1', '-p', '22', '--passphrase=hunter2'],
    ['connect', '127.0.0.1', '22', '--password', 'hunter2'],
    ['profile', 'add', 'h', '--pass', 'hunter2'],
  ]) {
    test(args.join(' '), async () => {
      const r = await run(args);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^sknock: --pass\w*: a password is never taken on the command line, where other users can read it \(ps, shell history\): give --passphrase-env VAR .* or --passphrase-file FILE/);
      assert.ok(!r.stderr.includes('hunter2'), 'the password is not repeated');
    });
  }
});

describe('messages name the flags, not the SDK options', { concurrency: 4 }, () => {
  const cases: [string[], RegExp][] = [
    [['knock', 'server.example.invalid', '-p', String(0 + 22), '--local-address', '127.0.0.2', '--source-address', '::1'], /^sknock: --source-address: is an IPv6 address but --local-address is IPv4$/m],
    [['knock', '127.0.0.1', '-p', '22', '--stun-server', '127.0.0.1:3478'], /^sknock: --stun-server: is only asked when --source-address is 'auto'$/m],
    [['knock', '127.0.0.1', '-p', '22', '--source-address', 'auto'], /^sknock: --source-address: 'auto' needs --stun-server \(HOST\[:PORT\] of a STUN server you trust; none is contacted by default\)$/m],
    [['knock', '127.0.0.1', '-p', '22', '--source-address', 'auto', '--stun-server', '[::1'], /^sknock: --stun-server: has no \] after the IPv6 address: \[::1$/m],
    [['knock', '127.0.0.1', '-p', '22', '-6'], /^sknock: -4\/-6: is 6 but host 127\.0\.0\.1 is an IPv4 address$/m],
    [['knock', '127.0.0.1', '-p', '22', '--local-address', '::1', '-4'], /^sknock: --local-address: is an IPv6 address but -4 was given$/m],
  ];
  for (const [args, message] of cases) {
    test(args.join(' '), async () => {
      const r = await run([...args, ...creds()]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\b(sourceAddress|localAddress|stunServer|serverCertificate|knockPort)\b/);
    });
  }

  test('--local-address that is not on this host (exit 1)', async () => {
    const r = await run(['knock', '127.0.0.1', '-p', String(port), '--local-address', '192.0.2.77', ...creds()]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'sknock: --local-address: cannot bind 192.0.2.77 (EADDRNOTAVAIL: not an address of this host)\n');
  });

  test('a STUN server that does not answer (exit 1)', async () => {
    const stun = await StunResponder.start({ host: '127.0.0.1', behaviour: () => 'drop' });
    try {
      const r = await run(['knock', '127.0.0.1', '-p', String(port), '--source-address', 'auto', '--stun-server', stun.server, '--timeout', '1', ...creds()]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`^sknock: --stun-server: no answer from ${stun.server.replace(/\./g, '\\.')} after 2 requests in \\d+ ms\\n$`));
    } finally {
      await stun.close();
    }
  });
});

describe('"did not open after N knocks" lists the likely causes', () => {
  test('random knock ports, the local address, with every cause named', async () => {
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port, openOnKnock: false });
    try {
      const r = await run(['knock', '127.0.0.1', '-p', String(port), '--timeout', '0.4', '--retries', '1', ...creds()]);
      assert.equal(r.code, 1);
      const lines = r.stderr.split('\n');
      assert.match(lines[0]!, new RegExp(`^sknock: tcp/${port} on 127\\.0\\.0\\.1 did not open after 2 knocks in \\d+ ms \\(last probe: ECONNREFUSED\\)$`));
      assert.equal(lines[1], 'The server never answers a knock; the likely causes:');
      const hints = lines.slice(2).filter((l) => l !== '');
      assert.equal(hints.length, 5);
      assert.match(hints[0]!, /^ {2}- knock port: the knocks went to random UDP ports of 127\.0\.0\.1 \(the last to \d+\), which a server takes only if it redirects every port to its own \(anyPortKnocks = on\); else give --knock-port/);
      assert.match(hints[1]!, /^ {2}- clock skew: the server ignores a knock stamped more than 7 s .* compare `date -u` here and on the server$/);
      assert.match(hints[2]!, /^ {2}- NAT: the knocks bound 127\.0\.0\.1, this host's address toward the server; behind NAT .* --source-address PUBLIC-ADDRESS, or --source-address auto --stun-server HOST\[:PORT\]; on a host with several addresses, --local-address ADDRESS$/);
      assert.equal(hints[3], `  - server certificate: the knocks were encrypted to ${f['server.cer']} (--server-cert); a server with another key cannot read them`);
      assert.match(hints[4]!, new RegExp(`^ {2}- grant: the server opens tcp/${port} only for a client certificate issued by a CA it trusts and not revoked; its log names the reason`));
    } finally {
      await fake.close();
    }
  });

  test('--json carries them as error.hints; a given knock port and source address are named', async () => {
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port, openOnKnock: false });
    try {
      const r = await run(['knock', '127.0.0.1', '-p', String(port), '--knock-port', String(fake.knockPort), '--source-address', '127.0.0.1', '--timeout', '0.3', '--retries', '0', '--json', ...creds()]);
      assert.equal(r.code, 1);
      const error = jsonOf(r).error!;
      assert.equal(error.code, 'ERR_SKNOCK_PORT_NOT_OPENED');
      assert.equal(error.hints?.length, 5);
      assert.equal(error.hints?.[0], `knock port: the knocks went to UDP port ${fake.knockPort} of 127.0.0.1 (--knock-port): the server must listen there (its knockPort) and no firewall on the way may drop it`);
      assert.equal(
        error.hints?.[2],
        'NAT and source address: the knocks bound 127.0.0.1 (--source-address); the server opens the port only if it sees the knock come from that address; on a host with several addresses, --local-address 127.0.0.1 makes the knock leave from it',
      );
    } finally {
      await fake.close();
    }
  });

  test('with --source-address auto the NAT cause names the STUN server', async () => {
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port, openOnKnock: false });
    const stun = await StunResponder.start({ host: '127.0.0.1', mapped: { address: '198.51.100.20', port: 5000 } });
    try {
      const r = await run(['knock', '127.0.0.1', '-p', String(port), '--knock-port', String(fake.knockPort), '--source-address', 'auto', '--stun-server', stun.server, '--timeout', '0.5', '--retries', '0', '--json', ...creds()]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(jsonOf(r).error?.hints?.[2] ?? '', new RegExp(`^NAT: the knocks bound 198\\.51\\.100\\.20, the address ${stun.server.replace(/\./g, '\\.')} saw; .* that STUN server must see you through the same NAT as the knock server, or give --source-address with your public address$`));
      assert.equal(fake.received[0]?.opened?.address, '198.51.100.20');
    } finally {
      await stun.close();
      await fake.close();
    }
  });

  test('connect prints them too', async () => {
    const r = await runCli(['connect', '127.0.0.1', String(port), '--timeout', '0.2', '--retries', '0', ...creds()], { configHome: join(dir, 'no-config'), input: '' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /did not open after 1 knock .*\nThe server never answers a knock; the likely causes:\n {2}- knock port:/);
  });
});

describe('NAT from the command line', () => {
  test('--dry-run with --source-address auto asks the STUN server and binds its answer', async () => {
    const stun = await StunResponder.start({ host: '127.0.0.1', mapped: { address: '198.51.100.4', port: 1 } });
    const out = join(dir, 'auto.bin');
    try {
      const r = await run(['knock', '127.0.0.1', '-p', String(port), '--source-address', 'auto', '--stun-server', stun.server, '--dry-run', '--output', out, '--json', ...creds()]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(jsonOf(r)['sourceAddress'], '198.51.100.4');
      assert.equal(openKnockPacket(await readFile(out), { privateKey: server.privateKey }, { family: 4 }).address, '198.51.100.4');
      assert.equal(stun.requests.length, 1);
    } finally {
      await stun.close();
    }
  });
});
