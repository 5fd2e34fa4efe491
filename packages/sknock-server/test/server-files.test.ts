import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createServer } from '../src/daemon/server.js';
import { inspectSecretFile, type FileReader } from '@sknock/protocol/secret-file';
import { MemoryFirewallBackend } from '../src/firewall/memory.js';
import { knockFixtures, PFX_PASSWORD, type KnockFixtures } from './support/knock-fixtures.js';
import { recordingLogger } from './support/recording-logger.js';

/**
 * The daemon's files: secrets that other users may read (the server's PKCS#12, its
 * password file, a config file with PFXPasswd in it) are warned of by `check-config` and at
 * start; the folder of crlFile is made (0700) at start when a crlUrl is set, so that the
 * original sKnock config.ini as shipped passes check-config.
 */

const BIN = fileURLToPath(new URL('../src/cli/server-main.js', import.meta.url));

let f: KnockFixtures;
let dir: string;

before(async () => {
  f = await knockFixtures();
  dir = mkdtempSync(join(tmpdir(), 'sknock-files-'));
  chmodSync(dir, 0o755);
});
after(() => rmSync(dir, { recursive: true, force: true }));

function checkConfigCli(config: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'check-config', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('check-config did not finish'));
    }, 15_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A folder of its own under `dir` with the server's PKCS#12 at `mode`. */
function site(name: string, pfxMode: number): string {
  const at = join(dir, name);
  mkdirSync(at, { mode: 0o755 });
  writeFileSync(join(at, 'server.pfx'), f.serverPfx, { mode: pfxMode });
  chmodSync(join(at, 'server.pfx'), pfxMode);
  return at;
}

/** A port on 127.0.0.1 that refuses connections (a CRL URL that fetches nothing, and no traffic leaves the host). */
async function closedPort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

const user = (uid: number, gids: number[]): FileReader => ({ uid, name: `user${uid}`, gids, groupName: `group${gids[0]}` });

describe('files holding secrets', () => {
  it('the rule: nothing for others, no group write, group read only on root-owned files of the reader\'s group, owner root or the reader', () => {
    const at = site('rule', 0o600);
    const pfx = join(at, 'server.pfx');
    const check = (mode: number, owner: [number, number], reader?: FileReader) => {
      chownSync(pfx, ...owner);
      chmodSync(pfx, mode);
      return inspectSecretFile(pfx, reader);
    };
    // root as the reader cannot know the service's user: mode bits only
    assert.equal(check(0o600, [0, 0]), undefined);
    assert.equal(check(0o640, [0, 0]), undefined, 'root:group 0640 is the packaged layout');
    assert.equal(check(0o400, [0, 0]), undefined);
    const world = check(0o644, [0, 0]);
    assert.deepEqual(world?.problems, ['readable by every user']);
    assert.equal(world?.mode, '0644');
    assert.equal(world?.owner, 'root');
    assert.equal(world?.fix, `chmod 640 ${pfx}`);
    assert.deepEqual(check(0o666, [0, 0])?.problems, ['readable by every user', 'writable by every user', 'writable by group root']);
    assert.deepEqual(check(0o660, [0, 0])?.problems, ['writable by group root']);
    const userOwned = check(0o640, [4242, 4242]);
    assert.match(userOwned?.problems[0] ?? '', /readable by group gid 4242 \(only its owner needs to read it\)/);
    assert.equal(userOwned?.fix, `chmod 600 ${pfx}`);
    // a known reader (the daemon as its own user): owner root or itself, the group one of its own
    const daemon = user(4242, [4242]);
    assert.equal(check(0o600, [4242, 4242], daemon), undefined);
    assert.equal(check(0o640, [0, 4242], daemon), undefined);
    const otherGroup = check(0o640, [0, 0], daemon);
    assert.deepEqual(otherGroup?.problems, ['readable by group root, which user4242 is not in']);
    assert.equal(otherGroup?.fix, `chgrp group4242 ${pfx}`);
    const foreign = check(0o600, [4343, 4343], daemon);
    assert.match(foreign?.problems[0] ?? '', /owned by uid 4343, who is neither root nor user4242/);
    assert.equal(foreign?.fix, `chown user4242 ${pfx}`);
    chownSync(pfx, 0, 0);
  });

  it('sknock-server check-config warns of each secret file others may read, naming its mode, owner and the fix; exit 0', async () => {
    const at = site('check', 0o644);
    writeFileSync(join(at, 'pass'), `${PFX_PASSWORD}\n`, { mode: 0o644 });
    const config = join(at, 'config.ini');
    writeFileSync(config, '[DEFAULT]\nserverPFXFile = server.pfx\nPFXPasswdFile = pass\nfirewallBackend = memory\n', { mode: 0o644 });
    const r = await checkConfigCli(config);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /configuration OK/);
    const pfx = join(at, 'server.pfx');
    assert.ok(
      r.stderr.includes(`sknock-server: warning: serverPFXFile ${pfx} (mode 0644, owner root, group root) holds a secret and is readable by every user: run chmod 640 ${pfx}`),
      r.stderr,
    );
    assert.ok(r.stderr.includes(`PFXPasswdFile ${join(at, 'pass')} (mode 0644, owner root, group root) holds a secret and is readable by every user`), r.stderr);
    assert.doesNotMatch(r.stderr, /config file \(PFXPasswd\)/, 'the password is not in the config file');

    // The password written in the config file itself makes the config file a secret.
    const inline = join(at, 'inline.ini');
    writeFileSync(inline, `[DEFAULT]\nserverPFXFile = server.pfx\nPFXPasswd = ${PFX_PASSWORD}\n`, { mode: 0o644 });
    chmodSync(pfx, 0o600);
    const i = await checkConfigCli(inline);
    assert.equal(i.code, 0, i.stderr);
    assert.ok(i.stderr.includes(`config file (PFXPasswd) ${inline} (mode 0644, owner root, group root) holds a secret and is readable by every user`), i.stderr);
    assert.doesNotMatch(i.stderr, /serverPFXFile .* holds a secret/);

    // Private files say nothing.
    chmodSync(inline, 0o600);
    const quiet = await checkConfigCli(inline);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.doesNotMatch(quiet.stderr, /holds a secret/);
  });

  it('a folder on the way that every user may write to (no sticky bit) is named too', async () => {
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    writeFileSync(join(open, 'server.pfx'), f.serverPfx, { mode: 0o600 });
    const config = join(dir, 'open.ini');
    writeFileSync(config, `[DEFAULT]\nserverPFXFile = open/server.pfx\nPFXPasswd =\n`, { mode: 0o600 });
    const r = await checkConfigCli(config);
    assert.ok(r.stderr.includes(`in the folder ${open}, which every user may write to (mode 0777), so anyone can replace it: run chmod o-w ${open}`), r.stderr);
    chmodSync(open, 0o1777); // sticky, as /tmp: others cannot replace a file they do not own
    const sticky = await checkConfigCli(config);
    assert.doesNotMatch(sticky.stderr, /holds a secret/);
  });

  it('the daemon logs each such file at warn when it starts, with file, mode, owner, group and the fix', async () => {
    const at = site('start', 0o644);
    const logger = recordingLogger();
    const server = createServer({
      config: { serverPfxFile: join(at, 'server.pfx'), pfxPassword: PFX_PASSWORD, firewallBackend: 'memory', listenAddress: '127.0.0.1' },
      firewall: new MemoryFirewallBackend(),
      logger,
      listenPort: 0,
    });
    await server.start();
    try {
      const warned = logger.records.filter((r) => r.fields.event === 'insecure-file');
      assert.equal(warned.length, 1);
      const w = warned[0];
      assert.equal(w?.level, 'warn');
      assert.equal(w?.fields.key, 'serverPFXFile');
      assert.equal(w?.fields.file, join(at, 'server.pfx'));
      assert.equal(w?.fields.mode, '0644');
      assert.equal(w?.fields.owner, 'root');
      assert.equal(w?.fields.group, 'root');
      assert.deepEqual(w?.fields.problems, ['readable by every user']);
      assert.equal(w?.fields.fix, `chmod 640 ${join(at, 'server.pfx')}`);
      assert.match(w?.msg ?? '', /serverPFXFile .*server\.pfx \(mode 0644, owner root, group root\) holds a secret/);
      chmodSync(join(at, 'server.pfx'), 0o600);
      await server.reload();
      assert.equal(logger.records.filter((r) => r.fields.event === 'insecure-file').length, 1, 'a fixed file is not warned of again');
    } finally {
      await server.stop();
    }
  });
});

