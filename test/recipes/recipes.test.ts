/**
 * The client's connection recipes against real services behind the real daemon on nftables
 * (policy drop, 2 s grants) in network namespaces; every client program runs inside the
 * client namespace:
 * - connect(): connections the service sees per call, knocks per call, ten calls at once,
 *   a new knock after the grant ran out, and what a bare knock() leaves at the service;
 * - examples/pg-pool.mjs (pg.Pool with knocker.socket()) against PostgreSQL, across three
 *   grant expiries;
 * - examples/ssh2-exec.mjs (ssh2 with knocker.connect()) and ssh with
 *   `ProxyCommand sknock connect …` against sshd, counting connections in sshd's log;
 * - examples/fetch-undici.mjs (undici connector, global fetch) and examples/http-client.mjs
 *   (node:http agent) against an HTTP server;
 * - examples/mysql2-pool.mjs (mysql2 with knocker.socket()) against MariaDB.
 * The services come from Debian packages (.ci/run installs them); with CI=true a missing
 * one fails the file instead of skipping it.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { netnsSkipReason, type TcpListener } from '../support/netns.js';
import { CLIENT_BIN } from '../e2e/support/repo.js';
import { sleep } from '../e2e/support/wait.js';
import { examplesDir } from '../examples/run-script.js';
import { startRecipeLab, shown, type RecipeLab } from './support/lab.js';
import {
  MYSQL_PASSWORD,
  MYSQL_USER,
  PG_PASSWORD,
  POSTGRES_BIN,
  httpConnections,
  mariadbConnections,
  postgresConnections,
  sshdConnections,
  startHttp,
  startMariadb,
  startPostgres,
  startSshd,
  type Service,
  type SshService,
} from './support/services.js';

const GRANT_SECONDS = 2;
/** A pause that outlasts a grant (and the pools' 1 s idle timeouts). */
const PAST_GRANT_MS = GRANT_SECONDS * 1000 + 500;
/**
 * One port per test, so that no test waits for an earlier test's grant to run out (grants
 * are per client address and port).
 */
const PORTS = {
  fresh: 2000,
  sequence: 2001,
  known: 2002,
  ten: 2003,
  knock: 2004,
  pg: 5432,
  ssh2: 2222,
  proxy: 2223,
  sshKnock: 2224,
  fetch: 8080,
  agent: 8081,
  fetchApart: 8082,
  mysql: 3306,
} as const;
const CHILD = fileURLToPath(new URL('./support/connect-child.js', import.meta.url));

/** A program the recipes need; with CI=true (where .ci/run installs it) its absence is a failure. */
function need(path: string, pkg: string): string | false {
  if (existsSync(path)) return false;
  if (process.env['CI'] === 'true') throw new Error(`${path} is missing (Debian package ${pkg}); .ci/run installs it`);
  return `${path} is missing: apt-get install ${pkg}`;
}

const skip =
  (await netnsSkipReason({ tools: ['nft'] })) ||
  need(join(POSTGRES_BIN, 'postgres'), 'postgresql') ||
  need('/usr/sbin/sshd', 'openssh-server') ||
  need('/usr/bin/ssh', 'openssh-client') ||
  need('/usr/sbin/mariadbd', 'mariadb-server');

interface ChildOut {
  readonly knocks: number;
  readonly ms: number[];
  readonly said: string[];
  readonly knocksPerCall: number[];
  readonly error?: string;
}

