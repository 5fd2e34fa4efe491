/**
 * A stand-in for `systemctl` (there is no running systemd where the tests run), for the
 * install test: `daemon-reload`, `enable [--now]`, `start`, `stop`, `restart`, `reload`,
 * `status`, `is-active` of units in /etc/systemd/system. A started unit runs its
 * ExecStartPre= lines, then ExecStart= under a supervisor process (detached) that records
 * its main PID, its exit status and its output (the journal stand-in) in /run/standin/.
 *
 * Every Exec line runs under as much of the unit's sandbox as can be had without systemd:
 *
 * | unit setting | emulated with |
 * | --- | --- |
 * | User=, Group= (and the user's groups) | setpriv --reuid --regid --init-groups |
 * | AmbientCapabilities=, CapabilityBoundingSet= | setpriv --inh-caps --ambient-caps --bounding-set |
 * | NoNewPrivileges= | setpriv --no-new-privs |
 * | UMask= | umask |
 * | SystemCallFilter=, SystemCallErrorNumber=, SystemCallArchitectures=native | seccomp (seccomp-exec.py, systemd-analyze's own group lists) |
 * | RestrictAddressFamilies= | seccomp on socket()'s family (refused with the errno above, not EAFNOSUPPORT) |
 * | RestrictNamespaces=yes | seccomp: unshare/setns refused, clone with CLONE_NEW* refused, clone3 ENOSYS |
 * | ProtectSystem=strict, ReadWritePaths=, StateDirectory=, RuntimeDirectory= | a mount namespace: every mount read-only, those paths bound read-write; StateDirectory and RuntimeDirectory (RuntimeDirectoryMode=) made, owned by User |
 * | PrivateTmp= | fresh tmpfs on /tmp and /var/tmp |
 * | ProtectHome=yes / read-only | empty tmpfs on /home, /root, /run/user / left read-only |
 * | PrivateDevices= | a tmpfs /dev with null, zero, full, random, urandom, tty, shm only |
 * | ProtectKernelTunables=, ProtectControlGroups= | /sys and every mount under it read-only |
 * | ProtectProc=invisible, ProcSubset=pid | a new procfs on /proc with hidepid=invisible,subset=pid |
 * | PrivateMounts= | the mount namespace itself |
 *
 * Not emulated (each is listed at start in the journal as `standin: not emulated: …`):
 * DevicePolicy= (a cgroup device filter; PrivateDevices leaves only those devices anyway),
 * RemoveIPC=, ProtectKernelModules= and ProtectKernelLogs= beyond what the bounding set
 * (no CAP_SYS_MODULE, CAP_SYSLOG) and ProcSubset/PrivateDevices already take away,
 * ProtectClock= and ProtectHostname= beyond the system-call filter, RestrictRealtime=,
 * RestrictSUIDSGID=, LockPersonality=, KillSignal= (SIGTERM is used), Restart=.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const UNIT_DIR = '/etc/systemd/system';
const STATE = '/run/standin';
const SECCOMP = process.env['STANDIN_SECCOMP_EXEC'] ?? fileURLToPath(new URL('../../../test/install/seccomp-exec.py', import.meta.url));

const EMULATED = new Set([
  'Type', 'ExecStartPre', 'ExecStart', 'ExecReload', 'User', 'Group', 'AmbientCapabilities', 'CapabilityBoundingSet', 'NoNewPrivileges',
  'UMask', 'SystemCallFilter', 'SystemCallErrorNumber', 'SystemCallArchitectures', 'RestrictAddressFamilies', 'RestrictNamespaces',
  'ProtectSystem', 'ReadWritePaths', 'StateDirectory', 'RuntimeDirectory', 'RuntimeDirectoryMode', 'ConfigurationDirectory', 'PrivateTmp', 'ProtectHome', 'PrivateDevices',
  'ProtectKernelTunables', 'ProtectControlGroups', 'ProtectProc', 'ProcSubset', 'PrivateMounts', 'TimeoutStopSec', 'RestartSec',
]);

type Unit = Map<string, string[]>;

function readUnit(name: string): Unit {
  const file = join(UNIT_DIR, name.endsWith('.service') ? name : `${name}.service`);
  const unit: Unit = new Map();
  let section = '';
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1] as string;
      continue;
    }
    if (section !== 'Service') continue;
    const i = line.indexOf('=');
    const key = line.slice(0, i);
    unit.set(key, [...(unit.get(key) ?? []), line.slice(i + 1)]);
  }
  return unit;
}

const one = (unit: Unit, key: string): string | undefined => unit.get(key)?.at(-1);
const yes = (unit: Unit, key: string): boolean => ['yes', 'true', 'on', '1'].includes(one(unit, key) ?? '');

/** Exec line words (the unit's own quoting: "…" groups; %% and $$ single). */
function words(line: string, mainPid?: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) {
    let w = (m[1] ?? m[2] ?? '').replaceAll('%%', '%');
    if (mainPid !== undefined) w = w.replaceAll('$MAINPID', mainPid);
    out.push(w.replaceAll('$$', '$'));
  }
  return out;
}

