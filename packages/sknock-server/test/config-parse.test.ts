import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_KEYS, loadConfigFile, parseIni, resolveServerConfig } from '../src/config/index.js';

/** A temp folder with a fake PKCS#12 file (loadConfigFile only checks it is readable). */
function workspace(): { dir: string; write(name: string, text: string): string; done(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'sknock-config-'));
  writeFileSync(join(dir, 'server.pfx'), 'not parsed by loadConfigFile');
  return {
    dir,
    write(name, text) {
      const p = join(dir, name);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, text);
      return p;
    },
    done: () => rmSync(dir, { recursive: true, force: true }),
  };
}

const MINIMAL = '[DEFAULT]\nserverPFXFile = server.pfx\nPFXPasswd = secret\n';

test('every key has its documented default', async () => {
  const ws = workspace();
  try {
    const config = await loadConfigFile(ws.write('config.ini', MINIMAL));
    assert.equal(config.knockPacketMinLength, 800);
    assert.equal(config.portOpenDurationSeconds, 15);
    assert.equal(config.timestampThresholdSeconds, 7);
    assert.equal(config.crlUpdateIntervalMinutes, 30);
    assert.equal(config.signatureSize, 72);
    assert.equal(config.recvBuffer, 1600);
    assert.equal(config.crlFile, undefined);
    assert.equal(config.crlUrl, undefined);
    assert.equal(config.serverPfxFile, join(ws.dir, 'server.pfx'));
    assert.equal(config.pfxPassword, 'secret');
    assert.equal(config.firewallPolicy, 'none');
    assert.equal(config.knockPort, 62201);
    assert.equal(config.listenAddress, '::');
    assert.equal(config.anyPortKnocks, true);
    assert.equal(config.firewallBackend, 'nftables');
    assert.deepEqual(config.emergencyAccessPorts, [{ protocol: 'tcp', port: 22 }]);
    assert.equal(config.caFile, undefined);
    assert.equal(config.requireCrl, false);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.configFile, join(ws.dir, 'config.ini'));
    // The documented table says the same.
    const table = new Map(CONFIG_KEYS.map((k) => [k.key, k.default]));
    assert.deepEqual(
      ['KNOCKPACKET_MIN_LENGTH', 'PORT_OPEN_DURATION_IN_SECONDS', 'TIMESTAMP_THRESHOLD_IN_SECONDS', 'CRL_UPDATE_INTERVAL_IN_MINUTES', 'SIGNATURE_SIZE', 'RECV_BUFFER'].map((k) => table.get(k)),
      ['800', '15', '7', '30', '72', '1600'],
    );
    assert.equal(table.get('knockPort'), '62201');
    assert.equal(table.get('firewallPolicy'), 'none');
    assert.equal(table.get('emergencyAccessPorts'), 'tcp/22');
  } finally {
    ws.done();
  }
});

