/**
 * Every example in examples/ runs and does what its comment says, so that none can rot:
 * on loopback with its own throwaway server, and knock-then-connect.mjs also against the
 * real daemon with nftables in network namespaces (the SKNOCK_* environment path).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { createCa, issueClientCertificate, issueServerCertificate } from '@sknock/ca';
import { createTopology, netnsSkipReason, type Topology } from '../support/netns.js';
import { clientMain, examplesDir, run, runExample, serverMain, show } from './run-script.js';

describe('examples/knock-then-connect.mjs', () => {
  it('knocks at its throwaway server, then connects and reads the greeting', async () => {
    const r = await runExample('knock-then-connect.mjs');
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^\[lab server\] grant: 127\.0\.0\.1 → tcp\/(\d+) for 15 s$/m, show(r));
    assert.match(r.stdout, /^knocked: tcp\/\d+ on 127\.0\.0\.1 is open for 127\.0\.0\.1 after \d+ ms \(1 knock\)$/m, show(r));
    assert.match(r.stdout, /^the service says: hello 127\.0\.0\.1, you reached the hidden service$/m, show(r));
  });

  it('reports a failed knock with its error code and exit status 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sknock-example-'));
    try {
      const r = await runExample('knock-then-connect.mjs', {
        env: {
          ...process.env,
          SKNOCK_HOST: '127.0.0.1',
          SKNOCK_PORT: '2000',
          SKNOCK_PFX: join(dir, 'missing.pfx'),
          SKNOCK_PASSPHRASE: 'x',
          SKNOCK_SERVER_CERT: join(dir, 'missing.cer'),
        },
      });
      assert.equal(r.code, 1, show(r));
      assert.match(r.stderr, /^knock failed \(ERR_SKNOCK_FILE_NOT_FOUND\): /m, show(r));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

for (const [script, verb] of [
  ['http-client.mjs', 'GET'],
  ['fetch-undici.mjs', 'fetch'],
] as const) {
  describe(`examples/${script}`, () => {
    it('knocks once for three requests over a kept-alive connection, and only when the port refused', async () => {
      const r = await runExample(script);
      assert.equal(r.code, 0, show(r));
      for (const path of ['/first', '/second', '/third']) {
        assert.match(r.stdout, new RegExp(`^${verb} ${path} → 200 \\{"path":"${path}","from":"127\\.0\\.0\\.1","message":"hello from behind the knock"\\}$`, 'm'), show(r));
      }
      assert.equal(r.stdout.match(/^\[lab server\] grant: /gm)?.length, 1, show(r));
      assert.match(r.stdout, /^3 requests, 1 knock sent, [1-3] connections?$/m, show(r));
    });
  });
}

describe('examples/embedded-server.mjs', () => {
  it('drives its own firewall back end through setup, open and teardown', async () => {
    const r = await runExample('embedded-server.mjs');
    assert.equal(r.code, 0, show(r));
    const expected = [
      /^\[firewall\] setup: policy reject, knock port udp\/\d+, always open: tcp\/22$/,
      /^\[server\] listening on 127\.0\.0\.1 udp\/\d+$/,
      /^\[firewall\] open: 127\.0\.0\.1 → tcp\/8443 for 15 s$/,
      /^\[firewall\] {3}would run: nft add element inet example grants \{ 127\.0\.0\.1 \. tcp \. 8443 timeout 15s \}$/,
      /^\[server\] accepted CN=carol from 127\.0\.0\.1: tcp\/8443$/,
      /^\[server\] grants held: \["127\.0\.0\.1 tcp\/8443"\]$/,
      /^\[server\] stats: received 1, accepted 1$/,
      /^\[firewall\] teardown: would run: nft delete table inet example$/,
    ];
    const lines = r.stdout.trimEnd().split('\n');
    for (const pattern of expected) assert.ok(lines.some((l) => pattern.test(l)), `no line matches ${pattern}\n${show(r)}`);
  });
});

/** examples/local-server.mjs --json: a throwaway server and its client settings. */
async function startLocalServer(): Promise<{ child: ChildProcessWithoutNullStreams; env: Record<string, string>; events: Record<string, unknown>[] }> {
  const child = spawn(process.execPath, [`${examplesDir}local-server.mjs`, '--json'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const events: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const ready = new Promise<Record<string, string>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`local-server.mjs not ready after 20 s: ${stderr}`)), 20_000);
    child.on('exit', (code) => reject(new Error(`local-server.mjs exited (${code}): ${stderr}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const event = JSON.parse(line) as Record<string, unknown>;
      events.push(event);
      if (event['event'] === 'ready') {
        clearTimeout(timer);
        resolve(event['env'] as Record<string, string>);
      }
    });
  });
  try {
    return { child, env: await ready, events };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

describe('examples/ssh-proxycommand.sh with examples/local-server.mjs', () => {
  let local: Awaited<ReturnType<typeof startLocalServer>>;
  let binDir: string;
  let path: string;
  before(async () => {
    // `sknock` on PATH, as `npm install -g @sknock/client` would put it: a wrapper of the built CLI.
    binDir = mkdtempSync(join(tmpdir(), 'sknock-bin-'));
    writeFileSync(join(binDir, 'sknock'), `#!/bin/sh\nexec '${process.execPath}' '${clientMain}' "$@"\n`, { mode: 0o755 });
    path = `${binDir}${delimiter}${process.env['PATH'] ?? ''}`;
    local = await startLocalServer();
  });
  after(async () => {
    if (local === undefined) return;
    const exited = once(local.child, 'exit');
    local.child.stdin.end(); // local-server.mjs --json stops when its stdin closes
    await exited;
    if (binDir) rmSync(binDir, { recursive: true, force: true });
  });

  it('relays a connection like an ssh ProxyCommand (password from an environment variable)', async () => {
    const { SKNOCK_PASSPHRASE_FILE: _file, ...env } = local.env;
    const opened = local.events.filter((e) => e['event'] === 'open').length;
    const r = await run('/bin/sh', [`${examplesDir}ssh-proxycommand.sh`, env['SKNOCK_HOST'] as string, env['SKNOCK_PORT'] as string], {
      env: { ...process.env, ...env, PATH: path },
      input: 'SSH-2.0-OpenSSH_9.2 pretend\nsecond line\n',
    });
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, 'SSH-2.0-OpenSSH_9.2 pretend\nsecond line\n', 'the echo service should have returned every byte');
    assert.equal(local.events.filter((e) => e['event'] === 'open').length, opened + 1, 'the server should have opened one grant');
  });

  it('reads the password from a file when SKNOCK_PASSPHRASE is not set', async () => {
    const { SKNOCK_PASSPHRASE: _pass, ...env } = local.env;
    const r = await run('/bin/sh', [`${examplesDir}ssh-proxycommand.sh`, env['SKNOCK_HOST'] as string, env['SKNOCK_PORT'] as string], {
      env: { ...process.env, SKNOCK_PASSPHRASE: undefined, ...env, PATH: path },
      input: 'ping\n',
    });
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, 'ping\n');
  });

  it('fails with exit status 1 and sknock\'s message when the credentials are wrong', async () => {
    const r = await run('/bin/sh', [`${examplesDir}ssh-proxycommand.sh`, local.env['SKNOCK_HOST'] as string, local.env['SKNOCK_PORT'] as string], {
      env: { ...process.env, ...local.env, SKNOCK_PASSPHRASE: 'wrong', PATH: path },
      input: 'ping\n',
    });
    assert.equal(r.code, 1, show(r));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^sknock: .*(password|passphrase)/im, show(r));
  });

  it('gives usage with exit status 2 without HOST PORT', async () => {
    const r = await run('/bin/sh', [`${examplesDir}ssh-proxycommand.sh`], { env: { ...process.env, PATH: path } });
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /usage: .*ssh-proxycommand\.sh HOST PORT/);
  });

  it('knock-then-connect.mjs takes a real server from SKNOCK_* variables', async () => {
    const r = await runExample('knock-then-connect.mjs', { env: { ...process.env, ...local.env } });
    assert.equal(r.code, 0, show(r));
    assert.doesNotMatch(r.stdout, /\[lab server\]/, 'it should not have started a lab of its own');
    assert.match(r.stdout, new RegExp(`^connected to 127\\.0\\.0\\.1:${local.env['SKNOCK_PORT']}$`, 'm'), show(r));
  });
});

