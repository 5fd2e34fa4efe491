#!/usr/bin/env node
/**
 * sKnock in under ten seconds, with real packets and a real firewall:
 *
 *   1. a client connects to a hidden TCP service — the firewall drops it;
 *   2. it knocks (`knock()` from @sknock/client: one encrypted, signed UDP datagram);
 *   3. it connects again — the daemon (`createServer` from @sknock/server) has opened the
 *      port for the client's address;
 *   4. the grant runs out (3 s here, 15 s by default) —
 *   5. and the port is closed again.
 *
 * Where it runs:
 *   - as root: two network namespaces (`ip netns add`) joined by a veth pair, the daemon with
 *     nftables and policy `drop` in one, the client in the other (see lib/netns.mjs);
 *   - not root, where the kernel allows unprivileged user namespaces: the same, inside
 *     `unshare --user --map-root-user --net --mount` (nothing outside it is touched);
 *   - otherwise: on loopback with the in-memory firewall back end, and it says so.
 * SKNOCK_DEMO_MODE=netns|userns|memory forces one. Everything it makes (namespaces,
 * processes, nftables table, temporary files) is removed at the end, also on Ctrl-C.
 *
 * Run it with `npm run demo` at the repository root, or `node examples/demo.mjs` once built.
 */
import { spawn, spawnSync } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { loadCredentials } from '@sknock/protocol';
import { MemoryFirewallBackend } from '@sknock/server';
import { createCa, issueClientCertificate, issueServerCertificate } from '@sknock/ca';
import { createLab, labUnavailableReason, removeStaleLabs } from './lib/netns.mjs';
import { knockAndMeasure, probeTcp } from './lib/demo-client.mjs';
import { startServerSide } from './lib/demo-server.mjs';

const GRANT_SECONDS = 3; // PORT_OPEN_DURATION_IN_SECONDS
const NETNS_SERVICE_PORT = 2000;
const KNOCK_PORT = 62201;
const PROBE_TIMEOUT_MS = 800;
const PASSPHRASE = 'demo-only';

const here = fileURLToPath(new URL('.', import.meta.url));
const started = performance.now();

// ------------------------------------------------------------------------------------------
// Output: every line carries the time since the demo started.

const seconds = (ms) => (ms / 1000).toFixed(1);
function say(text = '') {
  const stamp = `[${seconds(performance.now() - started).padStart(4)} s]`;
  process.stdout.write(text === '' ? '\n' : `${stamp} ${text}\n`);
}
const plain = (text) => process.stdout.write(`${text}\n`);

// ------------------------------------------------------------------------------------------
// Cleanup, whatever happens: normal end, exception, Ctrl-C, SIGTERM.

const cleanups = [];
let cleaning;
function cleanupAll() {
  cleaning ??= (async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        plain(`cleanup: ${err.message}`);
      }
    }
  })();
  return cleaning;
}
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (interrupted) process.exit(130); // second Ctrl-C: the exit hook of lib/netns.mjs still deletes the namespaces
    interrupted = true;
    plain(`\n${signal}: cleaning up…`);
    void cleanupAll().then(() => {
      plain('cleaned up.');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  });
}

// ------------------------------------------------------------------------------------------
// Which mode?

function commandWorks(file, args) {
  const r = spawnSync(file, args, { stdio: 'ignore', timeout: 10_000 });
  return r.status === 0;
}

// Inside `unshare --mount`, a private tmpfs on /run/netns (or /run) lets `ip netns add` work.
const USERNS_SHELL = 'if [ -d /run/netns ]; then mount -t tmpfs sknockdemo /run/netns; else mount -t tmpfs sknockdemo /run; fi && exec "$0" "$@"';
const USERNS_ARGS = ['--user', '--map-root-user', '--net', '--mount', '--', '/bin/sh', '-c'];

function usernsUnavailableReason() {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (!commandWorks('unshare', ['--version'])) return 'unshare (util-linux) is not installed';
  if (!commandWorks('nft', ['--version'])) return 'nft (nftables) is not installed';
  const probe = `${USERNS_SHELL.replace(' && exec "$0" "$@"', '')} && ip netns add probe && ip netns del probe`;
  if (!commandWorks('unshare', [...USERNS_ARGS, probe])) return 'this kernel does not let an unprivileged user make user and network namespaces';
  return '';
}