test('every key is read when given', async () => {
  const ws = workspace();
  try {
    ws.write('pass.txt', 'from-file\n');
    ws.write('ca.pem', 'ca');
    const file = ws.write(
      'config.ini',
      [
        '[DEFAULT]',
        'KNOCKPACKET_MIN_LENGTH = 700',
        'PORT_OPEN_DURATION_IN_SECONDS = 60',
        'TIMESTAMP_THRESHOLD_IN_SECONDS = 3',
        'CRL_UPDATE_INTERVAL_IN_MINUTES = 0.5',
        'SIGNATURE_SIZE = 72',
        'RECV_BUFFER = 2000',
        'crlFile = state/crl.der',
        'crlUrl = https://ca.example.org/sknock.crl',
        'serverPFXFile = server.pfx',
        'PFXPasswdFile = pass.txt',
        'firewallPolicy = DROP',
        'knockPort = 4000',
        'listenAddress = 127.0.0.1',
        'anyPortKnocks = no',
        'firewallBackend = iptables',
        'emergencyAccessPorts = tcp/22, udp/53 tcp/2222,tcp/22',
        'caFile = ca.pem',
        'requireCrl = yes',
        'logLevel = debug',
      ].join('\n'),
    );
    mkdirSync(join(ws.dir, 'state'));
    const c = await loadConfigFile(file);
    assert.equal(c.knockPacketMinLength, 700);
    assert.equal(c.portOpenDurationSeconds, 60);
    assert.equal(c.timestampThresholdSeconds, 3);
    assert.equal(c.crlUpdateIntervalMinutes, 0.5);
    assert.equal(c.signatureSize, 72);
    assert.equal(c.recvBuffer, 2000);
    assert.deepEqual(c.crlFile, [join(ws.dir, 'state', 'crl.der')]);
    assert.deepEqual(c.crlUrl, ['https://ca.example.org/sknock.crl']);
    assert.equal(c.pfxPassword, 'from-file');
    assert.equal(c.firewallPolicy, 'drop');
    assert.equal(c.knockPort, 4000);
    assert.equal(c.listenAddress, '127.0.0.1');
    assert.equal(c.anyPortKnocks, false);
    assert.equal(c.firewallBackend, 'iptables');
    assert.deepEqual(c.emergencyAccessPorts, [
      { protocol: 'tcp', port: 22 },
      { protocol: 'udp', port: 53 },
      { protocol: 'tcp', port: 2222 },
    ]);
    assert.equal(c.caFile, join(ws.dir, 'ca.pem'));
    assert.equal(c.requireCrl, true);
    assert.equal(c.logLevel, 'debug');
    assert.equal(c.pfxPasswordFile, join(ws.dir, 'pass.txt'), 'the path (not a secret): its mode is checked at start');
  } finally {
    ws.done();
  }
});

test('keys are case-insensitive; # and ; comments, blank lines and "key: value" are read', async () => {
  const ws = workspace();
  try {
    const file = ws.write(
      'config.ini',
      [
        '# sKnock',
        '; another comment style',
        '',
        '[DEFAULT]',
        '  # an indented comment',
        'SERVERPFXFILE = server.pfx',
        'pfxpasswd: pa;ss#word = x',
        'port_open_duration_in_seconds=20',
        'KnockPort : 5000',
        'REQUIRECRL = On',
        '',
      ].join('\r\n'),
    );
    const c = await loadConfigFile(file);
    assert.equal(c.serverPfxFile, join(ws.dir, 'server.pfx'));
    assert.equal(c.pfxPassword, 'pa;ss#word = x', 'a value runs to the end of its line');
    assert.equal(c.portOpenDurationSeconds, 20);
    assert.equal(c.knockPort, 5000);
    assert.equal(c.requireCrl, true);
  } finally {
    ws.done();
  }
});

test('parseIni gives lower-cased keys with spelling, value and line', () => {
  const map = parseIni('[DEFAULT]\n# c\nPORT_OPEN_DURATION_IN_SECONDS = 15\ncrlUrl = http://x/y\n', 'f.ini');
  assert.deepEqual(map.get('port_open_duration_in_seconds'), { key: 'PORT_OPEN_DURATION_IN_SECONDS', value: '15', line: 3 });
  assert.deepEqual(map.get('crlurl'), { key: 'crlUrl', value: 'http://x/y', line: 4 });
  assert.equal(map.size, 2);
});

test('booleans: true/false, yes/no, on/off, 1/0 in any case', async () => {
  const ws = workspace();
  try {
    for (const [word, expected] of [
      ['true', true], ['FALSE', false], ['yes', true], ['No', false], ['on', true], ['OFF', false], ['1', true], ['0', false],
    ] as const) {
      const c = await loadConfigFile(ws.write('config.ini', `${MINIMAL}anyPortKnocks = ${word}\nrequireCrl = ${word}\n`));
      assert.equal(c.anyPortKnocks, expected, word);
      assert.equal(c.requireCrl, expected, word);
    }
  } finally {
    ws.done();
  }
});

