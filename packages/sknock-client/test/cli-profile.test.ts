import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodePkcs12 } from '@sknock/protocol';
import { FakeKnockServer, freePort } from './support/knock-server.js';
import { TestCa, type TestIdentity } from './support/pki.js';
import { jsonOf, runCli, type Run } from './support/run-cli.js';

/**
 * Profiles from the command line, as processes: `sknock knock HOST -p PORT` and
 * `sknock connect HOST PORT` with everything from the profile file, flags over it,
 * `sknock profile add | list | show`, and errors that name the file, the line and the key.
 */

let dir: string;
let server: TestIdentity;
let client: TestIdentity;
const ports: number[] = [];
const f: Record<string, string> = {};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sknock-cli-profile-'));
  for (let i = 0; i < 6; i++) ports.push(await freePort('127.0.0.1'));
  const ca = await TestCa.create();
  [server, client] = await Promise.all([ca.issue({ name: 'server' }), ca.issue({ name: 'cli profile client', grants: ports.map((port) => ({ protocol: 'tcp' as const, port })) })]);
  await mkdir(join(dir, 'keys'));
  const files: Record<string, string | Uint8Array> = {
    'client.pfx': await encodePkcs12({ privateKey: client.privateKey, certificate: client.certificate, passphrase: 'pfx pass' }),
    'server.cer': server.certificate,
    'client.key': client.keyPem,
    'client.crt': client.certificatePem,
    pass: 'pfx pass\n',
  };
  for (const [name, data] of Object.entries(files)) {
    f[name] = join(dir, 'keys', name);
    await writeFile(f[name], data);
  }
  await chmod(f['pass']!, 0o600);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fresh XDG_CONFIG_HOME (its sknock/config does not exist yet). */
async function configHome(): Promise<{ home: string; file: string }> {
  const home = await mkdtemp(join(dir, 'xdg-'));
  return { home, file: join(home, 'sknock', 'config') };
}

async function withServer<T>(port: number, fn: (fake: FakeKnockServer) => Promise<T>, onConnection?: (s: import('node:net').Socket) => void): Promise<T> {
  const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port, ...(onConnection === undefined ? {} : { onConnection }) });
  try {
    return await fn(fake);
  } finally {
    await fake.close();
  }
}