async function chooseMode() {
  const forced = process.env.SKNOCK_DEMO_MODE ?? 'auto';
  if (!['auto', 'netns', 'userns', 'memory'].includes(forced)) throw new Error(`SKNOCK_DEMO_MODE must be auto, netns, userns or memory, not ${forced}`);
  if (forced === 'memory') return { mode: 'memory', why: 'SKNOCK_DEMO_MODE=memory' };
  const insideUserns = process.env.SKNOCK_DEMO_INSIDE_USERNS === '1';
  const root = process.getuid?.() === 0;
  if (forced === 'netns' || insideUserns || (forced === 'auto' && root)) {
    const reason = await labUnavailableReason();
    if (!reason) return { mode: 'netns', insideUserns };
    if (forced === 'netns' || insideUserns) throw new Error(`cannot make network namespaces: ${reason}`);
    return { mode: 'memory', why: reason };
  }
  const reason = usernsUnavailableReason();
  if (!reason) return { mode: 'userns' };
  if (forced === 'userns') throw new Error(`cannot use an unprivileged user namespace: ${reason}`);
  return { mode: 'memory', why: `not root, and ${reason}` };
}

/** Runs this same script again inside a new user + network + mount namespace. */
async function reexecInUserNamespace() {
  const child = spawn('unshare', [...USERNS_ARGS, USERNS_SHELL, process.execPath, fileURLToPath(import.meta.url)], {
    stdio: 'inherit',
    env: { ...process.env, SKNOCK_DEMO_INSIDE_USERNS: '1', SKNOCK_DEMO_MODE: 'netns' },
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.removeAllListeners(signal);
    process.on(signal, () => child.kill(signal));
  }
  const [code, signal] = await once(child, 'exit');
  // Everything the inner demo made lived in namespaces that ended with it.
  process.exit(code ?? (signal === 'SIGINT' ? 130 : 143));
}

// ------------------------------------------------------------------------------------------
// Throwaway credentials with the CA library (what `sknock-ca init / issue-server /
// issue-client` do on the command line).

async function makeCredentials(serverName, servicePort) {
  const ca = await createCa({ name: 'sKnock demo CA', validityDays: 2 });
  const server = await issueServerCertificate(ca, { name: serverName, validityDays: 1, pkcs12: { passphrase: PASSPHRASE } });
  const client = await issueClientCertificate(ca, {
    name: 'alice',
    grants: [{ protocol: 'tcp', port: servicePort }], // what alice may open, inside her certificate
    validityDays: 1,
    pkcs12: { passphrase: PASSPHRASE },
  });
  return { ca, server, client };
}

// ------------------------------------------------------------------------------------------
// A child process that speaks JSON lines (lib/demo-server.mjs, lib/demo-client.mjs).

class JsonChild extends EventEmitter {
  #next = 1;
  #pending = new Map();
  stderr = '';
  constructor(child, what) {
    super();
    this.child = child;
    this.what = what;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      this.stderr += chunk;
    });
    child.stdin.on('error', () => {});
    createInterface({ input: child.stdout }).on('line', (line) => {
      let message;
      try {
        message = JSON.parse(line);
      } catch {
        return;
      }
      const waiter = message.id !== undefined ? this.#pending.get(message.id) : undefined;
      if (waiter) {
        this.#pending.delete(message.id);
        waiter.resolve(message);
      } else this.emit('message', message);
    });
    child.on('exit', (code, signal) => {
      const err = new Error(`${what} exited (${code ?? signal})${this.stderr ? `: ${this.stderr.trim()}` : ''}`);
      for (const w of this.#pending.values()) w.reject(err);
      this.#pending.clear();
      this.emit('exit', err);
    });
  }
  request(op, fields) {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.child.stdin.write(`${JSON.stringify({ id, op, ...fields })}\n`);
    });
  }
  /** Resolves with the first message `predicate` accepts; rejects if the child exits first or after `timeoutMs`. */
  waitFor(predicate, timeoutMs) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`${this.what}: nothing after ${timeoutMs} ms${this.stderr ? `: ${this.stderr.trim()}` : ''}`)), timeoutMs);
      const onMessage = (m) => {
        if (predicate(m)) finish(undefined, m);
      };
      const onExit = (err) => finish(err);
      const finish = (err, m) => {
        clearTimeout(timer);
        this.off('message', onMessage);
        this.off('exit', onExit);
        if (err) reject(err);
        else resolve(m);
      };
      this.on('message', onMessage);
      this.on('exit', onExit);
    });
  }
}

