/**
 * The exec back end: commands parsed without a shell and checked for placeholders; values
 * checked so that hostile input never reaches a command (not even a shell as the command);
 * a real command (a script recording its argv) run on open, re-open, expiry, close and
 * teardown, with its timeout and its errors typed; the config keys; and a real ipset in a
 * network namespace, matched by iptables, opening a TCP port for one client and closing it
 * when the daemon's timer runs out.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveServerConfig } from '../src/config/index.js';
import { ExecFirewallBackend, expandCommand, parseExecCommand, placeholderValues, splitCommandLine } from '../src/firewall/exec.js';
import { SknockFirewallError } from '../src/firewall/errors.js';
import type { FirewallSetup, Grant } from '../src/firewall/backend.js';
import { netns, type Topology } from './support/netns-harness.js';
import { createServer } from '../src/daemon/server.js';
import type { GrantEvent } from '../src/daemon/grant-keeper.js';
import { knockFixtures, makeKnock } from './support/knock-fixtures.js';
import { nextEvent, sendOnce } from './support/udp.js';

const SETUP: FirewallSetup = { policy: 'none', emergencyAccessPorts: [], knockPort: 62201, anyPortKnocks: false, minKnockDatagramLength: 700 };
const G4: Grant = { address: '192.0.2.7', family: 4, protocol: 'tcp', port: 2000 };
const G6: Grant = { address: '2001:db8::7', family: 6, protocol: 'udp', port: 53 };

const isInvalid = (err: unknown): boolean => err instanceof SknockFirewallError && err.code === 'ERR_SKNOCK_INVALID_ARGUMENT';

describe('exec commands', () => {
  it('splits words at blanks, with quotes grouping and nothing else special', () => {
    assert.deepEqual(splitCommandLine(`a  b\t'c d' "e \\"f\\" g" h'i'j $(id) ;x`, 'x'), ['a', 'b', 'c d', 'e "f" g', 'hij', '$(id)', ';x']);
    assert.throws(() => splitCommandLine(`a 'b`, 'cmd'), /cmd has an unclosed single quote/);
  });

  it('refuses unknown placeholders, lone braces, a placeholder as the program, and placeholders in setup', () => {
    assert.throws(() => parseExecCommand('/bin/echo {adress}', 'open', 'execOpenCommand'), /unknown placeholder \{adress\}; known: \{address\}/);
    assert.throws(() => parseExecCommand('/bin/echo {address', 'open', 'x'), /lone '\{'/);
    assert.throws(() => parseExecCommand('{address} x', 'open', 'x'), /program .* cannot hold a placeholder/);
    assert.throws(() => parseExecCommand('/sbin/ipset create {port}', 'setup', 'execSetupCommand'), /cannot use \{port\}: the setup command takes no placeholders/);
    assert.throws(() => parseExecCommand('', 'open', 'x'), /is empty/);
    assert.deepEqual(parseExecCommand(['/bin/echo', '{{literal}}', '{cidr}'], 'close', 'x'), ['/bin/echo', '{{literal}}', '{cidr}']);
  });

  it('puts checked values inside their word only', () => {
    const values = placeholderValues(G6, 1_700_000_010_200, 1_700_000_000_000);
    assert.deepEqual(values, { address: '2001:db8::7', family: '6', ipfamily: 'ipv6', cidr: '2001:db8::7/128', protocol: 'udp', port: '53', seconds: '11', expires: '1700000011' });
    const argv = expandCommand(parseExecCommand(`/usr/bin/firewall-cmd "--add-rich-rule=rule family={ipfamily} source address={address} port port={port} protocol={protocol} accept" --timeout={seconds}s {{x}}`, 'open', 'x'), values);
    assert.deepEqual(argv, ['/usr/bin/firewall-cmd', '--add-rich-rule=rule family=ipv6 source address=2001:db8::7 port port=53 protocol=udp accept', '--timeout=11s', '{x}']);
  });

  it('hostile grant values are refused before any command runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sknock-exec-hostile-'));
    try {
      const log = join(dir, 'ran');
      // Even a shell as the command gets nothing but checked values.
      const backend = new ExecFirewallBackend({ open: ['/bin/sh', '-c', `echo {address} {port} {protocol} >> ${log}`], close: ['/bin/true'] });
      await backend.setup(SETUP);
      for (const address of ['192.0.2.7; touch /tmp/pwned', '$(id)', '`id`', '192.0.2.7 -j ACCEPT', '::ffff:192.0.2.7', 'fe80::1%eth0', '192.0.2.7\n1.2.3.4', '']) {
        await assert.rejects(backend.open({ ...G4, address }, 10), isInvalid, address);
      }
      await assert.rejects(backend.open({ ...G4, protocol: 'tcp;id' as 'tcp' }, 10), isInvalid);
      await assert.rejects(backend.open({ ...G4, port: '22 -j ACCEPT' as unknown as number }, 10), isInvalid);
      await assert.rejects(backend.open({ ...G4, port: 0 }, 10), isInvalid);
      await assert.rejects(backend.open(G4, Number.NaN), isInvalid);
      assert.equal(existsSync(log), false, 'no command ran');
      // Any spelling of a good address is made canonical.
      await backend.open({ address: '2001:DB8:0:0::7', family: 6, protocol: 'tcp', port: 22 }, 10);
      assert.equal(readFileSync(log, 'utf8'), '2001:db8::7 22 tcp\n');
      await backend.teardown();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses setups it cannot honour', async () => {
    const backend = new ExecFirewallBackend({ open: '/bin/true', close: '/bin/true' });
    await assert.rejects(backend.setup({ ...SETUP, policy: 'drop' }), /cannot enforce firewallPolicy drop/);
    await assert.rejects(backend.setup({ ...SETUP, anyPortKnocks: true }), /cannot redirect knocks/);
    await assert.rejects(backend.open(G4, 5), (e: unknown) => e instanceof SknockFirewallError && e.code === 'ERR_SKNOCK_FIREWALL_STATE');
    assert.throws(() => new ExecFirewallBackend({ open: '/bin/true' } as never), /options\.close is required/);
  });
});

describe('exec back end with a real command', () => {
  let dir: string;
  let script: string;
  let log: string;
  const calls = (): string[][] =>
    existsSync(log)
      ? readFileSync(log, 'utf8')
          .split('\n\x01\n')
          .filter((l) => l !== '')
          .map((l) => l.split('\0').filter((w) => w !== ''))
      : [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sknock-exec-'));
    log = join(dir, 'log');
    script = join(dir, 'record');
    // Records its argv (NUL-separated) and fails when told to by its first word.
    writeFileSync(script, `#!/bin/sh\nprintf '%s\\0' "$@" >> ${log}\nprintf '\\n\\001\\n' >> ${log}\ncase "$1" in fail) echo "it failed: $2" >&2; exit 3;; slow) sleep 5;; esac\n`, { mode: 0o755 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs setup, open (again on a re-knock), close at expiry, close, and teardown closing what is open', async () => {
    rmSync(log, { force: true });
    const errors: SknockFirewallError[] = [];
    const backend = new ExecFirewallBackend({
      setup: `${script} setup`,
      open: `${script} open --source={cidr} {protocol}/{port} {seconds}`,
      close: `${script} close {address} {family} {protocol} {port}`,
      teardown: [script, 'teardown'],
      onError: (e) => errors.push(e),
    });
    await backend.setup(SETUP);
    await backend.open(G4, 1);
    await backend.open(G4, 1); // a re-knock: the command again, one grant
    await backend.open(G6, 30);
    assert.deepEqual((await backend.list()).map((g) => `${g.address} ${g.protocol}/${g.port}`), ['192.0.2.7 tcp/2000', '2001:db8::7 udp/53']);
    const deadline = Date.now() + 5000;
    while (!calls().some((c) => c[0] === 'close') && Date.now() < deadline) await sleep(50);
    assert.deepEqual((await backend.list()).map((g) => g.address), ['2001:db8::7'], 'the IPv4 grant expired');
    await backend.close(G6);
    await backend.close(G6); // not open any more: nothing runs
    await backend.open(G4, 30);
    await backend.teardown();
    assert.deepEqual(calls(), [
      ['setup'],
      ['open', '--source=192.0.2.7/32', 'tcp/2000', '1'],
      ['open', '--source=192.0.2.7/32', 'tcp/2000', '1'],
      ['open', '--source=2001:db8::7/128', 'udp/53', '30'],
      ['close', '192.0.2.7', '4', 'tcp', '2000'],
      ['close', '2001:db8::7', '6', 'udp', '53'],
      ['open', '--source=192.0.2.7/32', 'tcp/2000', '30'],
      ['close', '192.0.2.7', '4', 'tcp', '2000'],
      ['teardown'],
    ]);
    assert.deepEqual(errors, []);
    assert.deepEqual(await backend.list(), []);
  });

  it('a failing command is ERR_SKNOCK_FIREWALL_COMMAND with its stderr, a slow one ERR_SKNOCK_FIREWALL_TIMEOUT, a missing one UNAVAILABLE', async () => {
    const failing = new ExecFirewallBackend({ open: `${script} fail {address}`, close: '/bin/true' });
    await failing.setup(SETUP);
    await assert.rejects(failing.open(G4, 5), (e: unknown) => e instanceof SknockFirewallError && e.code === 'ERR_SKNOCK_FIREWALL_COMMAND' && e.exitCode === 3 && e.stderr === 'it failed: 192.0.2.7' && /exec back end, open command/.test(e.message));
    assert.deepEqual(await failing.list(), [], 'a grant whose open failed is not listed');
    const slow = new ExecFirewallBackend({ open: `${script} slow`, close: '/bin/true', commandTimeoutMs: 300 });
    await slow.setup(SETUP);
    const t0 = Date.now();
    await assert.rejects(slow.open(G4, 5), (e: unknown) => e instanceof SknockFirewallError && e.code === 'ERR_SKNOCK_FIREWALL_TIMEOUT');
    assert.ok(Date.now() - t0 < 3000, 'killed at its timeout');
    const missing = new ExecFirewallBackend({ open: '/nonexistent/ipset add {address}', close: '/bin/true' });
    await missing.setup(SETUP);
    await assert.rejects(missing.open(G4, 5), (e: unknown) => e instanceof SknockFirewallError && e.code === 'ERR_SKNOCK_FIREWALL_UNAVAILABLE');
  });

  it('a close that fails at expiry is reported and retried', async () => {
    const errors: SknockFirewallError[] = [];
    const backend = new ExecFirewallBackend({ open: '/bin/true', close: `${script} fail close`, onError: (e) => errors.push(e) });
    await backend.setup(SETUP);
    await backend.open(G4, 0.2);
    const deadline = Date.now() + 3000;
    while (errors.length === 0 && Date.now() < deadline) await sleep(20);
    assert.match(errors[0]?.message ?? '', /closing the expired grant tcp\/2000 for 192\.0\.2\.7 failed \(attempt 1, retrying in 5 s\)/);
    await backend.teardown();
  });
});

describe('exec config keys', () => {
  it('firewallBackend = exec needs both commands, policy none and anyPortKnocks off, and says so', () => {
    const err = (() => {
      try {
        resolveServerConfig({ firewallBackend: 'exec', firewallPolicy: 'drop', credentials: { privateKey: {}, certificate: new Uint8Array(), caCertificates: [] } as never });
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    assert.ok(err);
    const problems = ((err as Error & { problems?: Array<{ message: string }> }).problems ?? []).map((p) => p.message).join('\n');
    assert.match(problems, /execOpenCommand is required with firewallBackend = exec/);
    assert.match(problems, /execCloseCommand is required/);
    assert.match(problems, /firewallPolicy = drop cannot be enforced by firewallBackend = exec/);
    assert.match(problems, /anyPortKnocks = on needs a redirect rule/);
    const config = resolveServerConfig({
      firewallBackend: 'exec',
      firewallPolicy: 'none',
      anyPortKnocks: false,
      execOpenCommand: '/usr/sbin/ipset add sknock{family} {address},{protocol}:{port} timeout {seconds} -exist',
      execCloseCommand: ['/usr/sbin/ipset', 'del', 'sknock{family}', '{address},{protocol}:{port}', '-exist'],
      execCommandTimeoutSeconds: 3,
      credentials: { privateKey: {}, certificate: new Uint8Array(), caCertificates: [] } as never,
    });
    assert.deepEqual(config.execOpenCommand, ['/usr/sbin/ipset', 'add', 'sknock{family}', '{address},{protocol}:{port}', 'timeout', '{seconds}', '-exist']);
    assert.equal(config.execCommandTimeoutSeconds, 3);
    assert.throws(
      () => resolveServerConfig({ firewallBackend: 'exec', firewallPolicy: 'none', anyPortKnocks: false, execOpenCommand: '/bin/x {ip}', execCloseCommand: '/bin/x', credentials: { privateKey: {}, certificate: new Uint8Array(), caCertificates: [] } as never }),
      /bad value for execOpenCommand: '\/bin\/x \{ip\}' is not a usable command: has the unknown placeholder \{ip\}/,
    );
  });
});

describe('the daemon with firewallBackend = exec (config keys to commands)', () => {
  it('a knock runs execOpenCommand with its grant, stop runs execCloseCommand and execTeardownCommand', async () => {
    const f = await knockFixtures();
    const dir = mkdtempSync(join(tmpdir(), 'sknock-exec-daemon-'));
    try {
      const log = join(dir, 'log');
      const script = join(dir, 'record');
      writeFileSync(script, `#!/bin/sh\necho "$*" >> ${log}\n`, { mode: 0o755 });
      writeFileSync(join(dir, 'crl.der'), f.crl);
      const server = createServer({
        credentials: f.server,
        config: {
          listenAddress: '127.0.0.1',
          firewallBackend: 'exec',
          firewallPolicy: 'none',
          anyPortKnocks: false,
          crlFile: join(dir, 'crl.der'),
          execSetupCommand: `${script} setup`,
          execOpenCommand: `${script} open {address} {protocol} {port} {seconds}`,
          execCloseCommand: `${script} close {cidr} {protocol} {port}`,
          execTeardownCommand: `${script} teardown`,
          execCommandTimeoutSeconds: 5,
        },
        logger: false,
        listenPort: 0,
      });
      const { port } = await server.start();
      try {
        const opened = nextEvent<GrantEvent>(server, 'open');
        await sendOnce(makeKnock(f, f.alice, { port: 2000 }), port, '127.0.0.1');
        assert.deepEqual((await opened).grant, { address: '127.0.0.1', family: 4, protocol: 'tcp', port: 2000 });
      } finally {
        await server.stop();
      }
      assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), ['setup', 'open 127.0.0.1 tcp 2000 15', 'close 127.0.0.1/32 tcp 2000', 'teardown']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const skip = await netns.netnsSkipReason({ tools: ['ipset', 'iptables'] });

describe('exec back end driving a real ipset, in a network namespace', { skip }, () => {
  let topo: Topology;
  before(async () => {
    topo = await netns.createTopology({ prefix: 'sknockexec', clients: 2 });
    // The operator's own ruleset: drop by default, accept what the ipset holds.
    for (const [tool, set, family] of [['iptables', 'sknock4', 'inet'], ['ip6tables', 'sknock6', 'inet6']] as const) {
      await topo.server.exec('ipset', ['create', set, 'hash:ip,port', 'family', family, 'timeout', '0', '-exist']);
      for (const rule of [['-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'], ['-A', 'INPUT', '-p', tool === 'iptables' ? 'icmp' : 'ipv6-icmp', '-j', 'ACCEPT'], ['-A', 'INPUT', '-m', 'set', '--match-set', set, 'src,dst', '-j', 'ACCEPT'], ['-P', 'INPUT', 'DROP']]) {
        await topo.server.exec(tool, rule);
      }
    }
  });
  after(async () => {
    await topo?.cleanup();
  });

  it('a grant opens the port for that client only, and the daemon closes it when its time is up', async () => {
    const [alice, bob] = topo.clients as [typeof topo.server, typeof topo.server];
    const web = await topo.server.listenTcp(2000);
    const backend = new ExecFirewallBackend({
      // No ipset timeout: only the daemon's timer can close these.
      open: '/usr/sbin/ipset add sknock{family} {address},{protocol}:{port} -exist',
      close: '/usr/sbin/ipset del sknock{family} {address},{protocol}:{port} -exist',
      netns: topo.server.name,
    });
    try {
      await backend.setup(SETUP);
      assert.equal(await alice.probeTcp(topo.server.ipv4, 2000), 'timeout');
      await backend.open({ address: alice.ipv4, family: 4, protocol: 'tcp', port: 2000 }, 2);
      await backend.open({ address: alice.ipv6, family: 6, protocol: 'tcp', port: 2000 }, 60);
      assert.equal(await alice.probeTcp(topo.server.ipv4, 2000), 'open');
      assert.equal(await alice.probeTcp(topo.server.ipv6, 2000), 'open');
      assert.equal(await bob.probeTcp(topo.server.ipv4, 2000), 'timeout');
      assert.match((await topo.server.exec('ipset', ['list', 'sknock4'])).stdout, new RegExp(`${alice.ipv4.replaceAll('.', '\\.')},tcp:2000`));
      // Past the grant: closed by the daemon's timer.
      await sleep(2600);
      assert.equal(await alice.probeTcp(topo.server.ipv4, 2000), 'timeout');
      assert.doesNotMatch((await topo.server.exec('ipset', ['list', 'sknock4'])).stdout, /tcp:2000/);
      await backend.teardown();
      assert.equal(await alice.probeTcp(topo.server.ipv6, 2000), 'timeout', 'teardown closed the IPv6 grant');
      assert.doesNotMatch((await topo.server.exec('ipset', ['list', 'sknock6'])).stdout, /tcp:2000/);
    } finally {
      await web.close();
    }
  });
});