function ok(r: Run): void {
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout.toString()}\n${r.stderr}`);
}

describe('sknock profile add, then knock and connect with nothing but the host', () => {
  test('add writes the section (folder 0700, file 0600); knock takes everything from it', async () => {
    const { home, file } = await configHome();
    await withServer(ports[0]!, async (fake) => {
      const add = await runCli(
        ['profile', 'add', '127.0.0.1', '--pfx', 'keys/client.pfx', '--passphrase-file', 'keys/pass', '--server-cert', 'keys/server.cer', '--knock-port', String(fake.knockPort), '--json'],
        { configHome: home, cwd: dir },
      );
      ok(add);
      assert.deepEqual(jsonOf(add), {
        ok: true,
        section: '127.0.0.1',
        path: file,
        replaced: false,
        settings: { pfx: f['client.pfx'], serverCertificate: f['server.cer'], passphraseFile: f['pass'], knockPort: String(fake.knockPort) },
      });
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      assert.equal((await stat(join(home, 'sknock'))).mode & 0o777, 0o700);
      assert.equal(
        await readFile(file, 'utf8'),
        `[127.0.0.1]\npfx = ${f['client.pfx']}\nserverCertificate = ${f['server.cer']}\npassphraseFile = ${f['pass']}\nknockPort = ${fake.knockPort}\n`,
      );
      const knock = await runCli(['knock', '127.0.0.1', '-p', String(ports[0]), '--json'], { configHome: home });
      ok(knock);
      assert.equal(jsonOf(knock)['verified'], true);
      assert.equal(knock.stderr, '', 'no warning for a 0600 passphrase file');
      assert.equal(fake.validKnocks.length, 1);
    });
  });

  test('connect takes it from the profile too (ssh -o ProxyCommand="sknock connect %h %p")', async () => {
    const { home } = await configHome();
    await withServer(
      ports[1]!,
      async (fake) => {
        ok(await runCli(['profile', 'add', '127.0.0.*', '--key', f['client.key']!, '--cert', f['client.crt']!, '--server-cert', f['server.cer']!, '--knock-port', String(fake.knockPort)], { configHome: home }));
        const r = await runCli(['connect', '127.0.0.1', String(ports[1])], { configHome: home, input: 'ping\n' });
        ok(r);
        assert.equal(r.stdout.toString(), 'ping\n');
        assert.equal(fake.validKnocks.length, 1);
      },
      (s) => s.pipe(s),
    );
  });

  test('keeps comments and other sections; an existing section needs --force, which keeps its comments', async () => {
    const { home, file } = await configHome();
    await mkdir(join(home, 'sknock'));
    const original = '# my hosts\r\n[a.example]\r\n; the old one\r\nknockPort = 1000\r\n\r\n# b follows\r\n[b.example]\r\nknockPort = 2000\r\n';
    await writeFile(file, original, { mode: 0o644 });
    const inode = (await stat(file)).ino;
    ok(await runCli(['profile', 'add', 'c.example', '--knock-port', '3000'], { configHome: home }));
    assert.equal(await readFile(file, 'utf8'), `${original}\r\n[c.example]\r\nknockPort = 3000\r\n`);
    assert.notEqual((await stat(file)).ino, inode, 'replaced by a rename, not rewritten in place');
    assert.equal((await stat(file)).mode & 0o777, 0o600);

    const again = await runCli(['profile', 'add', 'A.example', '--knock-port', '1111'], { configHome: home });
    assert.equal(again.code, 2);
    assert.match(again.stderr, /\[A\.example\] is in .*config already \(line 2\); --force replaces its settings/);
    ok(await runCli(['profile', 'add', 'a.example', '--knock-port', '1111', '-6', '--force'], { configHome: home }));
    assert.equal(
      await readFile(file, 'utf8'),
      '# my hosts\r\n[a.example]\r\nknockPort = 1111\r\nfamily = 6\r\n; the old one\r\n\r\n# b follows\r\n[b.example]\r\nknockPort = 2000\r\n\r\n[c.example]\r\nknockPort = 3000\r\n',
    );
    assert.deepEqual((await readdir(join(home, 'sknock'))).sort(), ['config'], 'no temporary file left');
  });

  test('a profile file that is a symbolic link: the target is replaced, the link stays', async () => {
    const { home, file } = await configHome();
    await mkdir(join(home, 'sknock'));
    const target = join(home, 'real-config');
    await writeFile(target, '[x]\nknockPort = 1\n');
    await symlink(target, file);
    ok(await runCli(['profile', 'add', 'y', '--knock-port', '2'], { configHome: home }));
    assert.ok((await import('node:fs')).lstatSync(file).isSymbolicLink());
    assert.equal(await readFile(target, 'utf8'), '[x]\nknockPort = 1\n\n[y]\nknockPort = 2\n');
  });

  test('add refuses what it cannot write well: missing files, bad values, --passphrase-env, a broken file, no setting', async () => {
    const { home, file } = await configHome();
    const cases: [string[], RegExp][] = [
      [['profile', 'add', 'h', '--pfx', join(dir, 'nope.pfx')], /--pfx: file not found: .*nope\.pfx/],
      [['profile', 'add', 'h', '--knock-port', '99999'], /--knock-port: '99999' is not a port number/],
      [['profile', 'add', 'h', '--source-address', 'somewhere'], /--source-address: 'somewhere' is not an IPv4 or IPv6 address, nor auto/],
      [['profile', 'add', 'h', '--passphrase-env', 'X'], /a profile keeps no password and no variable name/],
      [['profile', 'add', 'h b', '--knock-port', '1'], /letters, digits and/],
      [['profile', 'add', 'h'], /give at least one setting/],
      [['profile', 'add', 'h', '--server-certt', f['server.cer']!], /unknown option --server-certt; did you mean --server-cert\?/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args, { configHome: home });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    await mkdir(join(home, 'sknock'));
    await writeFile(file, '[h]\nknockPrt = 1\n');
    const broken = await runCli(['profile', 'add', 'i', '--knock-port', '2'], { configHome: home });
    assert.equal(broken.code, 2);
    assert.match(broken.stderr, /line 2: unknown key 'knockPrt' in \[h\]; did you mean 'knockPort'\?/);
    assert.equal(await readFile(file, 'utf8'), '[h]\nknockPrt = 1\n', 'left as it was');
  });
});

describe('flags over the profile; which file, which section', () => {
  test('a flag overrides the section (a wrong knockPort in the profile, the right one on the command line)', async () => {
    const { home } = await configHome();
    await withServer(ports[2]!, async (fake) => {
      const closed = await freePort('127.0.0.1');
      ok(await runCli(['profile', 'add', '127.0.0.1', '--pfx', f['client.pfx']!, '--passphrase-file', f['pass']!, '--server-cert', f['server.cer']!, '--knock-port', String(closed)], { configHome: home }));
      ok(await runCli(['knock', '127.0.0.1', '-p', String(ports[2]), '--knock-port', String(fake.knockPort)], { configHome: home }));
      assert.equal(fake.received.length, 1);
    });
  });

  test('$SKNOCK_CONFIG, then --config over it; --profile NAME; --no-profile', async () => {
    const { home } = await configHome();
    await withServer(ports[3]!, async (fake) => {
      const section = `pfx = ${f['client.pfx']}\npassphraseFile = ${f['pass']}\nserverCertificate = ${f['server.cer']}\nknockPort = ${fake.knockPort}\n`;
      const envFile = join(dir, 'env-config');
      await writeFile(envFile, `[127.0.0.1]\n${section}`);
      const flagFile = join(dir, 'flag-config');
      await writeFile(flagFile, `[work]\n${section}`);
      ok(await runCli(['knock', '127.0.0.1', '-p', String(ports[3])], { configHome: home, env: { SKNOCK_CONFIG: envFile } }));
      ok(await runCli(['knock', '127.0.0.1', '-p', String(ports[3]), '--config', flagFile, '--profile', 'work'], { configHome: home, env: { SKNOCK_CONFIG: envFile } }));
      assert.equal(fake.validKnocks.length, 2);
      const typo = await runCli(['knock', '127.0.0.1', '-p', String(ports[3]), '--config', flagFile, '--profile', 'wrok'], { configHome: home });
      assert.equal(typo.code, 2);
      assert.match(typo.stderr, /--profile .*flag-config has no section \[wrok\]; did you mean \[work\]\?/);
      const none = await runCli(['knock', '127.0.0.1', '-p', String(ports[3]), '--no-profile'], { configHome: home, env: { SKNOCK_CONFIG: envFile } });
      assert.equal(none.code, 2);
      assert.match(none.stderr, /--server-cert is required/);
      const missing = await runCli(['knock', '127.0.0.1', '-p', String(ports[3])], { configHome: home, env: { SKNOCK_CONFIG: join(dir, 'absent') } });
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /\$SKNOCK_CONFIG: file not found: .*absent/);
    });
  });

  test('no section for the host: the flags must say everything, and the message says where a profile would go', async () => {
    const { home } = await configHome();
    ok(await runCli(['profile', 'add', 'other.example', '--knock-port', '1'], { configHome: home }));
    const r = await runCli(['knock', '127.0.0.1', '-p', '22'], { configHome: home });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--server-cert is required, or a \[host\] section in the profile file/);
  });

  test('a passphrase file other users can read: a warning on stderr (from the profile and from --passphrase-file)', async () => {
    const { home } = await configHome();
    const loose = join(dir, 'keys', 'loose');
    await writeFile(loose, 'pfx pass\n');
    await chmod(loose, 0o640);
    await withServer(ports[4]!, async (fake) => {
      const add = await runCli(['profile', 'add', '127.0.0.1', '--pfx', f['client.pfx']!, '--passphrase-file', loose, '--server-cert', f['server.cer']!, '--knock-port', String(fake.knockPort)], { configHome: home });
      ok(add);
      const warning = `sknock: warning: the passphrase file ${loose} can be read by other users (mode 0640); run: chmod 600 ${loose}\n`;
      assert.equal(add.stderr, warning);
      const knock = await runCli(['knock', '127.0.0.1', '-p', String(ports[4])], { configHome: home });
      ok(knock);
      assert.equal(knock.stderr, warning);
      const flag = await runCli(['knock', '127.0.0.1', '-p', String(ports[4]), '--no-profile', '--pfx', f['client.pfx']!, '--passphrase-file', loose, '--server-cert', f['server.cer']!, '--knock-port', String(fake.knockPort)], { configHome: home });
      ok(flag);
      assert.equal(flag.stderr, warning);
    });
  });

  test('errors in the file name the file, the line and the key, with a suggestion', async () => {
    const { home, file } = await configHome();
    await mkdir(join(home, 'sknock'));
    await writeFile(file, '# hosts\n[127.0.0.1]\nserverCert = /x.cer\n');
    const r = await runCli(['knock', '127.0.0.1', '-p', '22', '--json'], { configHome: home });
    assert.equal(r.code, 2);
    assert.deepEqual(jsonOf(r).error, {
      code: 'ERR_SKNOCK_PROFILE_INVALID',
      message: `${file} line 3: unknown key 'serverCert' in [127.0.0.1]; did you mean 'serverCertificate'? (keys: pfx, key, certificate, serverCertificate, passphraseFile, knockPort, sourceAddress, localAddress, stunServer, family, grantSeconds)`,
    });
  });

  test('a value the profile gave is named by its place in the file, not by a flag nobody typed', async () => {
    const { home, file } = await configHome();
    await mkdir(join(home, 'sknock'));
    await writeFile(file, `[127.0.0.1]\npfx = ${join(dir, 'gone.pfx')}\npassphraseFile = ${f['pass']}\nserverCertificate = ${f['server.cer']}\n`);
    const r = await runCli(['knock', '127.0.0.1', '-p', '22'], { configHome: home });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `sknock: pfx in [127.0.0.1] of ${file} line 2: file not found: ${join(dir, 'gone.pfx')}\n`);
  });
});

describe('sknock profile list and show', () => {
  test('list shows every section as written, never a password; show says which section applies', async () => {
    const { home, file } = await configHome();
    ok(await runCli(['profile', 'add', '*.example.com', '--pfx', f['client.pfx']!, '--passphrase-file', f['pass']!, '--server-cert', f['server.cer']!], { configHome: home }));
    ok(await runCli(['profile', 'add', 'db.example.com', '--knock-port', '62201', '--source-address', 'auto', '--stun-server', 'stun.example.net'], { configHome: home }));
    const list = await runCli(['profile', 'list'], { configHome: home });
    ok(list);
    assert.equal(
      list.stdout.toString(),
      `# ${file}\n[*.example.com] (line 1)\n  pfx = ${f['client.pfx']}\n  serverCertificate = ${f['server.cer']}\n  passphraseFile = ${f['pass']}\n\n` +
        '[db.example.com] (line 6)\n  knockPort = 62201\n  sourceAddress = auto\n  stunServer = stun.example.net\n',
    );
    const listJson = await runCli(['profile', 'list', '--json'], { configHome: home });
    ok(listJson);
    assert.deepEqual((jsonOf(listJson)['sections'] as { name: string }[]).map((s) => s.name), ['*.example.com', 'db.example.com']);
    for (const r of [list, listJson]) assert.ok(!r.stdout.toString().includes('pfx pass'), 'the password is not shown');

    const show = await runCli(['profile', 'show', 'www.example.com', '--json'], { configHome: home });
    ok(show);
    assert.equal(jsonOf(show)['section'], '*.example.com');
    const exact = await runCli(['profile', 'show', 'db.example.com'], { configHome: home });
    ok(exact);
    assert.match(exact.stdout.toString(), /^db\.example\.com: \[db\.example\.com\] of .* line 6\n/);
    const none = await runCli(['profile', 'show', 'example.org'], { configHome: home });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no section of .* applies to example\.org/);
  });

  test('list without a profile file says where it would be', async () => {
    const { home, file } = await configHome();
    const r = await runCli(['profile', 'list'], { configHome: home });
    ok(r);
    assert.equal(r.stdout.toString(), `sknock: no profile file at ${file} (sknock profile add … writes one)\n`);
  });
});
