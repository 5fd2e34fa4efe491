import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodePkcs12 } from '@sknock/protocol';
import { CHANNEL_WARNING, SknockClientError, createKnocker, knock, type WarningMessage } from '../src/index.js';
import { findSection } from '../src/profile/load-profile.js';
import { profileFileLocation } from '../src/profile/paths.js';
import { parseProfileFile } from '../src/profile/profile-file.js';
import { FakeKnockServer, freePort } from './support/knock-server.js';
import { TestCa, type TestIdentity } from './support/pki.js';

/**
 * Profiles in the SDK: the file's grammar and every error it reports (file, line, key, a
 * suggestion), which section applies to a host, the merge under the caller's options, the
 * passphrase file's mode warning, and that nothing is read unless the caller asks.
 */

let dir: string;
let server: TestIdentity;
let client: TestIdentity;
const ports: number[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sknock-profile-'));
  for (let i = 0; i < 4; i++) ports.push(await freePort('127.0.0.1'));
  const ca = await TestCa.create();
  [server, client] = await Promise.all([ca.issue({ name: 'server' }), ca.issue({ name: 'profile client', grants: ports.map((port) => ({ protocol: 'tcp' as const, port })) })]);
  await mkdir(join(dir, 'keys'));
  await writeFile(join(dir, 'keys', 'client.pfx'), await encodePkcs12({ privateKey: client.privateKey, certificate: client.certificate, passphrase: 'pfx pass' }));
  await writeFile(join(dir, 'keys', 'server.cer'), server.certificate);
  await writeFile(join(dir, 'keys', 'client.key'), client.keyPem);
  await writeFile(join(dir, 'keys', 'client.crt'), client.certificatePem);
  await writeFile(join(dir, 'keys', 'pass'), 'pfx pass\nsecond line ignored\n', { mode: 0o600 });
  await chmod(join(dir, 'keys', 'pass'), 0o600);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<SknockClientError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof SknockClientError, `expected SknockClientError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

function invalid(text: string): SknockClientError {
  try {
    parseProfileFile(text, '/etc/sknock/config');
  } catch (err) {
    assert.ok(err instanceof SknockClientError, String(err));
    assert.equal(err.code, 'ERR_SKNOCK_PROFILE_INVALID');
    assert.equal(err.path, '/etc/sknock/config');
    return err;
  }
  assert.fail('expected an error');
}

async function writeProfile(name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

describe('the file', () => {
  test('sections, case-insensitive keys, comments; paths from the folder, ~ expanded', () => {
    const file = parseProfileFile(
      [
        '# my knocks',
        '[db.example.com]',
        'PFX = keys/a.pfx',
        'serverCertificate: ~/sknock/server.cer',
        '; knock port of the server',
        'knockport = 62201',
        'family = 6',
        'grantSeconds = 30',
        '',
        '[*.internal]',
        'key = /abs/k.pem',
        'certificate = ../c.pem',
        'sourceAddress = auto',
        'stunServer = stun.example.net:3478',
        'localAddress = 10.0.0.7',
      ].join('\n'),
      '/home/u/.config/sknock/config',
    );
    assert.deepEqual(
      file.sections.map((s) => [s.name, s.line, s.settings]),
      [
        ['db.example.com', 2, { pfx: '/home/u/.config/sknock/keys/a.pfx', serverCertificate: join(homedir(), 'sknock/server.cer'), knockPort: 62201, family: 6, grantSeconds: 30 }],
        ['*.internal', 10, { key: '/abs/k.pem', certificate: '/home/u/.config/c.pem', sourceAddress: 'auto', stunServer: 'stun.example.net:3478', localAddress: '10.0.0.7' }],
      ],
    );
    assert.equal(file.sections[0]?.written['serverCertificate'], '~/sknock/server.cer');
    assert.equal(file.sections[0]?.keyLines['knockPort'], 6);
  });

  const errors: [string, string, RegExp, { line?: number; key?: string }][] = [
    ['a mistyped key, with a suggestion', '[h]\nserverCert = x', /^\/etc\/sknock\/config line 2: unknown key 'serverCert' in \[h\]; did you mean 'serverCertificate'\? \(keys: pfx, key, /, { line: 2, key: 'serverCert' }],
    ['another mistyped key', '[h]\npassphrasefil = x', /did you mean 'passphraseFile'\?/, { line: 2, key: 'passphrasefil' }],
    ['a key far from any', '[h]\ncolour = blue', /unknown key 'colour' in \[h\] \(keys:/, { line: 2, key: 'colour' }],
    ['a key outside any section', 'pfx = a.pfx', /line 1: 'pfx' is outside any section/, { line: 1, key: 'pfx' }],
    ['a key given twice', '[h]\npfx = a\n\nPfx = b', /line 4: 'Pfx' is given twice in \[h\] \(first on line 2\)/, { line: 4, key: 'Pfx' }],
    ['a section given twice', '[h]\n[x]\n[H]', /line 3: section \[H\] is given twice \(first on line 1\)/, { line: 3 }],
    ['a bad port', '[h]\nknockPort = 70000', /line 2: knockPort '70000' is not a port number from 1 to 65535/, { line: 2, key: 'knockPort' }],
    ['a bad family', '[h]\nfamily = ipv6', /family 'ipv6' is not 4, 6 or 0/, { key: 'family' }],
    ['a bad address', '[h]\nlocalAddress = 10.0.0.300', /localAddress '10\.0\.0\.300' is not an IPv4 or IPv6 address/, { key: 'localAddress' }],
    ['a bad source address', '[h]\nsourceAddress = automatic', /nor auto/, { key: 'sourceAddress' }],
    ['a bad STUN server', '[h]\nsourceAddress = auto\nstunServer = [::1', /stunServer has no \] after the IPv6 address/, { line: 3, key: 'stunServer' }],
    ['grantSeconds 0', '[h]\ngrantSeconds = 0', /grantSeconds '0' is not a whole number of seconds from 1 to 86400/, { key: 'grantSeconds' }],
    ['an empty path', '[h]\npfx =', /pfx is empty/, { key: 'pfx' }],
    ['~user', '[h]\npfx = ~bob/a.pfx', /only ~ and ~\/ are expanded, not ~bob/, { key: 'pfx' }],
    ['pfx and key together', '[h]\npfx = a\nkey = k\ncertificate = c', /line 3: \[h\] gives pfx and key\/certificate/, { line: 3, key: 'key' }],
    ['key without certificate', '[h]\nkey = k', /\[h\] gives key without certificate/, { line: 2, key: 'key' }],
    ['an indented line', '[h]\npfx = a\n  b', /line 3: indented line/, { line: 3 }],
    ['a line that is not INI', '[h]\njust words', /line 2: expected "key = value"/, { line: 2 }],
    ['[DEFAULT]', '[DEFAULT]\npfx = a', /\[DEFAULT\] is not special here: .* write \[\*\]/, { line: 1 }],
    ['a section name with a space', '[a b]', /letters, digits and \. - _ : \* only/, { line: 1 }],
    ['an empty section name', '[]', /empty section name/, { line: 1 }],
  ];
  for (const [name, text, message, where] of errors) {
    test(`error: ${name}`, () => {
      const err = invalid(text);
      assert.match(err.message, message);
      assert.equal(err.option, 'profile');
      if (where.line !== undefined) assert.equal(err.line, where.line);
      if (where.key !== undefined) assert.equal(err.key, where.key);
    });
  }
});

describe('which section applies', () => {
  const file = parseProfileFile(
    ['[*]', 'knockPort = 1', '[*.example.com]', 'knockPort = 2', '[*.db.example.com]', 'knockPort = 3', '[db.example.com]', 'knockPort = 4', '[*.ex*.com]', 'knockPort = 5', '[work]', 'knockPort = 6', '[fd00::1]', 'knockPort = 7', '[10.0.*]', 'knockPort = 8'].join('\n'),
    '/p',
  );
  const byHost = (host: string): number | undefined => findSection(file, { host }).settings.knockPort;
  test('the exact name before any pattern, case-insensitive', () => {
    assert.equal(byHost('db.example.com'), 4);
    assert.equal(byHost('DB.Example.COM'), 4);
  });
  test('else the pattern with the most literal characters; of equals, the first', () => {
    assert.equal(byHost('a.db.example.com'), 3);
    assert.equal(byHost('www.example.com'), 2); // *.example.com (12) before *.ex*.com (7)
    assert.equal(byHost('a.b.example.com'), 2); // * spans dots
    assert.equal(byHost('www.exotic.com'), 5);
    assert.equal(byHost('example.com'), 1); // *.example.com needs the dot
    assert.equal(byHost('10.0.3.4'), 8);
    assert.equal(byHost('elsewhere'), 1);
  });
  test('IPv6 hosts, with or without brackets', () => {
    assert.equal(byHost('fd00::1'), 7);
    assert.equal(byHost('[fd00::1]'), 7);
  });
  test('by name: that section only, no pattern expansion', () => {
    assert.equal(findSection(file, { name: 'work' }).settings.knockPort, 6);
    assert.equal(findSection(file, { name: '*.example.com' }).settings.knockPort, 2);
    assert.throws(() => findSection(file, { name: 'wrok' }), (err: SknockClientError) => {
      assert.equal(err.code, 'ERR_SKNOCK_PROFILE_NOT_FOUND');
      assert.match(err.message, /has no section \[wrok\]; did you mean \[work\]\?/);
      return true;
    });
  });
  test('no section for a host', () => {
    const none = parseProfileFile('[a.example]\nknockPort = 1', '/p');
    assert.throws(() => findSection(none, { host: 'b.example' }), (err: SknockClientError) => {
      assert.equal(err.code, 'ERR_SKNOCK_PROFILE_NOT_FOUND');
      assert.match(err.message, /^profile: no section of \/p matches the host b\.example \(its sections: \[a\.example\]; add \[b\.example\] or a pattern such as \[\*\]\)$/);
      return true;
    });
  });
});

describe('where the file is', () => {
  test('$SKNOCK_CONFIG, else $XDG_CONFIG_HOME/sknock/config (absolute only), else ~/.config/sknock/config', () => {
    assert.deepEqual(profileFileLocation({ SKNOCK_CONFIG: '/x/y', XDG_CONFIG_HOME: '/xdg' }), { path: '/x/y', explicit: true });
    assert.deepEqual(profileFileLocation({ XDG_CONFIG_HOME: '/xdg' }), { path: '/xdg/sknock/config', explicit: false });
    assert.deepEqual(profileFileLocation({ XDG_CONFIG_HOME: 'relative' }), { path: join(homedir(), '.config/sknock/config'), explicit: false });
    assert.deepEqual(profileFileLocation({ SKNOCK_CONFIG: '' }), { path: join(homedir(), '.config/sknock/config'), explicit: false });
  });
});

describe('knock() and createKnocker() with a profile', () => {
  const section = (host: string, port: number, extra: string[] = []): string =>
    [`[${host}]`, 'pfx = keys/client.pfx', 'passphraseFile = keys/pass', 'serverCertificate = keys/server.cer', `knockPort = ${port}`, ...extra].join('\n');

  test('profile: true takes everything from the section for the host', async () => {
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port: ports[0]! });
    try {
      const file = await writeProfile('p1', `${section('127.0.0.*', fake.knockPort, ['grantSeconds = 20'])}\n`);
      const result = await knock({ host: '127.0.0.1', port: ports[0]!, profile: true, profileFile: file, timeout: 5000 });
      assert.equal(result.verified, true);
      assert.equal(fake.validKnocks.length, 1);
    } finally {
      await fake.close();
    }
  });

  test("the caller's options win: knockPort and the credentials as a whole", async () => {
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port: ports[1]! });
    try {
      // The section's knock port and pfx are wrong; the caller's are right.
      const file = await writeProfile('p2', `[127.0.0.1]\npfx = keys/missing.pfx\npassphraseFile = keys/missing-pass\nserverCertificate = keys/server.cer\nknockPort = 9\n`);
      const result = await knock({
        host: '127.0.0.1',
        port: ports[1]!,
        profile: true,
        profileFile: file,
        knockPort: fake.knockPort,
        key: join(dir, 'keys', 'client.key'),
        certificate: join(dir, 'keys', 'client.crt'),
        timeout: 5000,
      });
      assert.equal(result.verified, true);
      assert.equal(fake.received.length, 1, 'nothing went to the profile knock port');
    } finally {
      await fake.close();
    }
  });

  test("profile: 'name', and createKnocker({ profile }) whose knock settings are defaults of every knock", async () => {
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port: ports[2]! });
    try {
      const file = await writeProfile('p3', `# work\n${section('work', fake.knockPort)}\n`);
      await knock({ host: '127.0.0.1', port: ports[2]!, profile: 'work', profileFile: file, timeout: 5000 });
      const knocker = await createKnocker({ profile: 'work', profileFile: file });
      await knocker.knock({ host: '127.0.0.1', port: ports[2]!, timeout: 5000 });
      assert.equal(fake.validKnocks.length, 2);
      await assert.rejects(createKnocker({ profile: true, profileFile: file } as never), { code: 'ERR_SKNOCK_INVALID_ARGUMENT', option: 'profile' });
    } finally {
      await fake.close();
    }
  });

  test('$SKNOCK_CONFIG is read with profile: true, and never without profile', async () => {
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port: ports[3]! });
    const saved = process.env['SKNOCK_CONFIG'];
    try {
      process.env['SKNOCK_CONFIG'] = await writeProfile('p4', `${section('127.0.0.1', fake.knockPort)}\n`);
      await knock({ host: '127.0.0.1', port: ports[3]!, profile: true, timeout: 5000 });
      process.env['SKNOCK_CONFIG'] = await writeProfile('broken', 'this is not a profile file\n');
      const err = await rejection(knock({ host: '127.0.0.1', port: ports[3]!, profile: true }));
      assert.equal(err.code, 'ERR_SKNOCK_PROFILE_INVALID');
      // Without `profile` the broken file is not even opened.
      await knock({ host: '127.0.0.1', port: ports[3]!, credentials: { privateKey: client.privateKey, certificate: client.certificate }, serverCertificate: server.certificate, knockPort: fake.knockPort, timeout: 5000 });
    } finally {
      if (saved === undefined) delete process.env['SKNOCK_CONFIG'];
      else process.env['SKNOCK_CONFIG'] = saved;
      await fake.close();
    }
  });

  test('a passphrase file other users can read: a warning on sknock:client:warning, the knock goes on', async () => {
    const loose = join(dir, 'keys', 'loose-pass');
    await writeFile(loose, 'pfx pass\n');
    await chmod(loose, 0o644);
    const file = await writeProfile('p5', `[127.0.0.1]\npfx = keys/client.pfx\npassphraseFile = keys/loose-pass\nserverCertificate = keys/server.cer\n[tight]\npfx = keys/client.pfx\npassphraseFile = keys/pass\nserverCertificate = keys/server.cer\n`);
    const warnings: WarningMessage[] = [];
    const fn = (m: unknown): void => void warnings.push(m as WarningMessage);
    subscribe(CHANNEL_WARNING, fn);
    try {
      await createKnocker({ profile: '127.0.0.1', profileFile: file });
      assert.equal(warnings.length, 1);
      assert.deepEqual({ ...warnings[0] }, {
        warning: 'passphrase-file-mode',
        path: loose,
        mode: 0o644,
        message: `the passphrase file ${loose} can be read by other users (mode 0644); run: chmod 600 ${loose}`,
      });
      await createKnocker({ profile: 'tight', profileFile: file });
      assert.equal(warnings.length, 1, 'mode 0600: no warning');
    } finally {
      unsubscribe(CHANNEL_WARNING, fn);
    }
  });

  test('errors: a misspelt option before any file is read; profileFile alone; a bad profile value; a missing file; a path from the profile says where it was written', async () => {
    let err = await rejection(knock({ host: 'h', port: 1, profile: true, profileFile: '/nonexistent/config', knockprt: 1 } as never));
    assert.equal(err.code, 'ERR_SKNOCK_INVALID_ARGUMENT');
    assert.match(err.message, /^knockprt: unknown option; did you mean knockPort\?/);
    err = await rejection(knock({ host: 'h', port: 1, profileFile: '/x', pfx: 'a', passphrase: '', serverCertificate: 'b' } as never));
    assert.equal(err.option, 'profileFile');
    err = await rejection(knock({ host: 'h', port: 1, profile: 7 } as never));
    assert.equal(err.option, 'profile');
    err = await rejection(knock({ host: 'h', port: 1, profile: true, profileFile: join(dir, 'absent') }));
    assert.equal(err.code, 'ERR_SKNOCK_FILE_NOT_FOUND');
    assert.equal(err.option, 'profileFile');
    const file = await writeProfile('p6', '[h]\npfx = keys/client.pfx\npassphraseFile = keys/nope\nserverCertificate = keys/server.cer\n');
    err = await rejection(knock({ host: 'h', port: 1, profile: true, profileFile: file }));
    assert.equal(err.code, 'ERR_SKNOCK_FILE_NOT_FOUND');
    assert.equal(err.message, `passphraseFile: file not found: ${join(dir, 'keys', 'nope')} (passphraseFile of [h] in ${file} line 3)`);
  });
});