function caps(list: string | undefined): string {
  return (list ?? '').split(/\s+/).filter(Boolean).map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`).join(',');
}

function q(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`;
}

/** The shell text that builds the sandbox (as root, in a fresh mount namespace) and execs `argv` in it. */
function sandboxScript(unit: Unit, argv: readonly string[]): string {
  const user = one(unit, 'User');
  const group = one(unit, 'Group') ?? user;
  const rw = [...(unit.get('ReadWritePaths') ?? []).flatMap((v) => v.split(/\s+/)), ...(unit.get('StateDirectory') ?? []).map((d) => `/var/lib/${d}`), ...(unit.get('RuntimeDirectory') ?? []).map((d) => `/run/${d}`)]
    .filter(Boolean)
    .map((p) => ({ path: p.replace(/^-/, ''), optional: p.startsWith('-') }));
  const lines = ['set -e'];
  if (one(unit, 'ProtectSystem') === 'strict') {
    for (const p of rw) lines.push(`if [ -e ${q(p.path)} ]; then mount --bind ${q(p.path)} ${q(p.path)}; fi`);
    const keep = rw.map((p) => p.path);
    lines.push(
      `awk '{print $5}' /proc/self/mountinfo | sort -u | while read -r mp; do case "$mp" in /dev|/dev/*|/proc|/proc/*|/sys|/sys/*${keep.map((k) => `|${k}`).join('')}) continue;; esac; mount -o remount,bind,ro "$mp" 2>/dev/null || true; done`,
    );
  }
  if (yes(unit, 'PrivateTmp')) lines.push('mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp', 'mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /var/tmp');
  const home = one(unit, 'ProtectHome');
  if (home === 'yes' || home === 'tmpfs') lines.push('for d in /home /root /run/user; do if [ -d "$d" ]; then mount -t tmpfs -o ro,mode=0755 tmpfs "$d"; fi; done');
  if (yes(unit, 'PrivateDevices')) {
    lines.push(
      'mount -t tmpfs -o mode=0755,nosuid,noexec tmpfs /dev',
      'mknod -m 666 /dev/null c 1 3; mknod -m 666 /dev/zero c 1 5; mknod -m 666 /dev/full c 1 7',
      'mknod -m 666 /dev/random c 1 8; mknod -m 666 /dev/urandom c 1 9; mknod -m 666 /dev/tty c 5 0',
      'mkdir /dev/shm && mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm',
      'ln -s /proc/self/fd /dev/fd; ln -s /proc/self/fd/0 /dev/stdin; ln -s /proc/self/fd/1 /dev/stdout; ln -s /proc/self/fd/2 /dev/stderr',
    );
  }
  if (yes(unit, 'ProtectKernelTunables') || yes(unit, 'ProtectControlGroups')) {
    lines.push(`awk '{print $5}' /proc/self/mountinfo | grep -E '^/sys(/|$)' | sort -u | while read -r mp; do mount -o remount,bind,ro "$mp" 2>/dev/null || true; done`);
  }
  const procOptions = [one(unit, 'ProtectProc') ? `hidepid=${one(unit, 'ProtectProc')}` : '', one(unit, 'ProcSubset') ? `subset=${one(unit, 'ProcSubset')}` : ''].filter(Boolean);
  if (procOptions.length > 0) lines.push(`mount -t proc -o nosuid,nodev,noexec,${procOptions.join(',')} proc /proc`);
  if (one(unit, 'UMask')) lines.push(`umask ${one(unit, 'UMask')}`);
  const exec: string[] = [];
  if (user !== undefined) {
    const bounding = one(unit, 'CapabilityBoundingSet');
    const ambient = caps(one(unit, 'AmbientCapabilities'));
    exec.push('setpriv', `--reuid=${user}`, `--regid=${group}`, '--init-groups');
    if (ambient) exec.push(`--inh-caps=-all,${ambient}`, `--ambient-caps=${ambient}`);
    else exec.push('--inh-caps=-all');
    if (bounding !== undefined) exec.push(`--bounding-set=-all${caps(bounding) ? `,${caps(bounding)}` : ''}`);
    if (yes(unit, 'NoNewPrivileges')) exec.push('--no-new-privs');
  }
  const filters = unit.get('SystemCallFilter') ?? [];
  if (filters.length > 0) {
    exec.push('/usr/bin/python3', SECCOMP);
    for (const f of filters.flatMap((v) => v.split(/\s+/))) exec.push('--filter', f);
    if (one(unit, 'SystemCallErrorNumber')) exec.push('--errno', one(unit, 'SystemCallErrorNumber') as string);
    if (one(unit, 'RestrictAddressFamilies')) exec.push('--families', (one(unit, 'RestrictAddressFamilies') as string).split(/\s+/).join(','));
    if (yes(unit, 'RestrictNamespaces')) exec.push('--restrict-namespaces');
    exec.push('--');
  }
  exec.push(...argv);
  lines.push(`exec ${exec.map(q).join(' ')}`);
  return lines.join('\n');
}

