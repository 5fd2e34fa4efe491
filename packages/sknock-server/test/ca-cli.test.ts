import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createKnockPacket, knockDatagramLength, loadCredentials, openKnockPacket, parsePortGrants, verifyKnockSignature } from '@sknock/protocol';
import { PassThrough } from 'node:stream';
import { runCli } from '../src/ca/cli/run.js';
import { openssl, tempFolder } from './support/ca-tools.js';

/**
 * `sknock-ca` run as a process, the way people run it; the finer cases run the same command
 * line in this process (`runCli`), which spares a second of module loading per run.
 */

const MAIN = fileURLToPath(new URL('../src/ca/cli/main.js', import.meta.url));

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
  after(() => tmp.remove());

  before(() => writeFileSync(join(cwd, 'pw.txt'), 'from a file\nsecond line ignored\n'));

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

  it('init makes the CA with private files 0600 in a 0700 folder, and refuses to run twice', async () => {
    const missing = await sknockCaHere(['init', '--dir', dir]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--name is required/);
    const r = await sknockCa(['init', '--name', 'Example Knock CA', '--days', '400'], cwd);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Made the CA "Example Knock CA"/);
    assert.equal(mode(dir), 0o700);
    assert.equal(mode(join(dir, 'ca.key')), 0o600);
    assert.match(readFileSync(join(dir, 'ca.key'), 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
    const ca = new X509Certificate(readFileSync(join(dir, 'ca.pem')));
    assert.deepEqual(ca.raw, readFileSync(join(dir, 'ca.der')));
    assert.equal(ca.subject, 'CN=Example Knock CA');
    assert.ok(ca.ca);
    const days = (Date.parse(ca.validTo) - Date.now()) / 86_400_000;
    assert.ok(days > 399 && days < 401, `${days} days`);
    const again = await sknockCa(['init', '--name', 'Another CA'], cwd);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /holds a CA already/);
    assert.equal(new X509Certificate(readFileSync(join(dir, 'ca.pem'))).subject, 'CN=Example Knock CA', 'the first CA is untouched');
  });

  it('issue-server writes the PKCS#12 (0600) and the certificate alone as DER and PEM', async () => {
    const r = await sknockCa(['issue-server', '--name', 'knock.example.org', '--passphrase-env', 'KNOCK_PW'], cwd, env);
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
    const twice = await sknockCaHere(['issue-server', '--name', 'knock.example.org', '--passphrase-env', 'KNOCK_PW', '--dir', dir], env);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /exists already/);
  });

  it('issue-client refuses malformed grants with exit 2 and writes nothing', async () => {
    const bad = ['tcp/70000', 'icmp/1', 'tcp/'];
    const runs = await Promise.all(bad.map((grant) => sknockCa(['issue-client', '--name', 'mallory', '--grant', 'tcp/22', '--grant', grant, '--passphrase-env', 'KNOCK_PW'], cwd, env)));
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
    const unset = await sknockCaHere(['issue-client', '--name', 'eve', '--grant', 'tcp/22', '--passphrase-env', 'NO_SUCH_VARIABLE_HERE', '--dir', dir]);
    assert.equal(unset.code, 1);
    assert.match(unset.stderr, /NO_SUCH_VARIABLE_HERE/);
    assert.equal(existsSync(join(dir, 'clients', 'eve.pfx')), false);
  });

  let aliceSerial = '';
  it('issue-client writes the PKCS#12 and prints the serial and the true knock size', async () => {
    const r = await sknockCa(['issue-client', '--name', 'alice', '--grant', 'tcp/22', '--grant', 'tcp/2000', '--grant', 'udp/8000', '--passphrase-file', 'pw.txt'], cwd);
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
    const [same, differ] = await Promise.all([onPty('tty', ['pty secret', 'pty secret']), onPty('tty-differ', ['one', 'two'])]);
    assert.equal(same.code, 0, same.out);
    assert.match(same.out, /Passphrase for clients\/tty\.pfx: /);
    assert.ok(!same.out.includes('pty secret'), 'the passphrase is not echoed');
    const creds = await loadCredentials({ pfx: readFileSync(join(dir, 'clients', 'tty.pfx')), passphrase: 'pty secret' });
    assert.deepEqual(parsePortGrants(creds.certificate), [{ protocol: 'tcp', port: 22 }]);
    assert.equal(differ.code, 1, differ.out);
    assert.match(differ.out, /the two passphrases differ/);
    assert.equal(existsSync(join(dir, 'clients', 'tty-differ.pfx')), false);
  });

  it('issue-client --legacy writes the old PKCS#12 form that openssl reads with -legacy', async () => {
    const r = await sknockCaHere(['issue-client', '--name', 'bob', '--grant', 'udp/8000', '--legacy', '--passphrase-env', 'KNOCK_PW', '--dir', dir], env);
    assert.equal(r.code, 0, r.stderr);
    const info = openssl(['pkcs12', '-info', '-legacy', '-in', join(dir, 'clients', 'bob.pfx'), '-passin', 'pass:correct horse', '-noout']);
    assert.equal(info.status, 0, info.stderr);
    assert.match(info.stdout + info.stderr, /pbeWithSHA1And40BitRC2-CBC/);
  });

  it('sign-csr signs an openssl request into a file or onto standard output', async () => {
    const made = openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'carol.key', '-subj', '/CN=carol', '-out', 'carol.csr'], cwd);
    assert.equal(made.status, 0, made.stderr);
    const csr = join(cwd, 'carol.csr');
    const toFile = await sknockCaHere(['sign-csr', csr, '--grant', 'tcp/443', '--out', join(cwd, 'carol.cer'), '--dir', dir]);
    assert.equal(toFile.code, 0, toFile.stderr);
    const cert = new X509Certificate(readFileSync(join(cwd, 'carol.cer')));
    assert.equal(cert.subject, 'CN=carol');
    assert.deepEqual(parsePortGrants(cert.raw), [{ protocol: 'tcp', port: 443 }]);
    const toStdout = await sknockCaHere(['sign-csr', csr, '--grant', 'udp/53', '--dir', dir]);
    assert.equal(toStdout.code, 0, toStdout.stderr);
    assert.match(toStdout.stdout, /^-----BEGIN CERTIFICATE-----/);
    assert.match(toStdout.stderr, /knock size/);
    const missing = await sknockCaHere(['sign-csr', '--grant', 'tcp/1', '--dir', dir]);
    assert.equal(missing.code, 2);
    writeFileSync(join(cwd, 'junk.csr'), 'not a request');
    const junk = await sknockCaHere(['sign-csr', join(cwd, 'junk.csr'), '--grant', 'tcp/1', '--dir', dir]);
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
      const r = await sknockCa(['crl', '--days', '7'], cwd);
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
});
