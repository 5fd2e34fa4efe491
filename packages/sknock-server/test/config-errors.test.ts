import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SknockConfigError, loadConfigFile, resolveServerConfig } from '../src/config/index.js';

const BASE = '[DEFAULT]\nserverPFXFile = server.pfx\nPFXPasswd = secret\n';

async function withConfig<T>(text: string, fn: (file: string, dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'sknock-config-err-'));
  try {
    writeFileSync(join(dir, 'server.pfx'), 'x');
    const file = join(dir, 'config.ini');
    writeFileSync(file, text);
    return await fn(file, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Loads `text` expecting a SknockConfigError; returns it. */
async function configError(text: string): Promise<{ err: SknockConfigError; file: string }> {
  return withConfig(text, async (file) => {
    const err = await loadConfigFile(file).then(
      () => assert.fail('loadConfigFile accepted a bad config'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof SknockConfigError, `not a SknockConfigError: ${String(err)}`);
    assert.equal(err.code, 'ERR_SKNOCK_CONFIG');
    return { err, file };
  });
}

test('unknown key: named with file and line, with a suggestion', async () => {
  const { err, file } = await configError(`${BASE}PORT_OPEN_DURATION = 20\n`);
  assert.equal(err.message, `unknown key 'PORT_OPEN_DURATION' in ${file} line 4; did you mean PORT_OPEN_DURATION_IN_SECONDS?`);
  assert.equal(err.key, 'PORT_OPEN_DURATION');
  assert.equal(err.file, file);
  assert.equal(err.line, 4);
  const typo = await configError(`${BASE}firewalPolicy = drop\n`);
  assert.match(typo.err.message, /unknown key 'firewalPolicy' .* line 4; did you mean firewallPolicy\?$/);
  const far = await configError(`${BASE}colour = blue\n`);
  assert.match(far.err.message, /^unknown key 'colour' in .* line 4$/);
});

test('bad values name the key, the file and the line', async () => {
  const cases: [string, RegExp][] = [
    ['PORT_OPEN_DURATION_IN_SECONDS = 15s', /^bad value for PORT_OPEN_DURATION_IN_SECONDS in .*config\.ini line 4: '15s' must be a whole number from 1 to 86400$/],
    ['PORT_OPEN_DURATION_IN_SECONDS = 0', /PORT_OPEN_DURATION_IN_SECONDS .* line 4: '0' must be a whole number from 1 to 86400/],
    ['TIMESTAMP_THRESHOLD_IN_SECONDS = 7.5', /TIMESTAMP_THRESHOLD_IN_SECONDS .* '7\.5' must be a whole number/],
    ['CRL_UPDATE_INTERVAL_IN_MINUTES = -1', /CRL_UPDATE_INTERVAL_IN_MINUTES .* must be a number from 0\.05 to 10080 \(fractions such as 0\.5 allowed\)/],
    ['CRL_UPDATE_INTERVAL_IN_MINUTES = 0.01', /CRL_UPDATE_INTERVAL_IN_MINUTES .* must be a number from 0\.05 to 10080/],
    ['CRL_UPDATE_INTERVAL_IN_MINUTES = 1e3', /CRL_UPDATE_INTERVAL_IN_MINUTES .* must be a number from 0\.05/],
    ['RECV_BUFFER = ', /RECV_BUFFER .* '' must be a whole number/],
    ['knockPort = 70000', /knockPort .* '70000' must be a whole number from 1 to 65535/],
    ['firewallPolicy = deny', /firewallPolicy .* 'deny' must be one of none, reject, drop/],
    ['firewallBackend = pf', /firewallBackend .* must be one of nftables, iptables, exec, memory/],
    ['logLevel = loud', /logLevel .* must be one of fatal, error, warn, info, debug, trace, silent/],
    ['anyPortKnocks = maybe', /anyPortKnocks .* 'maybe' must be a boolean/],
    ['crlUrl = ftp://ca.example.org/crl', /crlUrl .* must be an http or https URL, not ftp:/],
    ['crlUrl = not a url', /crlUrl .* does not parse as a URL/],
    ['listenAddress = localhost', /listenAddress .* must be an IPv4 or IPv6 address/],
    ['emergencyAccessPorts = ssh', /emergencyAccessPorts .* has 'ssh'; each entry must be tcp\/N or udp\/N/],
    ['emergencyAccessPorts = tcp/0', /emergencyAccessPorts .* tcp\/N or udp\/N with N from 1 to 65535/],
  ];
  for (const [line, pattern] of cases) {
    const { err } = await configError(`${BASE}${line}\n`);
    assert.match(err.message, pattern, line);
    assert.equal(err.line, 4, line);
    assert.equal(err.key, line.split('=')[0]?.trim(), line);
  }
});

test('SIGNATURE_SIZE other than 72 is refused', async () => {
  const { err } = await configError(`${BASE}SIGNATURE_SIZE = 64\n`);
  assert.equal(err.key, 'SIGNATURE_SIZE');
  assert.match(err.message, /SIGNATURE_SIZE .* line 4: '64' must be 72: it is the signature slot of the sKnock 1\.0 wire format/);
});

test('PFXPasswd and PFXPasswdFile together are an error naming both', async () => {
  const { err } = await configError(`${BASE}PFXPasswdFile = pass.txt\n`);
  assert.match(err.message, /^PFXPasswd in .* line 3 and PFXPasswdFile in .* line 4 are both given; give the password one way only$/);
});

test('a password never appears in a message', async () => {
  const { err } = await configError('[DEFAULT]\nserverPFXFile = server.pfx\nPFXPasswd = hunter2\nPFXPasswdFile = x\nlogLevel = hunter2x\n');
  for (const p of err.problems) assert.doesNotMatch(p.message, /hunter2(?!x)/);
});

test('missing and unreadable files', async () => {
  const missing = await configError('[DEFAULT]\nserverPFXFile = nope.pfx\nPFXPasswd = x\n');
  assert.match(missing.err.message, /^serverPFXFile .*nope\.pfx in .*config\.ini line 2 does not exist$/);
  assert.equal(missing.err.key, 'serverPFXFile');
  const passFile = await configError('[DEFAULT]\nserverPFXFile = server.pfx\nPFXPasswdFile = nope.txt\n');
  assert.match(passFile.err.message, /^PFXPasswdFile .*nope\.txt in .* line 3 does not exist$/);
  const ca = await configError(`${BASE}caFile = ca.pem\n`);
  assert.match(ca.err.message, /^caFile .*ca\.pem in .* line 4 does not exist$/);
  const folder = await configError('[DEFAULT]\nserverPFXFile = .\nPFXPasswd = x\n');
  assert.match(folder.err.message, /serverPFXFile .* is not a regular file/);
  // A missing crlFile folder is made at start (config-check.test.ts); one that cannot be made is a problem.
  const crlDir = await configError(`${BASE}crlFile = server.pfx/state/crl.der\ncrlUrl = http://127.0.0.1/crl\n`);
  assert.match(crlDir.err.message, /the folder of crlFile .*server\.pfx\/state\/crl\.der in .* line 4 does not exist and cannot be made \(.*server\.pfx is not a folder\), so a CRL fetched from crlUrl cannot be saved there/);
});

test('a missing config file is a SknockConfigError naming it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sknock-config-err-'));
  try {
    const file = join(dir, 'absent.ini');
    await assert.rejects(loadConfigFile(file), (err: unknown) => {
      assert.ok(err instanceof SknockConfigError);
      assert.equal(err.file, file);
      assert.equal(err.message, `config file ${file} does not exist`);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('required keys: serverPFXFile, and a password with it', async () => {
  const none = await configError('[DEFAULT]\nlogLevel = info\n');
  assert.match(none.err.message, /^serverPFXFile is required in .*config\.ini/);
  const noPass = await configError('[DEFAULT]\nserverPFXFile = server.pfx\n');
  assert.match(noPass.err.message, /^PFXPasswd or PFXPasswdFile is required in .* with serverPFXFile/);
});

test('sections other than [DEFAULT] are refused with a clear message', async () => {
  const other = await configError(`${BASE}[server]\nknockPort = 1\n`);
  assert.match(other.err.message, /^section \[server\] in .* line 4 is not read: sKnock reads its keys from the \[DEFAULT\] section only$/);
  const lower = await configError('[default]\nserverPFXFile = server.pfx\nPFXPasswd = x\n');
  assert.match(lower.err.message, /section \[default\] .* line 1 .*case-sensitive: write \[DEFAULT\]/);
});

test('structural mistakes: duplicate key, indented line, a line that is not key = value', async () => {
  const dup = await configError(`${BASE}pfxpasswd = other\n`);
  assert.match(dup.err.message, /^key 'pfxpasswd' in .* line 4 is given twice \(first on line 3\); keep one$/);
  const indented = await configError(`${BASE}  knockPort = 1\n`);
  assert.match(indented.err.message, /^indented line in .* line 4: .*continuation/);
  const garbage = await configError(`${BASE}just words\n`);
  assert.match(garbage.err.message, /^cannot read line in .* line 4: expected "key = value"/);
});

test('every problem is collected, in line order', async () => {
  const { err } = await configError('[DEFAULT]\nknockPort = x\nserverPFXFile = server.pfx\nPFXPasswd = p\nbogus = 1\nlogLevel = nope\n');
  assert.deepEqual(err.problems.map((p) => [p.key, p.line]), [['knockPort', 2], ['bogus', 5], ['logLevel', 6]]);
  assert.match(err.message, /\(and 2 more problems: run `sknock-server check-config`\)$/);
});

test('KNOCKPACKET_MIN_LENGTH that no datagram within RECV_BUFFER can reach', async () => {
  const { err } = await configError(`${BASE}KNOCKPACKET_MIN_LENGTH = 2000\nRECV_BUFFER = 1000\n`);
  assert.match(err.message, /KNOCKPACKET_MIN_LENGTH 2000 .* line 4 needs datagrams of at least 1938 bytes, longer than RECV_BUFFER 1000 .* line 5: no knock could be accepted/);
});

test('resolveServerConfig: unknown option and bad values are named', () => {
  assert.throws(() => resolveServerConfig({ serverPfxFile: '/nonexistent/x.pfx', pfxPassword: 'x', portOpenDuration: 5 } as never), (err: unknown) => {
    assert.ok(err instanceof SknockConfigError);
    const messages = err.problems.map((p) => p.message);
    assert.ok(messages.includes("unknown server option 'portOpenDuration'; did you mean portOpenDurationSeconds?"), messages.join('\n'));
    assert.ok(messages.some((m) => /^serverPfxFile \/nonexistent\/x\.pfx does not exist$/.test(m)), messages.join('\n'));
    return true;
  });
  assert.throws(() => resolveServerConfig({ credentials: { privateKey: {} as never, certificate: new Uint8Array(1), caCertificates: [] }, knockPort: 1.5 }), /bad value for knockPort: 1\.5 must be a whole number from 1 to 65535/);
  assert.throws(() => resolveServerConfig({ credentials: { privateKey: {} as never, certificate: new Uint8Array(1), caCertificates: [] }, anyPortKnocks: 'sometimes' as never }), /anyPortKnocks: 'sometimes' must be a boolean/);
  assert.throws(() => resolveServerConfig({}), /serverPfxFile is required/);
});