/** argv that runs `command` under the unit's sandbox. */
function sandboxed(unit: Unit, command: readonly string[]): string[] {
  return ['unshare', '--mount', '--propagation', 'private', 'bash', '-c', sandboxScript(unit, command)];
}

function paths(name: string): { pid: string; status: string; journal: string } {
  const base = join(STATE, name.replace(/\.service$/, ''));
  return { pid: `${base}.pid`, status: `${base}.status`, journal: `${base}.journal` };
}

function mainPid(name: string): number | undefined {
  try {
    const pid = Number(readFileSync(paths(name).pid, 'utf8'));
    const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return state === 'Z' ? undefined : pid;
  } catch {
    return undefined;
  }
}

function journal(name: string, text: string): void {
  writeFileSync(paths(name).journal, text, { flag: 'a' });
}

function runSync(name: string, unit: Unit, line: string, pid?: string): number {
  const argv = sandboxed(unit, words(line, pid));
  const fd = openSync(paths(name).journal, 'a');
  try {
    const r = spawnSync(argv[0] as string, argv.slice(1), { stdio: ['ignore', fd, fd] });
    return r.status ?? 1;
  } finally {
    closeSync(fd);
  }
}

function prepare(unit: Unit): void {
  const user = one(unit, 'User');
  for (const d of unit.get('StateDirectory') ?? []) {
    const dir = `/var/lib/${d}`;
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    if (user !== undefined) spawnSync('chown', [`${user}:${one(unit, 'Group') ?? user}`, dir]);
  }
  for (const d of unit.get('RuntimeDirectory') ?? []) {
    const dir = `/run/${d}`;
    rmSync(dir, { recursive: true, force: true }); // made anew at every start, as systemd does
    mkdirSync(dir, { recursive: true });
    spawnSync('chmod', [one(unit, 'RuntimeDirectoryMode') ?? '0755', dir]);
    if (user !== undefined) spawnSync('chown', [`${user}:${one(unit, 'Group') ?? user}`, dir]);
  }
}

