/**
 * A tiny, self-contained network-namespace lab for the demo: two namespaces, `server` and
 * `client`, joined by one veth pair, each with one IPv4 address. Nothing is added to the
 * host's own network namespace: every address and firewall rule lives inside the lab, and
 * the lab is gone once `cleanup()` (or the exit/signal hooks below) ran.
 *
 *   const lab = await createLab();
 *   const daemon = lab.spawn(lab.server, process.execPath, ['server-side.mjs']);
 *   …
 *   await lab.cleanup();
 *
 * Needs Linux, `ip` (iproute2) and CAP_SYS_ADMIN + CAP_NET_ADMIN: root, or root inside an
 * unprivileged user namespace (see demo.mjs).
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/** Every lab namespace is called `sknockdemo-<pid base 36>-<random>-<srv|cli>`. */
export const LAB_PREFIX = 'sknockdemo';
const NAME_PATTERN = new RegExp(`^${LAB_PREFIX}-([0-9a-z]+)-[0-9a-f]{6}-(srv|cli)$`);

/** The lab's link: a /24 that exists only inside the two namespaces. */
export const SERVER_ADDRESS = '10.66.0.1';
export const CLIENT_ADDRESS = '10.66.0.2';

/** Runs a program to completion; rejects with its stderr on a non-zero exit. */
export function run(file, args, { input, timeoutMs = 10_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: timeoutMs, env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')}: ${(stderr || err.message).trim()}`));
      else resolve(stdout);
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

/** Why no lab can be made here, or '' when it can (tries a scratch namespace). */
export async function labUnavailableReason() {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  const probe = `${LAB_PREFIX}-probe-${process.pid.toString(36)}`;
  try {
    await run('ip', ['netns', 'add', probe]);
  } catch (err) {
    return `\`ip netns add\` failed (${err.message.split('\n')[0]})`;
  }
  await run('ip', ['netns', 'del', probe]).catch(() => {});
  try {
    await run('nft', ['--version']);
  } catch {
    return 'nft (nftables) is not installed';
  }
  return '';
}

/**
 * Deletes lab namespaces left by a demo that was killed with SIGKILL (its pid is gone), so
 * that nothing piles up. Other processes' namespaces are never touched.
 */
export async function removeStaleLabs() {
  let list = '';
  try {
    list = await run('ip', ['netns', 'list']);
  } catch {
    return [];
  }
  const stale = [];
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0];
    const m = NAME_PATTERN.exec(name ?? '');
    if (!m) continue;
    const pid = parseInt(m[1], 36);
    if (pid === process.pid || isAlive(pid)) continue;
    stale.push(name);
  }
  for (const name of stale) await run('ip', ['netns', 'del', name]).catch(() => {});
  return stale;
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

const liveLabs = new Set();
let hooksInstalled = false;

/** Synchronous cleanup when the process exits, whatever the reason. */
function installExitHook() {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const lab of liveLabs) lab.cleanupSync();
  });
}

/**
 * Makes the two namespaces and the link. Resolves with the lab; on failure removes whatever
 * it made and rejects.
 */
export async function createLab() {
  installExitHook();
  const tag = `${LAB_PREFIX}-${process.pid.toString(36)}-${randomBytes(3).toString('hex')}`;
  const server = { name: `${tag}-srv`, address: SERVER_ADDRESS };
  const client = { name: `${tag}-cli`, address: CLIENT_ADDRESS };
  const children = new Set();
  let alive = true;

  const lab = {
    server,
    client,
    /** Runs `file args` inside `ns` to completion. */
    exec(ns, file, args = [], options) {
      return run('ip', ['netns', 'exec', ns.name, file, ...args], options);
    },
    /** Starts a long-running process inside `ns`; cleanup() stops it. */
    spawn(ns, file, args = [], options = {}) {
      const child = spawn('ip', ['netns', 'exec', ns.name, file, ...args], options);
      children.add(child);
      child.on('exit', () => children.delete(child));
      return child;
    },
    /** Stops what runs inside (SIGTERM, then SIGKILL after `graceMs`) and deletes both namespaces. Idempotent. */
    async cleanup({ graceMs = 3000 } = {}) {
      if (!alive) return;
      alive = false;
      liveLabs.delete(lab);
      await Promise.all(
        [...children].map(
          (child) =>
            new Promise((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
              child.once('exit', () => {
                clearTimeout(timer);
                resolve();
              });
              child.kill('SIGTERM');
            }),
        ),
      );
      await run('ip', ['-force', '-batch', '-'], { input: `netns del ${server.name}\nnetns del ${client.name}\n` }).catch(() => {});
    },
    /** The same, synchronously and at once (for `exit` hooks). */
    cleanupSync() {
      if (!alive) return;
      alive = false;
      liveLabs.delete(lab);
      for (const child of children) child.kill('SIGKILL');
      for (const ns of [server, client]) {
        try {
          execFileSync('ip', ['netns', 'del', ns.name], { stdio: 'ignore' });
        } catch {
          // never made, or already gone
        }
      }
    },
  };
  liveLabs.add(lab);

  try {
    await run('ip', ['-batch', '-'], { input: `netns add ${server.name}\nnetns add ${client.name}\n` });
    // One veth pair, created straight into the two namespaces: `eth0` on each side.
    await run('ip', ['link', 'add', 'eth0', 'netns', server.name, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', client.name]);
    await Promise.all(
      [server, client].map((ns) =>
        run('ip', ['-n', ns.name, '-batch', '-'], {
          input: ['link set lo up', `addr add ${ns.address}/24 dev eth0`, 'link set eth0 up'].join('\n') + '\n',
        }),
      ),
    );
  } catch (err) {
    await lab.cleanup();
    throw err;
  }
  return lab;
}