test('emergencyAccessPorts: empty or none turns it off', async () => {
  const ws = workspace();
  try {
    assert.deepEqual((await loadConfigFile(ws.write('a.ini', `${MINIMAL}emergencyAccessPorts =\n`))).emergencyAccessPorts, []);
    assert.deepEqual((await loadConfigFile(ws.write('b.ini', `${MINIMAL}emergencyAccessPorts = none\n`))).emergencyAccessPorts, []);
    assert.deepEqual((await loadConfigFile(ws.write('c.ini', `${MINIMAL}emergencyAccessPorts = UDP/500\n`))).emergencyAccessPorts, [{ protocol: 'udp', port: 500 }]);
  } finally {
    ws.done();
  }
});

test('relative paths are relative to the config file, not the working folder', async () => {
  const ws = workspace();
  try {
    ws.write('etc/sknock/keys/server.pfx', 'x');
    ws.write('etc/sknock/keys/pass', 'pw\r\n\n');
    ws.write('etc/sknock/ca.pem', 'x');
    const file = ws.write('etc/sknock/config.ini', '[DEFAULT]\nserverPFXFile = keys/server.pfx\nPFXPasswdFile = ./keys/pass\ncaFile = ca.pem\ncrlFile = ../../var/crl.pem\n');
    const c = await loadConfigFile(file);
    assert.equal(c.serverPfxFile, join(ws.dir, 'etc/sknock/keys/server.pfx'));
    assert.equal(c.caFile, join(ws.dir, 'etc/sknock/ca.pem'));
    assert.deepEqual(c.crlFile, [join(ws.dir, 'var/crl.pem')]);
    assert.equal(c.pfxPassword, 'pw\r\n', 'only one trailing newline is stripped');
  } finally {
    ws.done();
  }
});

test('an original sKnock config.ini parses', async () => {
  const ws = workspace();
  try {
    ws.write('certificates/devserver.pfx', 'x');
    const file = ws.write(
      'config.ini',
      [
        '[DEFAULT]',
        'KNOCKPACKET_MIN_LENGTH = 800',
        'PORT_OPEN_DURATION_IN_SECONDS = 15',
        'TIMESTAMP_THRESHOLD_IN_SECONDS = 7',
        'CRL_UPDATE_INTERVAL_IN_MINUTES = 30',
        'SIGNATURE_SIZE = 72',
        'RECV_BUFFER = 1600',
        '',
        'serverPFXFile = certificates/devserver.pfx',
        'PFXPasswd = portknocking',
        'crlFile = certificates/devca.crl',
        'crlUrl = http://127.0.0.1/devca.crl',
        'firewallPolicy = none',
        '',
      ].join('\n'),
    );
    const c = await loadConfigFile(file);
    assert.equal(c.serverPfxFile, join(ws.dir, 'certificates/devserver.pfx'));
    assert.equal(c.pfxPassword, 'portknocking');
    assert.deepEqual(c.crlFile, [join(ws.dir, 'certificates/devca.crl')]);
    assert.deepEqual(c.crlUrl, ['http://127.0.0.1/devca.crl']);
    assert.equal(c.firewallPolicy, 'none');
    assert.equal(c.knockPacketMinLength, 800);
  } finally {
    ws.done();
  }
});

test('the shipped systemd/config.ini.example parses (its paths pointed at a temp folder)', async () => {
  const example = fileURLToPath(new URL('../../systemd/config.ini.example', import.meta.url));
  const ws = workspace();
  try {
    ws.write('server.pfx.pass', 'pw\n');
    mkdirSync(join(ws.dir, 'state'));
    const text = readFileSync(example, 'utf8')
      .replace(/^serverPFXFile = .*$/m, 'serverPFXFile = server.pfx')
      .replace(/^PFXPasswdFile = .*$/m, 'PFXPasswdFile = server.pfx.pass')
      .replace(/^crlFile = .*$/m, 'crlFile = state/crl.pem');
    const c = await loadConfigFile(ws.write('config.ini', text));
    assert.equal(c.pfxPassword, 'pw');
    assert.equal(c.firewallBackend, 'nftables');
    assert.equal(c.requireCrl, false);
  } finally {
    ws.done();
  }
});

