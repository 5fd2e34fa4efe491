/**
 * Real services inside the server namespace of a recipe test, each with its own files in a
 * temporary folder, listening on the namespace's address only, and a log the test reads
 * to count the connections the service saw:
 * - PostgreSQL (Debian's postgresql: initdb + postgres as the postgres user, log_connections);
 * - OpenSSH's sshd (its own config and host key, LogLevel VERBOSE, root login by key only);
 * - MariaDB (mariadb-install-db + mariadbd as the mysql user, general log for connections);
 * - an HTTP server (node:http) that reports each connection.
 * Every start is bounded in time; each process is killed at the end (and by the topology's cleanup).
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Namespace } from '../../support/netns.js';
import { waitUntil } from '../../e2e/support/wait.js';

const run = promisify(execFile);

export interface Service {
  readonly port: number;
  /** Everything the service logged so far. */
  log(): Promise<string>;
  stop(): Promise<void>;
}

/** A folder the service's own user can enter (mkdtemp makes 0700 folders). */
async function serviceDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  return dir;
}

function collect(child: ChildProcess): () => string {
  let text = '';
  child.stdout?.on('data', (c: Buffer) => (text += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (text += c.toString()));
  return () => text;
}

async function stopChild(child: ChildProcess, dir?: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}

/** `setpriv` runs a program as `user` with no process of its own in between (signals reach it directly). */
function asUser(user: string, file: string, args: readonly string[]): [string, string[]] {
  return ['setpriv', [`--reuid=${user}`, `--regid=${user}`, '--init-groups', '--', file, ...args]];
}

async function uid(user: string): Promise<{ uid: number; gid: number }> {
  const [u, g] = await Promise.all([run('id', ['-u', user]), run('id', ['-g', user])]);
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/** The newest PostgreSQL that Debian installed (/usr/lib/postgresql/<major>/bin). */
export const POSTGRES_BIN = ((): string => {
  let majors: number[] = [];
  try {
    majors = readdirSync('/usr/lib/postgresql').map(Number).filter((n) => Number.isInteger(n));
  } catch {
    // not installed: the test says so
  }
  return `/usr/lib/postgresql/${majors.length === 0 ? 'none' : Math.max(...majors)}/bin`;
})();
export const PG_PASSWORD = 'recipe-pg-pass';

/** PostgreSQL on `ns.ipv4`:`port`, user postgres with `PG_PASSWORD` (scram-sha-256) from the test subnet. */
export async function startPostgres(ns: Namespace, port: number): Promise<Service> {
  const dir = await serviceDir('sknock-pg-');
  const data = join(dir, 'data');
  const pwfile = join(dir, 'pw');
  const pg = await uid('postgres');
  await mkdir(data, { mode: 0o700 });
  await writeFile(pwfile, `${PG_PASSWORD}\n`);
  await Promise.all([chown(data, pg.uid, pg.gid), chown(pwfile, pg.uid, pg.gid), chown(dir, pg.uid, pg.gid)]);
  await run(...asUser('postgres', join(POSTGRES_BIN, 'initdb'), ['-D', data, '-U', 'postgres', `--pwfile=${pwfile}`, '--auth-host=scram-sha-256', '--auth-local=trust', '-E', 'UTF8', '--no-sync']), { timeout: 60_000 });
  await writeFile(join(data, 'pg_hba.conf'), 'local all all trust\nhost all all 10.200.0.0/24 scram-sha-256\n');
  const child = ns.spawn(
    ...asUser('postgres', join(POSTGRES_BIN, 'postgres'), [
      '-D', data,
      '-c', `listen_addresses=${ns.ipv4}`, '-c', `port=${port}`, '-c', `unix_socket_directories=${dir}`,
      '-c', 'log_connections=on', '-c', 'log_disconnections=on', '-c', 'fsync=off', '-c', 'logging_collector=off',
    ]),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output = collect(child);
  await waitUntil('PostgreSQL to accept connections', () => /database system is ready to accept connections/.test(output()) || (child.exitCode !== null && Promise.reject(new Error(`postgres exited: ${output()}`))), { timeoutMs: 30_000, intervalMs: 100 });
  return { port, log: async () => output(), stop: () => stopChild(child, dir) };
}

/** Connections PostgreSQL logged from `address`. */
export function postgresConnections(log: string, address: string): number {
  return log.split('\n').filter((l) => l.includes(`connection received: host=${address} `)).length;
}

export interface SshService extends Service {
  /** The client's private key (root may log in with it) and the server's public host key. */
  readonly clientKey: string;
  readonly hostKeyPub: string;
}

/** sshd on `ns.ipv4`, each of `ports`: root by key only, its own host key and config, LogLevel VERBOSE. */
export async function startSshd(ns: Namespace, ports: readonly number[]): Promise<SshService> {
  const dir = await serviceDir('sknock-sshd-');
  const hostKey = join(dir, 'host_ed25519');
  const clientKey = join(dir, 'client_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', clientKey, '-C', 'recipe-client']);
  await writeFile(join(dir, 'authorized_keys'), await readFile(`${clientKey}.pub`));
  const config = join(dir, 'sshd_config');
  await writeFile(
    config,
    [
      ...ports.map((port) => `Port ${port}`),
      `ListenAddress ${ns.ipv4}`,
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privilege separation folder
  const child = ns.spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = collect(child);
  await waitUntil('sshd to listen', () => (output().match(/Server listening on/g)?.length ?? 0) >= ports.length || (child.exitCode !== null && Promise.reject(new Error(`sshd exited: ${output()}`))), { timeoutMs: 10_000, intervalMs: 50 });
  return { port: ports[0] as number, clientKey, hostKeyPub: `${hostKey}.pub`, log: async () => output(), stop: () => stopChild(child, dir) };
}

/**
 * `Connection from <address> port N on <server> port <port>` lines, and every
 * `kex_exchange_identification` line (a connection that ended before the SSH banners were
 * exchanged: what a probe connection leaves in sshd's log).
 */
export function sshdConnections(log: string, address: string, port: number): { connections: number; kexNoise: number } {
  const lines = log.split('\n');
  return {
    connections: lines.filter((l) => l.includes(`Connection from ${address} port`) && l.includes(` port ${port} `)).length,
    kexNoise: lines.filter((l) => l.includes('kex_exchange_identification')).length,
  };
}

export const MYSQL_USER = 'recipe';
export const MYSQL_PASSWORD = 'recipe-my-pass';

/** MariaDB on `ns.ipv4`:`port` with a user `MYSQL_USER` from anywhere; connections in the general log. */
export async function startMariadb(ns: Namespace, port: number): Promise<Service> {
  const dir = await serviceDir('sknock-mariadb-');
  const data = join(dir, 'data');
  const my = await uid('mysql');
  await mkdir(data, { mode: 0o700 });
  await Promise.all([chown(data, my.uid, my.gid), chown(dir, my.uid, my.gid)]);
  await run('mariadb-install-db', ['--no-defaults', `--datadir=${data}`, '--user=mysql', '--auth-root-authentication-method=normal', '--skip-test-db'], { timeout: 60_000 });
  const init = join(dir, 'init.sql');
  await writeFile(init, `CREATE USER IF NOT EXISTS '${MYSQL_USER}'@'%' IDENTIFIED BY '${MYSQL_PASSWORD}';\nGRANT ALL ON *.* TO '${MYSQL_USER}'@'%';\n`);
  await chown(init, my.uid, my.gid);
  const general = join(dir, 'general.log');
  const child = ns.spawn('/usr/sbin/mariadbd', [
    '--no-defaults', `--datadir=${data}`, '--user=mysql', `--bind-address=${ns.ipv4}`, `--port=${port}`,
    `--socket=${join(dir, 'mysqld.sock')}`, `--pid-file=${join(dir, 'mysqld.pid')}`, '--skip-name-resolve',
    `--init-file=${init}`, '--general-log=1', `--general-log-file=${general}`, '--innodb-buffer-pool-size=16M',
    '--skip-log-bin', '--innodb-flush-log-at-trx-commit=0',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = collect(child);
  await waitUntil('MariaDB to accept connections', () => /ready for connections/.test(output()) || (child.exitCode !== null && Promise.reject(new Error(`mariadbd exited: ${output()}`))), { timeoutMs: 60_000, intervalMs: 100 });
  return {
    port,
    log: async () => `${output()}\n${await readFile(general, 'utf8').catch(() => '')}`,
    stop: () => stopChild(child, dir),
  };
}

/** `Connect` lines of MariaDB's general log for `user` from `address`. */
export function mariadbConnections(log: string, user: string, address: string): number {
  return log.split('\n').filter((l) => /\sConnect\s/.test(l) && l.includes(`${user}@${address}`)).length;
}

const HTTP_SERVER = `
const http = require('node:http');
const ports = process.argv.slice(2).map(Number);
let left = ports.length;
for (const port of ports) {
  const server = http.createServer({ keepAliveTimeout: 4000 }, (req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ path: req.url, from: req.socket.remoteAddress, message: 'hello from behind the knock' }));
  });
  server.on('connection', (s) => console.log('connection from ' + s.remoteAddress + ' port ' + s.remotePort + ' to ' + port));
  server.listen(port, process.argv[1], () => --left === 0 && console.log('listening'));
}
`;

/**
 * An HTTP server (node:http; keep-alive 4 s, so that undici, which takes 2 s off the
 * server's hint, and node:http's agent, 1 s, keep the connection) on each of `ports`; it
 * logs `connection from <address> port <n> to <port>` per connection.
 */
export async function startHttp(ns: Namespace, ports: readonly number[]): Promise<Service> {
  const child = ns.spawn(process.execPath, ['-e', HTTP_SERVER, ns.ipv4, ...ports.map(String)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = collect(child);
  await waitUntil('the HTTP server to listen', () => /listening/.test(output()) || (child.exitCode !== null && Promise.reject(new Error(`http server exited: ${output()}`))), { timeoutMs: 10_000, intervalMs: 50 });
  return { port: ports[0] as number, log: async () => output(), stop: () => stopChild(child) };
}

/** `connection from <address> … to <port>` lines of the HTTP server. */
export function httpConnections(log: string, address: string, port: number): number {
  return log.split('\n').filter((l) => l.startsWith(`connection from ${address} `) && l.endsWith(` to ${port}`)).length;
}