async function start(name: string): Promise<number> {
  if (mainPid(name) !== undefined) return 0;
  const unit = readUnit(name);
  mkdirSync(STATE, { recursive: true });
  const ignored = [...unit.keys()].filter((k) => !EMULATED.has(k));
  journal(name, `standin: not emulated: ${ignored.join(', ')}\n`);
  prepare(unit);
  for (const line of unit.get('ExecStartPre') ?? []) {
    const code = runSync(name, unit, line);
    if (code !== 0) {
      process.stderr.write(`Job for ${name} failed because the control process exited with error code ${code} (ExecStartPre). See the journal: ${paths(name).journal}\n`);
      return 1;
    }
  }
  rmSync(paths(name).status, { force: true });
  rmSync(paths(name).pid, { force: true });
  const supervisor = spawn(process.execPath, [fileURLToPath(import.meta.url), '__supervise', name], { detached: true, stdio: 'ignore' });
  supervisor.unref();
  // Type=exec: started once the command runs.
  const deadline = Date.now() + 10_000;
  while (!existsSync(paths(name).pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return existsSync(paths(name).pid) ? 0 : 1;
}

function supervise(name: string): void {
  const unit = readUnit(name);
  const [exec] = unit.get('ExecStart') ?? [];
  const argv = sandboxed(unit, words(exec ?? ''));
  const fd = openSync(paths(name).journal, 'a');
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', fd, fd] });
  writeFileSync(paths(name).pid, String(child.pid));
  child.on('exit', (code, signal) => {
    writeFileSync(paths(name).status, signal ? `signal ${signal}` : `status ${code}`);
  });
}

async function stop(name: string): Promise<number> {
  const pid = mainPid(name);
  if (pid === undefined) return 0;
  process.kill(pid, 'SIGTERM');
  const timeout = Number(/^(\d+)/.exec(one(readUnit(name), 'TimeoutStopSec') ?? '90')?.[1] ?? 90) * 1000;
  const deadline = Date.now() + timeout;
  while (mainPid(name) !== undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (mainPid(name) !== undefined) process.kill(pid, 'SIGKILL');
  return 0;
}

function status(name: string): number {
  const pid = mainPid(name);
  let exit = '';
  try {
    exit = readFileSync(paths(name).status, 'utf8');
  } catch {
    // still running, or never started
  }
  process.stdout.write(
    `● ${name}\n     Active: ${pid !== undefined ? 'active (running)' : `inactive (dead)${exit ? `, ${exit}` : ''}`}\n${pid !== undefined ? `   Main PID: ${pid}\n` : ''}`,
  );
  try {
    const lines = readFileSync(paths(name).journal, 'utf8').trimEnd().split('\n').slice(-5);
    process.stdout.write(`\n${lines.join('\n')}\n`);
  } catch {
    // no journal yet
  }
  return pid !== undefined ? 0 : 3;
}

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  const units = rest.filter((a) => !a.startsWith('-')).map((u) => (u.endsWith('.service') ? u : `${u}.service`));
  process.stdout.write(`standin-systemctl: ${args.join(' ')}\n`);
  switch (command) {
    case '__supervise':
      supervise(units[0] as string);
      return 0;
    case 'daemon-reload':
      return 0;
    case 'enable': {
      for (const u of units) {
        mkdirSync(join(UNIT_DIR, 'multi-user.target.wants'), { recursive: true });
        spawnSync('ln', ['-sf', join(UNIT_DIR, u), join(UNIT_DIR, 'multi-user.target.wants', u)]);
        process.stdout.write(`Created symlink ${join(UNIT_DIR, 'multi-user.target.wants', u)} → ${join(UNIT_DIR, u)}.\n`);
      }
      if (!rest.includes('--now')) return 0;
      for (const u of units) if ((await start(u)) !== 0) return 1;
      return 0;
    }
    case 'start':
      for (const u of units) if ((await start(u)) !== 0) return 1;
      return 0;
    case 'stop':
      for (const u of units) await stop(u);
      return 0;
    case 'restart':
      for (const u of units) {
        await stop(u);
        if ((await start(u)) !== 0) return 1;
      }
      return 0;
    case 'reload':
      for (const u of units) {
        const pid = mainPid(u);
        if (pid === undefined) return 1;
        const unit = readUnit(u);
        for (const line of unit.get('ExecReload') ?? []) if (runSync(u, unit, line, String(pid)) !== 0) return 1;
      }
      return 0;
    case 'status':
      return Math.max(...units.map(status));
    case 'is-active':
      return units.every((u) => mainPid(u) !== undefined) ? 0 : 3;
    default:
      process.stderr.write(`standin-systemctl: ${command} is not emulated\n`);
      return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (process.argv[2] !== '__supervise') process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`standin-systemctl: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