describe(`client recipes against sknock-server on nftables (policy drop, ${GRANT_SECONDS} s grants)`, { skip }, () => {
  let lab: RecipeLab;
  let pg: Service;
  let sshd: SshService;
  let http: Service;
  let mariadb: Service;
  const clientAddress = (): string => lab.client.ipv4;

  before(async () => {
    const t0 = Date.now();
    lab = await startRecipeLab({ ports: Object.values(PORTS), grantSeconds: GRANT_SECONDS, prefix: 'skrcp' });
    const t1 = Date.now();
    [pg, sshd, http, mariadb] = await Promise.all([
      startPostgres(lab.server, PORTS.pg),
      startSshd(lab.server, [PORTS.ssh2, PORTS.proxy, PORTS.sshKnock]),
      startHttp(lab.server, [PORTS.fetch, PORTS.agent, PORTS.fetchApart]),
      startMariadb(lab.server, PORTS.mysql),
    ]);
    console.log(`# lab (namespaces + daemon) in ${t1 - t0} ms; PostgreSQL, sshd, MariaDB and the HTTP server in ${Date.now() - t1} ms`);
  });
  after(async () => {
    for (const s of [pg, sshd, http, mariadb]) await s?.stop().catch(() => undefined);
    await lab?.cleanup();
  });

  /** Knocks the daemon accepted from the client for `port` since `mark`. */
  const accepted = (mark: number, port: number): number => lab.daemon.accepts(mark, clientAddress()).filter((l) => l['port'] === port).length;

  async function child(args: Record<string, unknown>): Promise<ChildOut> {
    const r = await lab.node(CHILD, [JSON.stringify({ host: lab.server.ipv4, pfx: lab.clientPfx, passphraseFile: lab.passphraseFile, serverCert: lab.serverCert, ...args })], {}, 60_000);
    assert.equal(r.code, 0, shown(r));
    const out = JSON.parse(r.stdout.trim().split('\n').pop() as string) as ChildOut;
    assert.equal(out.error, undefined, shown(r));
    return out;
  }

  describe('connect(), counted at a TCP service and at the daemon', () => {
    const listeners: TcpListener[] = [];
    before(async () => {
      for (const port of [PORTS.fresh, PORTS.sequence, PORTS.known, PORTS.ten, PORTS.knock]) listeners.push(await lab.server.listenTcp(port));
    });
    after(async () => {
      for (const l of listeners) await l.close();
    });
    /** Connections the harness service on `port` accepted, any address (a reset one may have none). */
    const seen = (port: number): number => (listeners.find((l) => l.port === port) as TcpListener).connections.length;

    it('the hidden port is dropped before any knock', async () => {
      assert.equal(await lab.client.probeTcp(lab.server.ipv4, PORTS.fresh, { timeoutMs: 300 }), 'timeout');
      assert.equal(seen(PORTS.fresh), 0);
    });

    it('a fresh connect(): tries for knockAfter, knocks once, and the service sees one connection', async () => {
      const mark = lab.daemon.mark();
      const out = await child({ mode: 'fresh', port: PORTS.fresh });
      assert.deepEqual(out.said, ['sknock-test']);
      assert.equal(out.knocks, 1);
      assert.ok((out.ms[0] as number) >= 250, `waited knockAfter before knocking (${out.ms[0]} ms)`);
      await sleep(100);
      assert.equal(seen(PORTS.fresh), 1, 'one connection at the service for one connect()');
      assert.equal(accepted(mark, PORTS.fresh), 1, 'the daemon accepted one knock');
      console.log(`# fresh connect() under policy drop: ${Math.round(out.ms[0] as number)} ms, 1 knock, 1 connection at the service`);
    });

    it('no knock while the grant runs, a knock again once it ran out; one connection per call', async () => {
      const out = await child({ mode: 'sequential', port: PORTS.sequence, pausesMs: [300, PAST_GRANT_MS] });
      assert.deepEqual(out.knocksPerCall, [1, 0, 1], 'knock; the port still open 300 ms later; knock again after the grant');
      assert.deepEqual(out.said, ['sknock-test', 'sknock-test', 'sknock-test']);
      await sleep(100);
      assert.equal(seen(PORTS.sequence), 3, 'three connect() calls, three connections at the service');
      console.log(`# connect() times (ms): first ${Math.round(out.ms[0] as number)}, within the grant ${Math.round(out.ms[1] as number)}, after it ran out ${Math.round(out.ms[2] as number)}`);
    });

    it('with grantSeconds, a call after the grant ran out knocks at once instead of trying the port first', async () => {
      const out = await child({ mode: 'sequential', port: PORTS.known, pausesMs: [PAST_GRANT_MS], grantSeconds: GRANT_SECONDS });
      assert.deepEqual(out.knocksPerCall, [1, 1]);
      assert.ok((out.ms[1] as number) < 250, `the second call knew the grant had run out (${out.ms[1]} ms)`);
      await sleep(100);
      assert.equal(seen(PORTS.known), 2);
    });

    it('ten connect() calls at once: one knock, ten connections at the service', async () => {
      const mark = lab.daemon.mark();
      const out = await child({ mode: 'concurrent', port: PORTS.ten, n: 10 });
      assert.equal(out.knocks, 1);
      assert.equal(out.said.filter((s) => s === 'sknock-test').length, 10);
      await sleep(100);
      assert.equal(accepted(mark, PORTS.ten), 1, 'one datagram reached the daemon');
      assert.equal(seen(PORTS.ten), 10);
      console.log(`# ten concurrent connect(): 1 knock, 10 connections, ${Math.round(out.ms[0] as number)} ms`);
    });

    it('a bare knock(): at most one connection reaches the service, reset before any byte', async () => {
      const out = await child({ mode: 'knock', port: PORTS.knock });
      assert.equal(out.knocks, 1);
      await sleep(200);
      const n = seen(PORTS.knock);
      assert.ok(n <= 1, `${n} connections`);
      console.log(`# a bare knock(): ${n} connection(s) accepted by the harness service`);
    });
  });

  // The services run side by side (each on its own ports), to keep the suite short.
  describe('real services', { concurrency: true }, () => {
    describe('examples/pg-pool.mjs: pg.Pool against PostgreSQL 15', () => {
      it('succeeds across three grant expiries; the held connection survives them; one server connection per pool connection', async () => {
        const r = await lab.node(`${examplesDir}pg-pool.mjs`, ['4', String(PAST_GRANT_MS / 1000)], { ...lab.env(PORTS.pg), PGUSER: 'postgres', PGPASSWORD: PG_PASSWORD, PGDATABASE: 'postgres' }, 90_000);
        assert.equal(r.code, 0, shown(r));
        for (let round = 1; round <= 4; round++) assert.match(r.stdout, new RegExp(`^round ${round}: 4/4 pool queries ok; held connection \\(backend \\d+\\) still answers;`, 'm'), shown(r));
        const summary = /^pg: (\d+) queries ok, (\d+) failed, (\d+) connections opened$/m.exec(r.stdout);
        assert.ok(summary, shown(r));
        const [, ok, failed, opened] = summary.map(Number) as [number, number, number, number];
        assert.deepEqual([ok, failed], [20, 0]);
        await sleep(200);
        const atServer = postgresConnections(await pg.log(), clientAddress());
        assert.equal(atServer, opened, `PostgreSQL saw ${atServer} connections for ${opened} pool connections`);
        assert.ok(opened >= 5, `the pool reconnected after the expiries (${opened} connections)`);
        console.log(`# pg.Pool across 3 grant expiries: ${ok}/${ok + failed} queries ok, ${opened} connections opened, ${atServer} seen by PostgreSQL`);
      });
    });

    // One after the other: the bare knock() below makes a kex_exchange_identification line on
    // purpose, and sshd's log does not say for which port, so it must not fall inside another
    // ssh test's count (the suites of 'real services' run side by side, and their tests with them).
    describe('ssh against sshd', { concurrency: false }, () => {
      let binDir: string;
      before(async () => {
        binDir = await mkdtemp(join(tmpdir(), 'sknock-bin-'));
        await writeFile(join(binDir, 'sknock'), `#!/bin/sh\nexec '${process.execPath}' '${CLIENT_BIN}' "$@"\n`, { mode: 0o755 });
        const hostKey = (await readFile(sshd.hostKeyPub, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
        await writeFile(join(binDir, 'known_hosts'), `[${lab.server.ipv4}]:${PORTS.proxy} ${hostKey}\n`);
      });
      after(async () => {
        if (binDir) await rm(binDir, { recursive: true, force: true });
      });
      const counts = async (port: number): Promise<{ connections: number; kexNoise: number }> => sshdConnections(await sshd.log(), clientAddress(), port);

      it('examples/ssh2-exec.mjs (ssh2 over knocker.connect()): one connection at sshd, no kex_exchange_identification line', async () => {
        const noise = (await counts(PORTS.ssh2)).kexNoise;
        const r = await lab.node(`${examplesDir}ssh2-exec.mjs`, ['echo hello-from-sshd'], { ...lab.env(PORTS.ssh2), SSH_USER: 'root', SSH_KEY: sshd.clientKey, SSH_HOST_KEY: sshd.hostKeyPub });
        assert.equal(r.code, 0, shown(r));
        assert.match(r.stdout, /^hello-from-sshd$/m, shown(r));
        await sleep(200);
        const now = await counts(PORTS.ssh2);
        assert.deepEqual({ connections: now.connections, kexNoise: now.kexNoise - noise }, { connections: 1, kexNoise: 0 }, await sshd.log());
      });

      it('ssh -o ProxyCommand="sknock connect %h %p …", twice: two connections at sshd, no noise', async () => {
        const noise = (await counts(PORTS.proxy)).kexNoise;
        const mark = lab.daemon.mark();
        const proxy = `sknock connect %h %p --pfx ${lab.clientPfx} --server-cert ${lab.serverCert} --passphrase-file ${lab.passphraseFile}`;
        for (let i = 0; i < 2; i++) {
          const r = await lab.exec(
            'ssh',
            ['-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${join(binDir, 'known_hosts')}`, '-o', `ProxyCommand=${proxy}`, '-i', sshd.clientKey, '-p', String(PORTS.proxy), `root@${lab.server.ipv4}`, `echo proxied-${i}`],
            { PATH: `${binDir}${delimiter}${process.env['PATH'] ?? ''}` },
          );
          assert.equal(r.code, 0, shown(r));
          assert.match(r.stdout, new RegExp(`^proxied-${i}$`, 'm'), shown(r));
        }
        await sleep(200);
        const now = await counts(PORTS.proxy);
        assert.deepEqual({ connections: now.connections, kexNoise: now.kexNoise - noise }, { connections: 2, kexNoise: 0 }, await sshd.log());
        // The second ssh knocks only if the first took longer than the grant (a loaded machine).
        const knocks = accepted(mark, PORTS.proxy);
        assert.ok(knocks >= 1 && knocks <= 2, `${knocks} knocks`);
        console.log(`# two ssh through sknock connect: ${knocks} knock(s), 2 connections at sshd`);
      });

      it('a bare knock() at sshd: at most one connection, reset before the banner', async () => {
        const out = await child({ mode: 'knock', port: PORTS.sshKnock });
        assert.equal(out.knocks, 1);
        await sleep(300);
        const now = await counts(PORTS.sshKnock);
        assert.ok(now.connections <= 1, await sshd.log());
        console.log(`# a bare knock() at sshd: ${now.connections} "Connection from" line(s); kex_exchange_identification lines in all: ${now.kexNoise}`);
      });
    });

    describe('HTTP: examples/fetch-undici.mjs (undici connector, global fetch) and examples/http-client.mjs (node:http agent)', () => {
      const seen = async (port: number): Promise<number> => httpConnections(await http.log(), clientAddress(), port);

      for (const [script, verb, port] of [
        ['fetch-undici.mjs', 'fetch', PORTS.fetch],
        ['http-client.mjs', 'GET', PORTS.agent],
      ] as const) {
        it(`${script}: three requests back to back, one knock, as many connections at the server as the client made`, async () => {
          const r = await lab.node(`${examplesDir}${script}`, ['3'], lab.env(port));
          assert.equal(r.code, 0, shown(r));
          for (const path of ['/first', '/second', '/third']) assert.match(r.stdout, new RegExp(`^${verb} ${path} → 200 .*"from":"${clientAddress().replace(/\./g, '\\.')}"`, 'm'), shown(r));
          const made = /^3 requests, 1 knock sent, ([1-3]) connections?$/m.exec(r.stdout);
          assert.ok(made, shown(r));
          await sleep(100);
          assert.equal(await seen(port), Number(made[1]), 'one connection at the server per connection made');
          console.log(`# ${script}: 3 requests, 1 knock, ${made[1]} connection(s), ${await seen(port)} at the server`);
        });
      }

      it('fetch-undici.mjs: requests further apart than the grant and the keep-alive: a new connection and a new knock each', async () => {
        const r = await lab.node(`${examplesDir}fetch-undici.mjs`, ['3', '4.5'], lab.env(PORTS.fetchApart));
        assert.equal(r.code, 0, shown(r));
        assert.match(r.stdout, /^3 requests, 3 knocks sent, 3 connections$/m, shown(r));
        await sleep(100);
        assert.equal(await seen(PORTS.fetchApart), 3);
      });
    });

    describe('examples/mysql2-pool.mjs: mysql2 against MariaDB', () => {
      it('succeeds across two grant expiries, one server connection per pool connection', async () => {
        const r = await lab.node(`${examplesDir}mysql2-pool.mjs`, ['3', String(PAST_GRANT_MS / 1000)], { ...lab.env(PORTS.mysql), MYSQL_USER, MYSQL_PASSWORD }, 90_000);
        assert.equal(r.code, 0, shown(r));
        const summary = /^mysql2: (\d+) queries ok, (\d+) failed, (\d+) connections opened$/m.exec(r.stdout);
        assert.ok(summary, shown(r));
        const [, ok, failed, opened] = summary.map(Number) as [number, number, number, number];
        assert.deepEqual([ok, failed], [12, 0], shown(r));
        await sleep(300);
        const atServer = mariadbConnections(await mariadb.log(), MYSQL_USER, clientAddress());
        assert.equal(atServer, opened, `MariaDB logged ${atServer} connections for ${opened} pool connections`);
        console.log(`# mysql2 pool across 2 grant expiries: ${ok}/${ok + failed} queries ok, ${opened} connections, ${atServer} seen by MariaDB`);
      });
    });
  });
});