describe('the crlFile folder', () => {
  /** sKnock 1.0.0's config.ini as shipped, its PKCS#12 (ours, same password) kept elsewhere, its crlUrl on loopback. */
  function originalConfig(at: string, port: number): string {
    const config = join(at, 'config.ini');
    writeFileSync(
      config,
      [
        '[DEFAULT]',
        'KNOCKPACKET_MIN_LENGTH = 800',
        'PORT_OPEN_DURATION_IN_SECONDS = 15',
        'TIMESTAMP_THRESHOLD_IN_SECONDS = 7',
        'SIGNATURE_SIZE = 72',
        'RECV_BUFFER = 1600',
        'crlFile = certificates/devca.crl',
        `crlUrl = http://127.0.0.1:${port}/devca.crl`,
        `serverPFXFile = ${join(dir, 'keys', 'devserver.pfx')}`,
        `PFXPasswd = ${PFX_PASSWORD}`,
        'firewallPolicy = none',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    return config;
  }

  before(() => {
    mkdirSync(join(dir, 'keys'), { mode: 0o700 });
    writeFileSync(join(dir, 'keys', 'devserver.pfx'), f.serverPfx, { mode: 0o600 });
  });

  it('the original config.ini as shipped passes check-config, which says the folder will be made', async () => {
    const at = join(dir, 'original');
    mkdirSync(at);
    const r = await checkConfigCli(originalConfig(at, await closedPort()));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`warning: the folder ${join(at, 'certificates')} of crlFile .*devca\\.crl does not exist; sknock-server creates it \\(mode 0700\\) at start`));
    assert.match(r.stdout, /configuration OK/);
  });

  it('the daemon makes it at start, mode 0700, and logs it', async () => {
    const at = join(dir, 'original-run');
    mkdirSync(at);
    const logger = recordingLogger();
    const server = createServer({ config: originalConfig(at, await closedPort()), firewall: new MemoryFirewallBackend(), logger, listenPort: 0 });
    await server.start();
    try {
      const folder = join(at, 'certificates');
      const s = statSync(folder);
      assert.ok(s.isDirectory());
      assert.equal(s.mode & 0o777, 0o700);
      const line = logger.records.find((r) => r.fields.event === 'folder-created');
      assert.equal(line?.fields.folder, folder);
      assert.equal(line?.level, 'info');
    } finally {
      await server.stop();
    }
  });
});