const netnsSkip = await netnsSkipReason({ tools: ['nft'] });

describe('examples/knock-then-connect.mjs against sknock-server with nftables (network namespaces)', { skip: netnsSkip }, () => {
  let topo: Topology;
  let dir: string;
  let daemon: ReturnType<Topology['server']['spawn']> | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sknock-example-netns-'));
    topo = await createTopology({ prefix: 'sknockex' });
    const ca = await createCa({ name: 'Example test CA', validityDays: 2 });
    const server = await issueServerCertificate(ca, { name: topo.server.ipv4, validityDays: 1, pkcs12: { passphrase: 'server-pass' } });
    const client = await issueClientCertificate(ca, { name: 'dave', grants: [{ protocol: 'tcp', port: 2000 }], validityDays: 1, pkcs12: { passphrase: 'client-pass' } });
    writeFileSync(join(dir, 'server.pfx'), server.pfx as Uint8Array);
    writeFileSync(join(dir, 'server.cer'), server.certificate);
    writeFileSync(join(dir, 'dave.pfx'), client.pfx as Uint8Array);
    writeFileSync(
      join(dir, 'config.ini'),
      ['[DEFAULT]', 'serverPFXFile = server.pfx', 'PFXPasswd = server-pass', 'firewallBackend = nftables', 'firewallPolicy = drop', 'emergencyAccessPorts = none', 'PORT_OPEN_DURATION_IN_SECONDS = 5', ''].join('\n'),
    );
    daemon = topo.server.spawn(process.execPath, [serverMain, 'run', '--config', join(dir, 'config.ini')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const listening = new Promise<void>((resolve, reject) => {
      let log = '';
      const timer = setTimeout(() => reject(new Error(`sknock-server did not start: ${log}`)), 30_000);
      daemon?.stdout?.on('data', (c: Buffer) => {
        log += c.toString();
        if (log.includes('"event":"listening"')) {
          clearTimeout(timer);
          resolve();
        }
      });
      daemon?.on('exit', (code) => reject(new Error(`sknock-server exited (${code}): ${log}`)));
    });
    await listening;
    await topo.server.listenTcp(2000);
  });

  after(async () => {
    if (daemon && daemon.exitCode === null) {
      const exited = once(daemon, 'exit');
      daemon.kill('SIGTERM'); // a clean stop removes the table; cleanup deletes the namespaces anyway
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
    }
    await topo?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is dropped before the knock and connects after it', async () => {
    const client = topo.clients[0] as Topology['clients'][number];
    assert.equal(await client.probeTcp(topo.server.ipv4, 2000), 'timeout', 'the port should be hidden before the knock');
    const r = await client.exec(
      'env',
      [
        `SKNOCK_HOST=${topo.server.ipv4}`,
        'SKNOCK_PORT=2000',
        `SKNOCK_PFX=${join(dir, 'dave.pfx')}`,
        'SKNOCK_PASSPHRASE=client-pass',
        `SKNOCK_SERVER_CERT=${join(dir, 'server.cer')}`,
        process.execPath,
        `${examplesDir}knock-then-connect.mjs`,
      ],
      { allowFailure: true, timeoutMs: 30_000 },
    );
    const shown = `exit ${r.code}\n${r.stdout}\n${r.stderr}`;
    assert.equal(r.code, 0, shown);
    assert.match(r.stdout, new RegExp(`^knocked: tcp/2000 on ${topo.server.ipv4.replace(/\./g, '\\.')} is open for ${topo.clients[0]?.ipv4.replace(/\./g, '\\.')} after \\d+ ms`, 'm'), shown);
    assert.match(r.stdout, /^the service says: sknock-test$/m, shown);
    // The grant is an element of the daemon's nftables set, for the client's address only.
    const set = await topo.server.exec('nft', ['list', 'set', 'inet', 'sknock', 'ipv4_grants']);
    assert.match(set.stdout, new RegExp(`${topo.clients[0]?.ipv4.replace(/\./g, '\\.')} \\. tcp \\. 2000`), set.stdout);
  });
});