test('resolveServerConfig: camelCase options, defaults, paths against baseDir', () => {
  const ws = workspace();
  try {
    const c = resolveServerConfig({ serverPfxFile: 'server.pfx', pfxPassword: 'pw', portOpenDurationSeconds: 30, emergencyAccessPorts: 'tcp/2222' }, ws.dir);
    assert.equal(c.serverPfxFile, join(ws.dir, 'server.pfx'));
    assert.equal(c.portOpenDurationSeconds, 30);
    assert.equal(c.timestampThresholdSeconds, 7);
    assert.deepEqual(c.emergencyAccessPorts, [{ protocol: 'tcp', port: 2222 }]);
    assert.equal(c.configFile, undefined);
  } finally {
    ws.done();
  }
});

test('resolveServerConfig: in-memory credentials instead of a PKCS#12 file', () => {
  const credentials = { privateKey: {} as never, certificate: new Uint8Array([1]), caCertificates: [] };
  const c = resolveServerConfig({ credentials, firewallBackend: 'memory' });
  assert.equal(c.credentials, credentials);
  assert.equal(c.serverPfxFile, undefined);
  assert.equal(c.firewallBackend, 'memory');
});

test('crlFile and crlUrl take one value, as the original did, or several (one CRL source per CA)', async () => {
  const ws = workspace();
  try {
    ws.write('crl/one.pem', 'x');
    ws.write('crl/two files.pem', 'x');
    const file = ws.write(
      'config.ini',
      `${MINIMAL}crlFile = crl/one.pem, crl/two files.pem, crl/one.pem\ncrlUrl = http://ca1.example/one.crl https://ca2.example/two.crl,http://ca3.example/a%2Cb.crl\n`,
    );
    const c = await loadConfigFile(file);
    assert.deepEqual(c.crlFile, [join(ws.dir, 'crl/one.pem'), join(ws.dir, 'crl/two files.pem')], 'split at commas, spaces kept, repeats dropped');
    assert.deepEqual(c.crlUrl, ['http://ca1.example/one.crl', 'https://ca2.example/two.crl', 'http://ca3.example/a%2Cb.crl']);
    const lib = resolveServerConfig({ serverPfxFile: 'server.pfx', pfxPassword: 'pw', crlFile: ['crl/one.pem'], crlUrl: 'http://ca1.example/one.crl' }, ws.dir);
    assert.deepEqual(lib.crlFile, [join(ws.dir, 'crl/one.pem')]);
    assert.deepEqual(lib.crlUrl, ['http://ca1.example/one.crl']);
    assert.throws(
      () => resolveServerConfig({ serverPfxFile: 'server.pfx', pfxPassword: 'pw', crlUrl: 'http://ca1.example/one.crl, ftp://ca2.example/two.crl' }, ws.dir),
      /crlUrl: .* has 'ftp:\/\/ca2\.example\/two\.crl', which must be an http or https URL, not ftp:/,
    );
    assert.throws(() => resolveServerConfig({ serverPfxFile: 'server.pfx', pfxPassword: 'pw', crlFile: 42 as never }, ws.dir), /crlFile: 42 must be a file path or a list of them, not a number/);
    const empty = await loadConfigFile(ws.write('empty.ini', `${MINIMAL}crlFile =\ncrlUrl = , \n`));
    assert.equal(empty.crlFile, undefined);
    assert.equal(empty.crlUrl, undefined);
  } finally {
    ws.done();
  }
});