// ------------------------------------------------------------------------------------------
// The two worlds the same story runs in. Each returns { host, port, blockedMeans, summary,
// events (EventEmitter of the server's events), probe(), knock(), knockCall }.

async function setUpNamespaces() {
  const stale = await removeStaleLabs();
  if (stale.length > 0) say(`Removed ${stale.length} namespace(s) left by an earlier demo that was killed: ${stale.join(', ')}`);

  const creds = await makeCredentials('10.66.0.1', NETNS_SERVICE_PORT);
  say(`Made a throwaway CA "${creds.ca.name}", a server certificate, and a client certificate for "alice" that grants tcp/${NETNS_SERVICE_PORT}.`);

  // The two processes read the credentials from files, as they would in real life.
  const dir = mkdtempSync(join(tmpdir(), 'sknock-demo-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  cleanups.push(removeDir);
  const file = (name, bytes) => {
    writeFileSync(join(dir, name), bytes, { mode: 0o600 });
    return join(dir, name);
  };
  const serverPfx = file('server.pfx', creds.server.pfx);
  const passFile = file('server.pfx.pass', `${PASSPHRASE}\n`);
  const clientPfx = file('alice.pfx', creds.client.pfx);
  const serverCer = file('server.cer', creds.server.certificate);

  const lab = await createLab();
  let stopped = false; // the server side said its daemon stopped (and removed its nftables table)
  cleanups.push(async () => {
    await lab.cleanup(); // SIGTERM to both sides (the daemon stops cleanly), then `ip netns del`
    removeDir();
    say(`Cleaned up: ${stopped ? 'daemon stopped (its nftables table removed), ' : ''}namespaces deleted, temporary files removed.`);
  });
  say(`Made network namespaces ${lab.server.name} (${lab.server.address}) and ${lab.client.name} (${lab.client.address}), joined by a veth pair.`);

  const serverSide = new JsonChild(
    lab.spawn(lab.server, process.execPath, [
      join(here, 'lib/demo-server.mjs'),
      JSON.stringify({
        servicePort: NETNS_SERVICE_PORT,
        config: {
          serverPfxFile: serverPfx,
          pfxPasswordFile: passFile,
          firewallBackend: 'nftables',
          firewallPolicy: 'drop',
          portOpenDurationSeconds: GRANT_SECONDS,
          knockPort: KNOCK_PORT,
          anyPortKnocks: true,
          emergencyAccessPorts: 'none',
        },
      }),
    ], { stdio: ['pipe', 'pipe', 'pipe'] }),
    'the server side',
  );
  const clientSide = new JsonChild(lab.spawn(lab.client, process.execPath, [join(here, 'lib/demo-client.mjs')], { stdio: ['pipe', 'pipe', 'pipe'] }), 'the client side');
  const [ready] = await Promise.all([
    serverSide.waitFor((m) => m.event === 'ready' || m.event === 'error', 30_000),
    clientSide.waitFor((m) => m.ready, 30_000),
  ]);
  if (ready.event === 'error') throw new Error(`the daemon did not start: ${ready.message}`);
  serverSide.on('message', (m) => {
    if (m.event === 'stopped') stopped = true;
  });
  say(`In ${lab.server.name}: the sKnock daemon on udp/${ready.knockPort} (nftables, policy drop, grants last ${GRANT_SECONDS} s) and a hello service on tcp/${NETNS_SERVICE_PORT}.`);

  const events = new EventEmitter();
  serverSide.on('message', (m) => events.emit(m.event, m));
  return {
    summary: `dropped → knock → open → dropped again after ${GRANT_SECONDS} s`,
    host: lab.server.address,
    port: NETNS_SERVICE_PORT,
    blockedMeans: 'the firewall drops the packets',
    firewall: 'nftables',
    events,
    probe: () => clientSide.request('probe', { host: lab.server.address, port: NETNS_SERVICE_PORT, timeoutMs: PROBE_TIMEOUT_MS }),
    // No knockPort: a random UDP port from 10000 to 60000, as original sKnock clients do;
    // nftables redirects knock-shaped datagrams on any port to the daemon.
    knock: () =>
      clientSide.request('knock', {
        options: { host: lab.server.address, port: NETNS_SERVICE_PORT, pfx: clientPfx, passphrase: PASSPHRASE, serverCertificate: serverCer, timeout: 5000 },
      }),
    knockCall: `knock({ host: '${lab.server.address}', port: ${NETNS_SERVICE_PORT}, pfx: 'alice.pfx', passphrase, serverCertificate: 'server.cer' })`,
  };
}

async function setUpMemory() {
  // A free loopback port for the service; alice's certificate grants exactly that port.
  const probe = createTcpServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const servicePort = probe.address().port;
  await new Promise((resolve) => probe.close(resolve));

  const creds = await makeCredentials('127.0.0.1', servicePort);
  say(`Made a throwaway CA "${creds.ca.name}", a server certificate, and a client certificate for "alice" that grants tcp/${servicePort}.`);

  const firewall = new MemoryFirewallBackend();
  const events = new EventEmitter();
  const side = await startServerSide({
    servicePort,
    serviceHost: '127.0.0.1',
    config: { listenAddress: '127.0.0.1', firewallPolicy: 'drop', portOpenDurationSeconds: GRANT_SECONDS, anyPortKnocks: false, emergencyAccessPorts: 'none' },
    credentials: await loadCredentials({ pfx: creds.server.pfx, passphrase: PASSPHRASE }),
    firewall,
    listenPort: 0,
    gate: (address) => firewall.isAllowed(address, 'tcp', servicePort),
    onEvent: (m) => events.emit(m.event, m),
  });
  cleanups.push(async () => {
    await side.stop();
    say('Cleaned up: daemon and service stopped.');
  });
  const knockPort = side.server.address().port;
  say(`On 127.0.0.1: the sKnock daemon on udp/${knockPort} (memory back end, grants last ${GRANT_SECONDS} s) and a hello service on tcp/${servicePort}.`);
  say('   The memory back end changes no firewall: the service itself asks it whether a grant is open');
  say('   and resets every other connection. A real firewall would drop them instead.');
  return {
    summary: `refused → knock → open → refused again after ${GRANT_SECONDS} s (simulated firewall)`,
    host: '127.0.0.1',
    port: servicePort,
    blockedMeans: 'the memory back end holds no grant, so the service resets it (simulated firewall)',
    firewall: 'the memory back end',
    events,
    probe: () => probeTcp('127.0.0.1', servicePort, { timeoutMs: PROBE_TIMEOUT_MS }),
    // verify: false — the gated service accepts TCP before it checks, so the SDK's own
    // "does the port answer yet?" probe would see it open at once; wait for the grant instead.
    knock: async () => {
      const opened = once(events, 'open');
      const result = await knockAndMeasure({
        host: '127.0.0.1', port: servicePort, knockPort, verify: false,
        pfx: creds.client.pfx, passphrase: PASSPHRASE, serverCertificate: creds.server.certificate, timeout: 5000,
      });
      if (!result.ok) return result;
      await Promise.race([opened, new Promise((_, reject) => setTimeout(() => reject(new Error('the server opened no grant within 3 s')), 3000))]);
      return { ...result, ms: Math.round(performance.now() - knockCalled) };
    },
    knockCall: `knock({ host: '127.0.0.1', port: ${servicePort}, knockPort: ${knockPort}, pfx, passphrase, serverCertificate })`,
  };
}
let knockCalled = 0;

// ------------------------------------------------------------------------------------------
// The story.

function describeProbe(r, blockedMeans) {
  if (r.outcome === 'open') return `✓ connected in ${r.ms} ms; the service says: "${r.greeting}"`;
  if (r.outcome === 'timeout') return `✗ no answer within ${r.ms} ms: ${blockedMeans}`;
  if (r.outcome === 'reset') return `✗ connection reset after ${r.ms} ms: ${blockedMeans}`;
  return `✗ ${r.outcome}${r.error ? ` (${r.error})` : ''} after ${r.ms} ms`;
}

async function tellStory(world) {
  const problems = [];
  const grantNote = (m) => `${m.address} → ${m.protocol}/${m.port}`;
  let openedAt = 0;
  let closedAt = 0;
  world.events.on('accept', (m) => say(`   server: knock from ${m.source} verified (${m.subject}, may open ${m.protocol}/${m.port})`));
  world.events.on('open', (m) => {
    openedAt = performance.now();
    say(`   server: ${world.firewall} now lets ${grantNote(m)} through, for ${GRANT_SECONDS} s`);
  });
  world.events.on('close', (m) => {
    closedAt = performance.now();
    say(`   server: grant expired, ${grantNote(m)} closed`);
  });
  world.events.on('reject', (m) => say(`   server: dropped a datagram from ${m.source}: ${m.code}`));

  say();
  say(`1. alice connects to ${world.host}:${world.port} without knocking`);
  const before = await world.probe();
  say(`   ${describeProbe(before, world.blockedMeans)}`);
  if (before.outcome === 'open') problems.push('the service was reachable before the knock');

  say(`2. alice knocks: ${world.knockCall}`);
  knockCalled = performance.now();
  const knocked = await world.knock();
  // The daemon's report of the grant travels on another pipe; let it print first.
  if (knocked.ok && openedAt === 0) await Promise.race([once(world.events, 'open'), new Promise((resolve) => setTimeout(resolve, 1000))]);
  if (knocked.ok) {
    const d = knocked.datagrams?.[knocked.datagrams.length - 1];
    const sent = d ? `${knocked.datagrams.length} datagram${knocked.datagrams.length > 1 ? 's' : ''} of ${d.bytes} bytes to udp/${d.knockPort}` : 'sent';
    say(`   ✓ port open ${knocked.ms} ms after knock() was called (${sent})`);
  } else {
    say(`   ✗ knock failed: ${knocked.code ?? ''} ${knocked.message ?? knocked.error ?? ''}`);
    problems.push('the knock failed');
  }

  say(`3. alice connects again`);
  const after = await world.probe();
  say(`   ${describeProbe(after, world.blockedMeans)}`);
  if (after.outcome !== 'open') problems.push('the service was not reachable after the knock');

  // Wait until the grant's time is up (in the kernel: exactly GRANT_SECONDS after it was
  // written) and the daemon has said so, plus a little margin; at most a few seconds more.
  say(`4. waiting for the grant to run out (${GRANT_SECONDS} s)…`);
  const deadline = (openedAt || performance.now()) + GRANT_SECONDS * 1000;
  while (performance.now() < deadline + 3000 && (closedAt === 0 || performance.now() < deadline + 250)) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  say(`5. alice connects once more`);
  const later = await world.probe();
  say(`   ${describeProbe(later, world.blockedMeans)}`);
  if (later.outcome === 'open') problems.push('the service was still reachable after the grant ran out');
  return problems;
}

// ------------------------------------------------------------------------------------------

async function main() {
  const choice = await chooseMode();
  if (choice.mode === 'userns') return reexecInUserNamespace();

  plain('sKnock demo: a hidden TCP service, a knock, and a grant that runs out.');
  let world;
  if (choice.mode === 'netns') {
    const where = choice.insideUserns ? ', inside an unprivileged user namespace' : '';
    plain(`Mode: nftables in two network namespaces${where} (real packets, real firewall).`);
    world = await setUpNamespaces();
  } else {
    plain(`Mode: SIMULATED — no network namespace can be made here (${choice.why}),`);
    plain('so this runs the same story on loopback with the in-memory firewall back end.');
    world = await setUpMemory();
  }

  const problems = await tellStory(world);
  say();
  await cleanupAll();
  const total = seconds(performance.now() - started);
  if (problems.length > 0) {
    plain(`Done in ${total} s, but not as expected: ${problems.join('; ')}.`);
    return 1;
  }
  plain(`Done in ${total} s: ${world.summary}.`);
  return 0;
}

main().then(
  (code) => {
    if (!interrupted) process.exit(code ?? 0);
  },
  async (err) => {
    if (interrupted) return;
    plain(`demo failed: ${err?.message ?? err}`);
    await cleanupAll();
    process.exit(1);
  },
);
