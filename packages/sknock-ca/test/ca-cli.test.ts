import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createKnockPacket, encodePem, knockDatagramLength, loadCredentials, openKnockPacket, parsePortGrants, verifyKnockSignature } from '@sknock/protocol';
import { PassThrough } from 'node:stream';
import { createCa } from '../src/index.js';
import { runCli } from '../src/cli/run.js';
import { openssl, tempFolder } from './support/ca-tools.js';
import { runWithClosedOutput } from './support/closed-output.js';

/**
 * `sknock-ca` run as a process, the way people run it; the finer cases run the same command
 * line in this process (`runCli`), which spares a second of module loading per run.
 */

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function sknockCa(args: readonly string[], cwd: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [MAIN, ...args],
      { cwd, env: { ...process.env, ...env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== 'number') return reject(error);
        resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
      },
    );
    child.stdin?.end(); // standard input is a pipe, never a terminal
  });
}

/** The same command line, run in this process with standard input a pipe (not a terminal). */
async function sknockCaHere(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const sink = (into: string[]) => Object.assign(new PassThrough(), { write: (chunk: string) => (into.push(String(chunk)), true) });
  const code = await runCli(args, {
    stdout: sink(out),
    stderr: sink(err),
    input: new PassThrough() as unknown as NodeJS.ReadStream,
    output: sink(err) as unknown as NodeJS.WriteStream,
    env: { ...process.env, ...env },
  });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

describe('sknock-ca command', () => {
  const tmp = tempFolder('sknock-ca-cli');
  const cwd = tmp.path;
  const dir = join(cwd, 'sknock-ca');
  const env = { KNOCK_PW: 'correct horse' };
  /** The CA key's passphrase: every signing command below passes CA. */
  const CA_PW = 'the CA secret';
  const CA = ['--ca-passphrase-env', 'SKNOCK_TEST_CA_PW'];
  after(() => {
    tmp.remove();
    delete process.env.SKNOCK_TEST_CA_PW;
  });

  before(() => {
    writeFileSync(join(cwd, 'pw.txt'), 'from a file\nsecond line ignored\n');
    process.env.SKNOCK_TEST_CA_PW = CA_PW; // children and runCli read process.env
  });

  it('prints help for the command and for each subcommand', async () => {
    const top = await sknockCa(['--help'], cwd);
    assert.equal(top.code, 0);
    assert.match(top.stdout, /issue-client/);
    const sub = await sknockCa(['issue-client', '--help'], cwd);
    assert.equal(sub.code, 0);
    assert.match(sub.stdout, /^Usage: sknock-ca issue-client/);
    for (const c of ['init', 'issue-server', 'issue-client', 'sign-csr', 'revoke', 'crl', 'list']) {
      const r = await sknockCaHere([c, '--help']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^Usage: sknock-ca ${c}`));
      assert.match(r.stdout, /--dir DIR/);
    }
    assert.equal((await sknockCaHere([])).code, 2);
    const unknown = await sknockCaHere(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
  });

  it('says clearly when there is no CA folder', async () => {
    const r = await sknockCa(['list'], cwd);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /no CA in .*sknock-ca \(ca\.key is missing\); make one with: sknock-ca init/);
    for (const args of [['issue-client', '--name', 'a', '--grant', 'tcp/22', '--passphrase-env', 'KNOCK_PW'], ['crl', '--dir', join(cwd, 'nowhere')]]) {
      const here = await sknockCaHere([...args, ...(args.includes('--dir') ? [] : ['--dir', dir])], env);
      assert.equal(here.code, 1, here.stderr);
      assert.match(here.stderr, /no CA in .*\(ca\.key is missing\)/);
    }
  });

  it('init needs a CA passphrase (or --no-passphrase) and takes none from argv', async () => {
    const noTty = await sknockCa(['init', '--name', 'Example Knock CA'], cwd);
    assert.equal(noTty.code, 2, noTty.stderr);
    assert.match(noTty.stderr, /the new CA key .*not a terminal.*--ca-passphrase-file FILE or --ca-passphrase-env VARIABLE, or --no-passphrase/);
    const both = await sknockCaHere(['init', '--name', 'X', '--no-passphrase', ...CA, '--dir', dir]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--no-passphrase or a CA passphrase/);
    const argv = await sknockCaHere(['init', '--name', 'X', '--ca-passphrase', 'x', '--dir', dir]);
    assert.equal(argv.code, 2);
    assert.match(argv.stderr, /never taken from the command line: use --ca-passphrase-file/);
    assert.equal(existsSync(dir), false, 'nothing made');
  });

  it('init makes the CA with private files 0600 in a 0700 folder, the key encrypted, and refuses to run twice', async () => {
    const missing = await sknockCaHere(['init', '--dir', dir]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--name is required/);
    const r = await sknockCa(['init', '--name', 'Example Knock CA', '--days', '400', ...CA], cwd);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Made the CA "Example Knock CA"/);
    assert.match(r.stdout, /ca\.key \(encrypted/);
    assert.equal(mode(dir), 0o700);
    assert.equal(mode(join(dir, 'ca.key')), 0o600);
    assert.match(readFileSync(join(dir, 'ca.key'), 'utf8'), /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    // openssl, not this code, reads it: PBES2 with scrypt and AES-256-CBC, and only with the passphrase
    const opened = openssl(['pkey', '-in', join(dir, 'ca.key'), '-passin', 'env:SKNOCK_TEST_CA_PW', '-noout']);
    assert.equal(opened.status, 0, opened.stderr);
    const wrong = openssl(['pkey', '-in', join(dir, 'ca.key'), '-passin', 'pass:not it', '-noout']);
    assert.notEqual(wrong.status, 0);
    const asn1 = openssl(['asn1parse', '-in', join(dir, 'ca.key')]);
    assert.match(asn1.stdout, /:PBES2[\s\S]*:scrypt[\s\S]*INTEGER\s+:4000[\s\S]*INTEGER\s+:08[\s\S]*INTEGER\s+:05[\s\S]*:aes-256-cbc/);
    const pub = openssl(['pkey', '-in', join(dir, 'ca.key'), '-passin', 'env:SKNOCK_TEST_CA_PW', '-pubout']);
    assert.equal(pub.stdout, new X509Certificate(readFileSync(join(dir, 'ca.pem'))).publicKey.export({ type: 'spki', format: 'pem' }));
    const ca = new X509Certificate(readFileSync(join(dir, 'ca.pem')));
    assert.deepEqual(ca.raw, readFileSync(join(dir, 'ca.der')));
    assert.equal(ca.subject, 'CN=Example Knock CA');
    assert.ok(ca.ca);
    const days = (Date.parse(ca.validTo) - Date.now()) / 86_400_000;
    assert.ok(days > 399 && days < 401, `${days} days`);
    const again = await sknockCa(['init', '--name', 'Another CA', '--no-passphrase'], cwd);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /holds a CA already/);
    assert.equal(new X509Certificate(readFileSync(join(dir, 'ca.pem'))).subject, 'CN=Example Knock CA', 'the first CA is untouched');
  });

  it('signing with the encrypted CA key needs its passphrase: none on a pipe is bad usage, a wrong one names the flag', async () => {
    const none = await sknockCa(['issue-server', '--name', 'nope.example.org', '--passphrase-env', 'KNOCK_PW'], cwd, env);
    assert.equal(none.code, 2, none.stderr);
    assert.match(none.stderr, /encrypted CA key .*not a terminal.*--ca-passphrase-file FILE or --ca-passphrase-env/);
    writeFileSync(join(cwd, 'wrong.txt'), 'not the CA secret\n');
    for (const [flagArgs, named] of [
      [['--ca-passphrase-file', 'wrong.txt'], /--ca-passphrase-file wrong\.txt/],
      [['--ca-passphrase-env', 'KNOCK_PW'], /--ca-passphrase-env KNOCK_PW/],
    ] as const) {
      const r = await sknockCa(['crl', ...flagArgs], cwd, env);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /the CA key .*ca\.key does not open with the passphrase from/);
      assert.match(r.stderr, named);
      assert.match(r.stderr, /\(ERR_SKNOCK_CA_BAD_PASSPHRASE\)/);
      assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
    }
    assert.equal(existsSync(join(dir, 'crl.der')), false, 'no CRL signed');
    assert.equal(existsSync(join(dir, 'servers', 'nope.example.org.pfx')), false);
    const both = await sknockCaHere(['crl', '--ca-passphrase-env', 'A', '--ca-passphrase-file', 'B', '--dir', dir]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--ca-passphrase-file or --ca-passphrase-env, not both/);
  });

  it('issue-server writes the PKCS#12 (0600) and the certificate alone as DER and PEM', async () => {
    const r = await sknockCa(['issue-server', '--name', 'knock.example.org', '--passphrase-env', 'KNOCK_PW', ...CA], cwd, env);
    assert.equal(r.code, 0, r.stderr);
    const pfx = join(dir, 'servers', 'knock.example.org.pfx');
    const cer = join(dir, 'servers', 'knock.example.org.cer');
    assert.ok(r.stdout.includes(pfx) && r.stdout.includes(cer), r.stdout);
    assert.equal(mode(pfx), 0o600);
    const cert = new X509Certificate(readFileSync(cer));
    assert.equal(cert.subjectAltName, 'DNS:knock.example.org');
    assert.deepEqual(new X509Certificate(readFileSync(join(dir, 'servers', 'knock.example.org.pem'))).raw, cert.raw);
    const info = openssl(['pkcs12', '-info', '-in', pfx, '-passin', 'pass:correct horse', '-noout']);
    assert.equal(info.status, 0, info.stderr);
    assert.match(info.stdout + info.stderr, /PBES2/);
    const twice = await sknockCaHere(['issue-server', '--name', 'knock.example.org', '--passphrase-env', 'KNOCK_PW', ...CA, '--dir', dir], env);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /exists already/);
  });

  it('issue-client refuses malformed grants with exit 2 and writes nothing', async () => {
    const bad = ['tcp/70000', 'icmp/1', 'tcp/'];
    const runs = await Promise.all(bad.map((grant) => sknockCa(['issue-client', '--name', 'mallory', '--grant', 'tcp/22', '--grant', grant, '--passphrase-env', 'KNOCK_PW', ...CA], cwd, env)));
    runs.forEach((r, i) => {
      assert.equal(r.code, 2, `${bad[i]}: ${r.stderr}`);
      assert.ok(r.stderr.includes(`grant "${bad[i]}"`), r.stderr);
    });
    const none = await sknockCaHere(['issue-client', '--name', 'mallory', '--passphrase-env', 'KNOCK_PW', '--dir', dir], env);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--grant/);
    assert.equal(existsSync(join(dir, 'clients', 'mallory.pfx')), false);
  });

  it('issue-client takes no passphrase from argv and needs one when stdin is not a terminal', async () => {
    const argv = await sknockCa(['issue-client', '--name', 'eve', '--grant', 'tcp/22', '--passphrase', 'x'], cwd);
    assert.equal(argv.code, 2);
    assert.match(argv.stderr, /never taken from the command line/);
    const noTty = await sknockCa(['issue-client', '--name', 'eve', '--grant', 'tcp/22'], cwd);
    assert.equal(noTty.code, 2);
    assert.match(noTty.stderr, /not a terminal.*--passphrase-file/);
    const both = await sknockCaHere(['issue-client', '--name', 'eve', '--grant', 'tcp/22', '--passphrase-env', 'A', '--passphrase-file', 'B', '--dir', dir]);
    assert.equal(both.code, 2);
    const unset = await sknockCaHere(['issue-client', '--name', 'eve', '--grant', 'tcp/22', '--passphrase-env', 'NO_SUCH_VARIABLE_HERE', ...CA, '--dir', dir]);
    assert.equal(unset.code, 1);
    assert.match(unset.stderr, /NO_SUCH_VARIABLE_HERE/);
    assert.equal(existsSync(join(dir, 'clients', 'eve.pfx')), false);
  });

  let aliceSerial = '';
  it('issue-client writes the PKCS#12 and prints the serial and the true knock size', async () => {
    const r = await sknockCa(['issue-client', '--name', 'alice', '--grant', 'tcp/22', '--grant', 'tcp/2000', '--grant', 'udp/8000', '--passphrase-file', 'pw.txt', ...CA], cwd);
    assert.equal(r.code, 0, r.stderr);
    aliceSerial = /serial\s+([0-9a-f]+)/.exec(r.stdout)?.[1] ?? '';
    const size = Number(/knock size\s+(\d+) bytes/.exec(r.stdout)?.[1]);
    assert.match(aliceSerial, /^[0-9a-f]{32}$/);
    const pfx = join(dir, 'clients', 'alice.pfx');
    assert.equal(mode(pfx), 0o600);
    const creds = await loadCredentials({ pfx: readFileSync(pfx), passphrase: 'from a file' });
    assert.deepEqual(parsePortGrants(creds.certificate), [
      { protocol: 'tcp', port: 22 },
      { protocol: 'tcp', port: 2000 },
      { protocol: 'udp', port: 8000 },
    ]);
    assert.equal(new X509Certificate(creds.certificate).serialNumber.toLowerCase(), aliceSerial);
    assert.equal(size, knockDatagramLength(creds.certificate.length));
    const server = await loadCredentials({ pfx: readFileSync(join(dir, 'servers', 'knock.example.org.pfx')), passphrase: 'correct horse' });
    const datagram = createKnockPacket({
      credentials: creds,
      serverCertificate: readFileSync(join(dir, 'servers', 'knock.example.org.cer')),
      protocol: 'tcp',
      port: 2000,
      address: '198.51.100.4',
    });
    assert.equal(datagram.length, size);
    assert.equal(verifyKnockSignature(openKnockPacket(datagram, server, { family: 4 })), true);
  });

  it('asks for the passphrase twice on a terminal (a pty made by script(1)), without echo', async (t) => {
    if (spawnSync('script', ['--version']).status !== 0) {
      t.skip('script(1) from util-linux is not installed');
      return;
    }
    const onPty = (name: string, answers: readonly string[]) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const command = [process.execPath, MAIN, 'issue-client', '--name', name, '--grant', 'tcp/22', '--dir', dir].map((a) => `'${a}'`).join(' ');
        const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: 'pipe' });
        let out = '';
        let asked = 0;
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const prompts = (out.match(/Passphrase for|Same passphrase again/g) ?? []).length;
          while (asked < prompts && asked < answers.length) child.stdin.write(`${answers[asked++]}\r`);
        });
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.on('close', (code) => {
          clearTimeout(timer);
          child.stdin.destroy();
          resolve({ code, out });
        });
      });
    // The CA key's passphrase first (once), then the new PKCS#12 file's (twice).
    const [same, differ] = await Promise.all([onPty('tty', [CA_PW, 'pty secret', 'pty secret']), onPty('tty-differ', [CA_PW, 'one', 'two'])]);
    assert.equal(same.code, 0, same.out);
    assert.match(same.out, /Passphrase for the CA key .*ca\.key: [\s\S]*Passphrase for clients\/tty\.pfx: /);
    assert.ok(!same.out.includes('pty secret'), 'the passphrase is not echoed');
    assert.ok(!same.out.includes(CA_PW), 'the CA passphrase is not echoed');
    const creds = await loadCredentials({ pfx: readFileSync(join(dir, 'clients', 'tty.pfx')), passphrase: 'pty secret' });
    assert.deepEqual(parsePortGrants(creds.certificate), [{ protocol: 'tcp', port: 22 }]);
    assert.equal(differ.code, 1, differ.out);
    assert.match(differ.out, /the two passphrases differ/);
    assert.equal(existsSync(join(dir, 'clients', 'tty-differ.pfx')), false);
  });

  it('issue-client --legacy writes the old PKCS#12 form that openssl reads with -legacy', async () => {
    const r = await sknockCaHere(['issue-client', '--name', 'bob', '--grant', 'udp/8000', '--legacy', '--passphrase-env', 'KNOCK_PW', ...CA, '--dir', dir], env);
    assert.equal(r.code, 0, r.stderr);
    const info = openssl(['pkcs12', '-info', '-legacy', '-in', join(dir, 'clients', 'bob.pfx'), '-passin', 'pass:correct horse', '-noout']);
    assert.equal(info.status, 0, info.stderr);
    assert.match(info.stdout + info.stderr, /pbeWithSHA1And40BitRC2-CBC/);
  });

  it('sign-csr signs an openssl request into a file or onto standard output', async () => {
    const made = openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'carol.key', '-subj', '/CN=carol', '-out', 'carol.csr'], cwd);
    assert.equal(made.status, 0, made.stderr);
    const csr = join(cwd, 'carol.csr');
    const toFile = await sknockCaHere(['sign-csr', csr, '--grant', 'tcp/443', '--out', join(cwd, 'carol.cer'), ...CA, '--dir', dir]);
    assert.equal(toFile.code, 0, toFile.stderr);
    const cert = new X509Certificate(readFileSync(join(cwd, 'carol.cer')));
    assert.equal(cert.subject, 'CN=carol');
    assert.deepEqual(parsePortGrants(cert.raw), [{ protocol: 'tcp', port: 443 }]);
    const toStdout = await sknockCaHere(['sign-csr', csr, '--grant', 'udp/53', ...CA, '--dir', dir]);
    assert.equal(toStdout.code, 0, toStdout.stderr);
    assert.match(toStdout.stdout, /^-----BEGIN CERTIFICATE-----/);
    assert.match(toStdout.stderr, /knock size/);
    const missing = await sknockCaHere(['sign-csr', '--grant', 'tcp/1', '--dir', dir]);
    assert.equal(missing.code, 2);
    writeFileSync(join(cwd, 'junk.csr'), 'not a request');
    const junk = await sknockCaHere(['sign-csr', join(cwd, 'junk.csr'), '--grant', 'tcp/1', ...CA, '--dir', dir]);
    assert.equal(junk.code, 1);
    assert.match(junk.stderr, /not a readable PKCS#10 request/);
  });

  it('revoke refuses an unknown serial, revokes by serial or by file, and crl numbers grow', async () => {
    const unknown = await sknockCa(['revoke', '0123456789abcdef'], cwd);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no certificate with serial 123456789abcdef/);
    const notSerial = await sknockCaHere(['revoke', 'no-such-file.pem', '--dir', dir]);
    assert.equal(notSerial.code, 2);
    const badReason = await sknockCaHere(['revoke', aliceSerial, '--reason', 'boredom', '--dir', dir]);
    assert.equal(badReason.code, 2);
    assert.match(badReason.stderr, /keyCompromise/);

    const bySerial = await sknockCaHere(['revoke', aliceSerial.toUpperCase(), '--reason', 'key-compromise', '--dir', dir]);
    assert.equal(bySerial.code, 0, bySerial.stderr);
    const twice = await sknockCaHere(['revoke', aliceSerial, '--dir', dir]);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /revoked on/);
    const byFile = await sknockCaHere(['revoke', join(dir, 'clients', 'bob.pem'), '--dir', dir]);
    assert.equal(byFile.code, 0, byFile.stderr);

    const numbers: string[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await sknockCa(['crl', '--days', '7', ...CA], cwd);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /listing 2 revoked certificates/);
      const n = openssl(['crl', '-inform', 'DER', '-in', join(dir, 'crl.der'), '-noout', '-crlnumber', '-nextupdate']);
      assert.equal(n.status, 0, n.stderr);
      numbers.push(/crlNumber=(0x[0-9A-F]+)/i.exec(n.stdout)?.[1] ?? '');
    }
    assert.deepEqual(numbers, ['0x01', '0x02']);
    assert.match(readFileSync(join(dir, 'crl.pem'), 'utf8'), /^-----BEGIN X509 CRL-----/);
    const verify = (file: string) => openssl(['verify', '-CAfile', join(dir, 'ca.pem'), '-crl_check', '-CRLfile', join(dir, 'crl.pem'), file]);
    assert.match(verify(join(dir, 'clients', 'alice.pem')).stdout + verify(join(dir, 'clients', 'alice.pem')).stderr, /certificate revoked/);
    assert.equal(verify(join(dir, 'servers', 'knock.example.org.pem')).status, 0);
  });

  it('list --json shows serials, grants, expiry and revocation', async () => {
    const r = await sknockCa(['list', '--json'], cwd);
    assert.equal(r.code, 0, r.stderr);
    const entries = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(
      entries.map((e) => [e.kind, e.name, e.status]),
      [
        ['server', 'knock.example.org', 'valid'],
        ['client', 'alice', 'revoked'],
        ['client', 'tty', 'valid'],
        ['client', 'bob', 'revoked'],
        ['client', 'carol', 'valid'],
        ['client', 'carol', 'valid'],
      ],
    );
    const alice = entries[1] as { serial: string; grants: string[]; notAfter: string; revoked: { reason: string; date: string } };
    assert.equal(alice.serial, aliceSerial);
    assert.deepEqual(alice.grants, ['tcp/22', 'tcp/2000', 'udp/8000']);
    assert.equal(alice.revoked.reason, 'keyCompromise');
    assert.ok(Date.parse(alice.notAfter) > Date.now());
    const table = await sknockCaHere(['list', '--dir', dir]);
    assert.equal(table.code, 0);
    assert.match(table.stdout, new RegExp(`${aliceSerial}\\s+client\\s+alice\\s+revoked`));
  });
  it('a CA made before keys were encrypted (ca.key plain PKCS#8) still issues and signs CRLs, with no passphrase', async () => {
    // The folder as the earlier sknock-ca wrote it, made here with the library, not with init.
    const old = join(cwd, 'old-ca');
    const ca = await createCa({ name: 'Old Knock CA' });
    mkdirSync(old, { mode: 0o700 });
    writeFileSync(join(old, 'ca.key'), ca.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
    writeFileSync(join(old, 'ca.pem'), encodePem('CERTIFICATE', ca.certificate));
    writeFileSync(join(old, 'crlnumber'), '1\n');
    writeFileSync(join(old, 'index.json'), JSON.stringify({ format: 'sknock-ca-index', version: 1, certificates: [] }));
    const issued = await sknockCa(['issue-client', '--name', 'dave', '--grant', 'tcp/22', '--passphrase-env', 'KNOCK_PW', '--dir', old], cwd, env);
    assert.equal(issued.code, 0, issued.stderr);
    assert.equal(issued.stderr, '');
    const cert = new X509Certificate(readFileSync(join(old, 'clients', 'dave.pem')));
    assert.ok(cert.checkIssued(new X509Certificate(ca.certificate)) && cert.verify(new X509Certificate(ca.certificate).publicKey));
    const crl = await sknockCaHere(['crl', ...CA, '--dir', old]);
    assert.equal(crl.code, 0, crl.stderr);
    assert.match(crl.stderr, /ca\.key is not encrypted; the CA passphrase given was not needed/);
    assert.match(readFileSync(join(old, 'ca.key'), 'utf8'), /^-----BEGIN PRIVATE KEY-----/, 'left as it was');
  });

  it('--no-passphrase makes a test CA whose key is plain PKCS#8, and says so', async () => {
    const plain = join(cwd, 'plain-ca');
    const r = await sknockCaHere(['init', '--name', 'Demo CA', '--no-passphrase', '--dir', plain]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /NOT encrypted: --no-passphrase/);
    assert.match(readFileSync(join(plain, 'ca.key'), 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
    const crl = await sknockCaHere(['crl', '--dir', plain]);
    assert.equal(crl.code, 0, crl.stderr);
  });

  it('warns of certificates valid past 2049, refuses them with --legacy, and --allow-after-2049 lets them be', async () => {
    const long = join(cwd, 'long-ca');
    const init = await sknockCaHere(['init', '--name', 'Long CA', '--days', '36500', '--no-passphrase', '--dir', long]);
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stderr, /sknock-ca init: warning: the CA certificate is valid until 21\d\d-.*past 2049.*GeneralizedTime.*sKnock 1\.0\.0 cannot read/);
    const issue = (name: string, extra: string[]) =>
      sknockCa(['issue-client', '--name', name, '--grant', 'tcp/22', '--days', '9000', '--passphrase-env', 'KNOCK_PW', '--dir', long, ...extra], cwd, env);
    const warned = await issue('late', []);
    const refused = await issue('late-legacy', ['--legacy']);
    const allowed = await issue('late-allowed', ['--legacy', '--allow-after-2049']);
    assert.equal(warned.code, 0, warned.stderr);
    assert.match(warned.stderr, /sknock-ca issue-client: warning: the client certificate is valid until 205\d-.*past 2049.*--allow-after-2049/);
    const asn1 = openssl(['asn1parse', '-in', join(long, 'clients', 'late.pem')]);
    assert.match(asn1.stdout, /GENERALIZEDTIME/, 'the premise: such a date is GeneralizedTime');
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /would be valid until 205\d-.*legacy form meant for sKnock 1\.0\.0.*\(ERR_SKNOCK_CA_AFTER_2049\)/);
    assert.equal(existsSync(join(long, 'clients', 'late-legacy.pfx')), false, 'nothing written');
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.equal(allowed.stderr, '');
    const short = await issue('short', ['--legacy', '--days', '365']);
    assert.equal(short.code, 0, short.stderr);
    assert.equal(short.stderr, '', 'no warning for a certificate that ends before 2050');
    const server = await sknockCaHere(['issue-server', '--name', 'late.example', '--days', '9000', '--legacy', '--passphrase-env', 'KNOCK_PW', '--dir', long], env);
    assert.equal(server.code, 2);
    assert.match(server.stderr, /ERR_SKNOCK_CA_AFTER_2049/);
    const made = openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'erin.key', '-subj', '/CN=erin', '-out', 'erin.csr'], cwd);
    assert.equal(made.status, 0, made.stderr);
    const csr = await sknockCaHere(['sign-csr', join(cwd, 'erin.csr'), '--grant', 'tcp/22', '--days', '9000', '--out', join(cwd, 'erin.cer'), '--dir', long]);
    assert.equal(csr.code, 0, csr.stderr);
    assert.match(csr.stderr, /sknock-ca sign-csr: warning: the client certificate is valid until 205\d-/);
  });
  it('ends quietly, status 141, when its output is closed: a CRL signed with no reader left, a long list read in part', async () => {
    // `sknock-ca crl | head -1`: the work is done, no stack trace, no unhandled error.
    const crl = await runWithClosedOutput([process.execPath, MAIN, 'crl', ...CA], { close: 'at-once', cwd });
    assert.equal(crl.code, 141, crl.stderr);
    assert.equal(crl.stderr, '');
    const n = openssl(['crl', '-inform', 'DER', '-in', join(dir, 'crl.der'), '-noout', '-crlnumber']);
    assert.match(n.stdout, /crlNumber=0x03/, 'the third CRL was signed and written');
    // A list far larger than a pipe holds, its reader gone after the first chunk.
    const big = join(cwd, 'big-ca');
    const init = await sknockCaHere(['init', '--name', 'Big CA', '--no-passphrase', '--dir', big]);
    assert.equal(init.code, 0, init.stderr);
    const entry = (i: number) => ({
      serial: (0x10n ** 31n + BigInt(i)).toString(16),
      kind: 'client',
      name: `client-${i}`,
      subject: `CN=client-${i}`,
      grants: ['tcp/22', 'tcp/443'],
      datagramLength: 800,
      notBefore: '2026-01-01T00:00:00.000Z',
      notAfter: '2027-01-01T00:00:00.000Z',
      issuedAt: '2026-01-01T00:00:00.000Z',
      files: [`certs/${i}.pem`],
    });
    writeFileSync(join(big, 'index.json'), JSON.stringify({ format: 'sknock-ca-index', version: 1, certificates: Array.from({ length: 3000 }, (_, i) => entry(i)) }));
    for (const args of [['list', '--json'], ['list']]) {
      const r = await runWithClosedOutput([process.execPath, MAIN, ...args, '--dir', big], { close: 'after-first-chunk', cwd });
      assert.ok(r.read > 0, 'the reader got something first');
      assert.equal(r.code, 141, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr, '', `${args.join(' ')}: no stack trace, no message`);
    }
    const help = await runWithClosedOutput([process.execPath, MAIN, '--help'], { close: 'at-once', cwd });
    assert.equal(help.code, 141, help.stderr);
    assert.equal(help.stderr, '');
  });
});
