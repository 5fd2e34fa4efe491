/**
 * Network-namespace test harness: a throw-away network of Linux network namespaces joined by
 * veth pairs, with helpers to run commands, listen and probe inside them. Needs root (or
 * CAP_SYS_ADMIN + CAP_NET_ADMIN) and `ip`. Traffic never leaves the namespaces it creates.
 *
 * ```ts
 * import { createTopology, netnsSkipReason } from './support/netns.js';
 *
 * const skip = await netnsSkipReason({ tools: ['nft'] }); // throws when CI=true and unavailable
 * describe('my e2e test', { skip }, () => {
 *   let topo: Topology;
 *   before(async () => { topo = await createTopology({ clients: 2 }); });
 *   after(() => topo?.cleanup());
 *   it('reaches the server', async () => {
 *     const web = await topo.server.listenTcp(8080);
 *     assert.equal(await topo.clients[0].probeTcp(topo.server.ipv4, 8080), 'open');
 *     assert.equal(await topo.clients[0].probeTcp(topo.server.ipv6, 8080), 'open');
 *     await web.close();
 *   });
 * });
 * ```
 *
 * Topology: namespace `server` holds a bridge `br0` (10.200.0.1/24, fd00:5eed::1/64); each
 * client namespace `clientN` (N = 1, 2, …) holds `eth0` (10.200.0.(N+1)/24,
 * fd00:5eed::(N+1)/64), the peer of `vcN` on the bridge. With `far: N`, the server is also a
 * router: a second bridge `br1` (10.201.0.1/24, fd00:5eee::1/64) holds `vfN`, whose peers
 * are `eth0` of namespaces `farN` (10.201.0.(N+1), fd00:5eee::(N+1)); the server forwards
 * between the two links and clients and far hosts route to each other through it (a
 * gateway: a router, a container host, a VPN server). Loopback is up everywhere, IPv6
 * addresses are added with `nodad` and DAD is off (usable at once), and ICMP error rate limits
 * are off, so a probe sees the same answer every time. `createTopology` resolves only once
 * every link is up and every bridge port forwards (a port can stay `disabled` for up to a
 * second after it was added, until the kernel's link-state work runs; packets sent meanwhile
 * are lost, and the first ARP or neighbour solicitation is retried only after a second).
 * Names are `<prefix>-<pid>-<random>-<role>`, unique per run.
 *
 * Every topology is removed by `cleanup()`, and also when the process exits or gets
 * SIGINT/SIGTERM while one is still alive (synchronously: agents killed, `ip netns del`).
 *
 * Sockets inside a namespace are made by one helper process per namespace (netns-agent.js,
 * started on first use), so probes and listeners cost a message, not a process start.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

// ---------------------------------------------------------------------------------------------
// Availability

export interface NetnsAvailability {
  readonly available: boolean;
  /** Why not (empty when available). */
  readonly reason: string;
}

export interface NetnsAvailableOptions {
  /** Programs that must also exist (each run as `<tool> --version`), e.g. `['nft']`. */
  readonly tools?: readonly string[];
}

const availabilityCache = new Map<string, Promise<NetnsAvailability>>();

/**
 * Whether this process can create network namespaces here: Linux, root, `ip netns add`
 * works (tried with a scratch namespace, removed at once), and every tool in `tools` runs.
 */
export function netnsAvailable(options: NetnsAvailableOptions = {}): Promise<NetnsAvailability> {
  const tools = [...(options.tools ?? [])].sort();
  const cacheKey = tools.join(',');
  let cached = availabilityCache.get(cacheKey);
  if (!cached) {
    cached = checkAvailability(tools);
    availabilityCache.set(cacheKey, cached);
  }
  return cached;
}

async function checkAvailability(tools: readonly string[]): Promise<NetnsAvailability> {
  if (process.platform !== 'linux') return { available: false, reason: `network namespaces need Linux (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { available: false, reason: 'network namespaces need root (run the tests as root)' };
  const probe = uniqueName('sknock-probe', 'check');
  const add = await execIn(undefined, 'ip', ['netns', 'add', probe], { allowFailure: true });
  if (add.code !== 0) return { available: false, reason: `\`ip netns add\` failed: ${(add.stderr || add.error || '').trim()}` };
  await execIn(undefined, 'ip', ['netns', 'del', probe], { allowFailure: true });
  for (const tool of tools) {
    const r = await execIn(undefined, tool, ['--version'], { allowFailure: true });
    if (r.code !== 0) return { available: false, reason: `\`${tool}\` is not available: ${(r.stderr || r.error || '').trim()}` };
  }
  return { available: true, reason: '' };
}

/**
 * For `describe(name, { skip }, …)`: `false` when namespaces (and `tools`) are available, a
 * skip message otherwise. With `CI=true` an unavailable harness is an error, never a skip:
 * this throws, and the test file fails.
 */
export async function netnsSkipReason(options: NetnsAvailableOptions = {}): Promise<string | false> {
  const { available, reason } = await netnsAvailable(options);
  if (available) return false;
  if (process.env['CI'] === 'true') throw new Error(`network-namespace tests cannot run but CI=true: ${reason}`);
  return `network-namespace tests skipped: ${reason}`;
}

// ---------------------------------------------------------------------------------------------
// Running commands

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  /** Exit status (null: killed by a signal or never started). */
  readonly code: number | null;
  /** Spawn error message, when the program could not start. */
  readonly error?: string;
}

export interface ExecOptions {
  /** Written to standard input, which is then closed. */
  readonly input?: string | Uint8Array;
  /** Kill after this many ms (default 15,000). */
  readonly timeoutMs?: number;
  /** Resolve with a non-zero exit status instead of throwing. */
  readonly allowFailure?: boolean;
}

export class NetnsCommandError extends Error {
  readonly result: ExecResult;
  constructor(command: string, result: ExecResult) {
    super(`${command} failed (${result.code ?? 'no exit status'}): ${(result.stderr || result.error || '').trim()}`);
    this.name = 'NetnsCommandError';
    this.result = result;
  }
}

function execIn(ns: string | undefined, file: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const argv = ns === undefined ? [file, ...args] : ['ip', 'netns', 'exec', ns, file, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let spawnError: string | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15_000);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => {
      spawnError = e.message;
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const result: ExecResult = {
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        code: spawnError === undefined ? code : null,
        ...(spawnError === undefined ? {} : { error: spawnError }),
      };
      if (result.code === 0 || options.allowFailure) resolve(result);
      else reject(new NetnsCommandError(argv.join(' '), result));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

// ---------------------------------------------------------------------------------------------
// Probes and listeners

/** What a TCP connection attempt met: accepted, refused (RST or ICMP port unreachable), nothing (drop), or another ICMP error. */
export type TcpProbeResult = 'open' | 'refused' | 'timeout' | 'unreachable';

/** What a UDP datagram met: an answer datagram, ICMP port unreachable, nothing, or another ICMP error. */
export type UdpProbeResult = 'reply' | 'refused' | 'timeout' | 'unreachable';

export interface ProbeOptions {
  /**
   * Give up after this many ms and report 'timeout' (default 500). Counted while the agent
   * can run: an answer that arrived while it was stalled (a loaded machine) is still seen, and
   * a timer that fires more than 100 ms late gives the probe one more window.
   */
  readonly timeoutMs?: number;
  /** For the harness's own test: block the agent's event loop this long right after sending (ms). */
  readonly stallMs?: number;
  /** Source address to send from (one of the namespace's addresses). */
  readonly localAddress?: string;
}

export interface UdpProbeOptions extends ProbeOptions {
  /** Datagram payload (default 8 zero bytes). */
  readonly payload?: Uint8Array;
}

export interface UdpMessage {
  /** Source address (IPv4 in dotted form even on a dual-stack socket). */
  readonly address: string;
  readonly port: number;
  readonly payload: Buffer;
}

export interface TcpConnectionInfo {
  readonly address: string;
  readonly port: number;
}

export interface TcpListener {
  readonly port: number;
  /** Connections accepted so far (each gets `sknock-test\n` and is closed). */
  readonly connections: readonly TcpConnectionInfo[];
  close(): Promise<void>;
}

export interface UdpListener {
  readonly port: number;
  /** Datagrams received so far. */
  readonly messages: readonly UdpMessage[];
  /** Resolves with the first datagram (already received or arriving) that `predicate` accepts; rejects after `timeoutMs` (default 2,000). */
  waitForMessage(options?: { predicate?: (m: UdpMessage) => boolean; timeoutMs?: number }): Promise<UdpMessage>;
  close(): Promise<void>;
}

export interface ListenOptions {
  /** Address to bind (default `::`, dual-stack: IPv4 and IPv6). */
  readonly host?: string;
}

/** A datagram shaped like an sKnock 1.0.0 knock (`a` 1 0 0, then zeros), `length` bytes (default 869). */
export function knockShapedDatagram(length = 869): Uint8Array {
  const d = new Uint8Array(length);
  d.set([0x61, 0x01, 0x00, 0x00]);
  return d;
}

interface AgentEvent {
  readonly event: string;
  readonly listener?: number;
  readonly [key: string]: unknown;
}

class Agent {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly #subscribers = new Map<number, (e: AgentEvent) => void>();
  readonly #ready: Promise<void>;
  #nextId = 1;
  #exited: Error | undefined;

  constructor(ns: string, track: (c: ChildProcess) => void) {
    const script = fileURLToPath(new URL('./netns-agent.js', import.meta.url));
    this.#child = spawn('ip', ['netns', 'exec', ns, process.execPath, script], { stdio: ['pipe', 'pipe', 'inherit'] });
    track(this.#child);
    let markReady: () => void = () => undefined;
    let failReady: (e: Error) => void = () => undefined;
    this.#ready = new Promise((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    this.#ready.catch(() => undefined);
    const lines = createInterface({ input: this.#child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      let msg: { id?: number; ok?: boolean; result?: unknown; error?: string } & Partial<AgentEvent>;
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        return;
      }
      if (msg.event === 'ready') markReady();
      else if (msg.event !== undefined && msg.listener !== undefined) this.#subscribers.get(msg.listener)?.(msg as AgentEvent);
      else if (msg.id !== undefined) {
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        if (msg.ok) p?.resolve(msg.result);
        else p?.reject(new Error(`netns agent in ${ns}: ${msg.error ?? 'failed'}`));
      }
    });
    const onGone = (why: string): void => {
      this.#exited = new Error(`netns agent in ${ns} ${why}`);
      failReady(this.#exited);
      for (const p of this.#pending.values()) p.reject(this.#exited);
      this.#pending.clear();
    };
    this.#child.on('error', (e) => onGone(`could not start: ${e.message}`));
    this.#child.on('exit', (code, signal) => onGone(`exited (${signal ?? code})`));
    this.#child.stdin?.on('error', () => undefined);
  }

  /** Sends one request; `onEvent` receives the events of the listener it makes (subscribed before sending). */
  async request<T>(op: string, params: Record<string, unknown> = {}, onEvent?: (e: AgentEvent) => void): Promise<{ id: number; result: T }> {
    await this.#ready;
    if (this.#exited) throw this.#exited;
    const id = this.#nextId++;
    if (onEvent) this.#subscribers.set(id, onEvent);
    try {
      const result = await new Promise<unknown>((resolve, reject) => {
        this.#pending.set(id, { resolve, reject });
        this.#child.stdin?.write(JSON.stringify({ id, op, ...params }) + '\n');
      });
      return { id, result: result as T };
    } catch (err) {
      this.#subscribers.delete(id);
      throw err;
    }
  }

  unsubscribe(id: number): void {
    this.#subscribers.delete(id);
  }

  stop(): void {
    this.#child.stdin?.end();
    const child = this.#child;
    setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }, 500).unref();
  }
}

// ---------------------------------------------------------------------------------------------
// Namespaces and topologies

export class Namespace {
  /** The `ip netns` name: pass it as `netns` to a firewall back end, or to `ip netns exec`. */
  readonly name: string;
  /** `server`, `client1`, `client2`, … */
  readonly role: string;
  /** This namespace's IPv4 address on the test link. */
  readonly ipv4: string;
  /** This namespace's IPv6 address on the test link. */
  readonly ipv6: string;
  /** The interface that holds the addresses (`br0` on the server, `eth0` on clients). */
  readonly device: string;
  readonly #topology: TopologyImpl;
  #agent: Agent | undefined;

  /** @internal */
  constructor(topology: TopologyImpl, name: string, role: string, ipv4: string, ipv6: string, device: string) {
    this.#topology = topology;
    this.name = name;
    this.role = role;
    this.ipv4 = ipv4;
    this.ipv6 = ipv6;
    this.device = device;
  }

  /** Runs `file args` inside the namespace to completion; throws `NetnsCommandError` on a non-zero exit unless `allowFailure`. */
  exec(file: string, args: readonly string[] = [], options: ExecOptions = {}): Promise<ExecResult> {
    this.#topology.assertAlive();
    return execIn(this.name, file, args, options);
  }

  /**
   * Starts a long-running process inside the namespace (for example the daemon). It is
   * killed (SIGKILL) by `cleanup()` if still running.
   */
  spawn(file: string, args: readonly string[] = [], options: SpawnOptions = {}): ChildProcess {
    this.#topology.assertAlive();
    const child = spawn('ip', ['netns', 'exec', this.name, file, ...args], options);
    this.#topology.track(child);
    return child;
  }

  /** Adds another address to this namespace's test interface (IPv4 as /24, IPv6 as /64 nodad). */
  async addAddress(address: string): Promise<void> {
    const v6 = address.includes(':');
    await execIn(undefined, 'ip', ['-n', this.name, v6 ? '-6' : '-4', 'addr', 'add', `${address}/${v6 ? 64 : 24}`, 'dev', this.device, ...(v6 ? ['nodad'] : [])]);
  }

  /** Starts a TCP server inside the namespace that accepts and closes every connection. */
  async listenTcp(port: number, options: ListenOptions = {}): Promise<TcpListener> {
    const agent = this.#getAgent();
    const connections: TcpConnectionInfo[] = [];
    const { id, result } = await agent.request<{ port: number }>('tcp-listen', { port, host: options.host }, (e) => {
      if (e.event === 'tcp-connection') connections.push({ address: String(e['address']), port: Number(e['port']) });
    });
    return {
      port: result.port,
      connections,
      close: async () => {
        agent.unsubscribe(id);
        await agent.request('close', { listener: id });
      },
    };
  }

  /** Binds a UDP socket inside the namespace and records every datagram it receives. */
  async listenUdp(port: number, options: ListenOptions = {}): Promise<UdpListener> {
    const agent = this.#getAgent();
    const messages: UdpMessage[] = [];
    const waiters = new Set<(m: UdpMessage) => void>();
    const { id, result } = await agent.request<{ port: number }>('udp-listen', { port, host: options.host }, (e) => {
      if (e.event !== 'udp-message') return;
      const m: UdpMessage = { address: String(e['address']), port: Number(e['port']), payload: Buffer.from(String(e['payload']), 'base64') };
      messages.push(m);
      for (const w of [...waiters]) w(m);
    });
    return {
      port: result.port,
      messages,
      waitForMessage: ({ predicate = () => true, timeoutMs = 2000 } = {}) =>
        new Promise<UdpMessage>((resolve, reject) => {
          const found = messages.find(predicate);
          if (found) {
            resolve(found);
            return;
          }
          const timer = setTimeout(() => {
            waiters.delete(check);
            reject(new Error(`no matching datagram on ${this.role} udp/${result.port} within ${timeoutMs} ms`));
          }, timeoutMs);
          const check = (m: UdpMessage): void => {
            if (!predicate(m)) return;
            clearTimeout(timer);
            waiters.delete(check);
            resolve(m);
          };
          waiters.add(check);
        }),
      close: async () => {
        agent.unsubscribe(id);
        await agent.request('close', { listener: id });
      },
    };
  }

  /** Tries a TCP connection from this namespace; 'open' | 'refused' | 'timeout' | 'unreachable'. */
  async probeTcp(host: string, port: number, options: ProbeOptions = {}): Promise<TcpProbeResult> {
    const { result } = await this.#getAgent().request<{ result: TcpProbeResult }>('tcp-probe', {
      host,
      port,
      timeoutMs: options.timeoutMs ?? 500,
      localAddress: options.localAddress,
      stallMs: options.stallMs,
    });
    return result.result;
  }

  /** Sends one UDP datagram from a connected socket and reports what came back. */
  async probeUdp(host: string, port: number, options: UdpProbeOptions = {}): Promise<UdpProbeResult> {
    const { result } = await this.#getAgent().request<{ result: UdpProbeResult }>('udp-probe', {
      host,
      port,
      timeoutMs: options.timeoutMs ?? 500,
      localAddress: options.localAddress,
      stallMs: options.stallMs,
      payload: Buffer.from(options.payload ?? new Uint8Array(8)).toString('base64'),
    });
    return result.result;
  }

  /** Sends one UDP datagram and forgets it. */
  async sendUdp(host: string, port: number, payload: Uint8Array, options: { localAddress?: string } = {}): Promise<void> {
    await this.#getAgent().request('udp-send', { host, port, payload: Buffer.from(payload).toString('base64'), localAddress: options.localAddress });
  }

  /** `nft list ruleset` inside the namespace. */
  async nftRuleset(): Promise<string> {
    return (await this.exec('nft', ['list', 'ruleset'])).stdout;
  }

  /**
   * The whole firewall state, comparable before/after: `nft list ruleset` (tables sorted by
   * name), then `iptables-save` and `ip6tables-save` without their comment lines; all packet
   * and byte counters zeroed. A missing tool contributes a line saying so.
   */
  async rulesetSnapshot(): Promise<string> {
    const parts: string[] = [];
    for (const [file, args] of [
      ['nft', ['list', 'ruleset']],
      ['iptables-save', []],
      ['ip6tables-save', []],
    ] as const) {
      const r = await this.exec(file, args, { allowFailure: true });
      const text = r.code !== 0 ? `(${file} unavailable)` : file === 'nft' ? normalizeNft(r.stdout) : normalizeSave(r.stdout);
      parts.push(`### ${file}\n${text}`);
    }
    return parts.join('\n');
  }

  #getAgent(): Agent {
    this.#topology.assertAlive();
    this.#agent ??= new Agent(this.name, (c) => this.#topology.track(c));
    return this.#agent;
  }

  /** Starts this namespace's helper process now (it otherwise starts on first use). */
  async startAgent(): Promise<void> {
    await this.#getAgent().request('ping');
  }

  /** @internal */
  stopAgent(): void {
    this.#agent?.stop();
    this.#agent = undefined;
  }
}

/** iptables-save output without comment lines and with counters zeroed. */
function normalizeSave(text: string): string {
  return text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]/g, '[0:0]'))
    .join('\n');
}

/**
 * `nft list ruleset` output with counters zeroed and its tables in name order (the kernel
 * lists tables in creation order, which an `iptables-restore` without --noflush changes).
 */
function normalizeNft(text: string): string {
  const zeroed = text.replace(/counter packets \d+ bytes \d+/g, 'counter packets 0 bytes 0');
  const tables: string[] = [];
  let current: string[] | undefined;
  for (const line of zeroed.split('\n')) {
    if (line.startsWith('table ')) {
      current = [line];
      tables.push('');
    } else if (current) {
      current.push(line);
    }
    if (current && line === '}') {
      tables[tables.length - 1] = current.join('\n');
      current = undefined;
    }
  }
  return tables.sort().join('\n') + (tables.length > 0 ? '\n' : '');
}

export interface Topology {
  /** The namespace the daemon (or the firewall under test) lives in. */
  readonly server: Namespace;
  /** Client namespaces, `clients[0]` is `client1`. */
  readonly clients: readonly Namespace[];
  /** Hosts behind the server (option `far`), `far[0]` is `far1`; empty by default. */
  readonly far: readonly Namespace[];
  /** Every namespace, server first. */
  readonly namespaces: readonly Namespace[];
  /** Kills what runs inside and deletes every namespace. Idempotent; never throws. */
  cleanup(): Promise<void>;
}

export interface CreateTopologyOptions {
  /** How many client namespaces (default 1, at most 50). */
  readonly clients?: number;
  /** Name prefix (default `sknock`); names are `<prefix>-<pid>-<random>-<role>`. */
  readonly prefix?: string;
  /** How many hosts behind the server, which then forwards (default 0, at most 20). */
  readonly far?: number;
  /**
   * Start the helper process of every namespace now, side by side (default true), instead of
   * on the first probe or listener (each start takes a few hundred ms on a small machine).
   */
  readonly startAgents?: boolean;
}

/** Server-side addresses of the test link. */
export const SERVER_IPV4 = '10.200.0.1';
export const SERVER_IPV6 = 'fd00:5eed::1';

/** Address of client `n` (1-based). */
export function clientAddresses(n: number): { ipv4: string; ipv6: string } {
  return { ipv4: `10.200.0.${n + 1}`, ipv6: `fd00:5eed::${(n + 1).toString(16)}` };
}

/** Server-side addresses of the link to the far hosts. */
export const SERVER_FAR_IPV4 = '10.201.0.1';
export const SERVER_FAR_IPV6 = 'fd00:5eee::1';

/** Address of far host `n` (1-based). */
export function farAddresses(n: number): { ipv4: string; ipv6: string } {
  return { ipv4: `10.201.0.${n + 1}`, ipv6: `fd00:5eee::${(n + 1).toString(16)}` };
}

/** How long createTopology waits for links to come up and bridge ports to forward. */
const LINKS_UP_TIMEOUT_MS = 5000;

function uniqueName(prefix: string, role: string): string {
  return `${prefix}-${process.pid.toString(36)}-${randomBytes(3).toString('hex')}-${role}`;
}

const liveTopologies = new Set<TopologyImpl>();
let exitHooksInstalled = false;

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', () => {
    for (const t of liveTopologies) t.cleanupSync();
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const handler = (): void => {
      for (const t of liveTopologies) t.cleanupSync();
      process.removeListener(signal, handler);
      process.kill(process.pid, signal);
    };
    process.on(signal, handler);
  }
}

class TopologyImpl implements Topology {
  readonly server: Namespace;
  readonly clients: Namespace[] = [];
  readonly far: Namespace[] = [];
  readonly namespaces: Namespace[];
  readonly #children = new Set<ChildProcess>();
  #alive = true;

  constructor(prefix: string, clients: number, far: number) {
    const tag = `${prefix}-${process.pid.toString(36)}-${randomBytes(3).toString('hex')}`;
    this.server = new Namespace(this, `${tag}-server`, 'server', SERVER_IPV4, SERVER_IPV6, 'br0');
    for (let n = 1; n <= clients; n++) {
      const a = clientAddresses(n);
      this.clients.push(new Namespace(this, `${tag}-client${n}`, `client${n}`, a.ipv4, a.ipv6, 'eth0'));
    }
    for (let n = 1; n <= far; n++) {
      const a = farAddresses(n);
      this.far.push(new Namespace(this, `${tag}-far${n}`, `far${n}`, a.ipv4, a.ipv6, 'eth0'));
    }
    this.namespaces = [this.server, ...this.clients, ...this.far];
  }

  assertAlive(): void {
    if (!this.#alive) throw new Error('this netns topology has been cleaned up');
  }

  track(child: ChildProcess): void {
    this.#children.add(child);
    child.on('exit', () => this.#children.delete(child));
  }

  async build(): Promise<void> {
    const nsBatch = this.namespaces.map((ns) => `netns add ${ns.name}`).join('\n') + '\n';
    await execIn(undefined, 'ip', ['-batch', '-'], { input: nsBatch });
    // Before any link exists, so that new interfaces inherit `default`.
    const sysctls = [
      'net.ipv6.conf.all.accept_dad=0',
      'net.ipv6.conf.default.accept_dad=0',
      'net.ipv4.icmp_ratelimit=0',
      'net.ipv6.icmp.ratelimit=0',
    ];
    const routing = this.far.length > 0 ? ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1'] : [];
    await Promise.all(this.namespaces.map((ns) => execIn(ns.name, 'sysctl', ['-q', '-w', ...sysctls, ...(ns === this.server ? routing : [])])));
    // Server ends get interface indexes of their own (100+N, 200+N): a veth whose index equals
    // its peer's (both 2 in fresh namespaces) has its carrier change handled by the kernel's
    // link-state work only on its next once-a-second run, which leaves its bridge port
    // disabled for up to a second (#linksReady waits for that either way).
    const links = [
      ...this.clients.map((c, i) => `link add name vc${i + 1} index ${101 + i} netns ${this.server.name} type veth peer name eth0 netns ${c.name}`),
      ...this.far.map((f, i) => `link add name vf${i + 1} index ${201 + i} netns ${this.server.name} type veth peer name eth0 netns ${f.name}`),
    ];
    await execIn(undefined, 'ip', ['-batch', '-'], { input: links.join('\n') + '\n' });
    const serverCmds = [
      'link set lo up',
      'link add br0 type bridge mcast_snooping 0',
      `addr add ${SERVER_IPV4}/24 dev br0`,
      `addr add ${SERVER_IPV6}/64 dev br0 nodad`,
      ...this.clients.map((_, i) => `link set vc${i + 1} master br0 up`),
      'link set br0 up',
    ];
    if (this.far.length > 0) {
      serverCmds.push(
        'link add br1 type bridge mcast_snooping 0',
        `addr add ${SERVER_FAR_IPV4}/24 dev br1`,
        `addr add ${SERVER_FAR_IPV6}/64 dev br1 nodad`,
        ...this.far.map((_, i) => `link set vf${i + 1} master br1 up`),
        'link set br1 up',
      );
    }
    const jobs = [execIn(undefined, 'ip', ['-n', this.server.name, '-batch', '-'], { input: serverCmds.join('\n') + '\n' })];
    for (const c of this.clients) {
      const cmds = ['link set lo up', `addr add ${c.ipv4}/24 dev eth0`, `addr add ${c.ipv6}/64 dev eth0 nodad`, 'link set eth0 up'];
      if (this.far.length > 0) cmds.push(`route add 10.201.0.0/24 via ${SERVER_IPV4}`, `route add fd00:5eee::/64 via ${SERVER_IPV6}`);
      jobs.push(execIn(undefined, 'ip', ['-n', c.name, '-batch', '-'], { input: cmds.join('\n') + '\n' }));
    }
    for (const f of this.far) {
      const cmds = [
        'link set lo up',
        `addr add ${f.ipv4}/24 dev eth0`,
        `addr add ${f.ipv6}/64 dev eth0 nodad`,
        'link set eth0 up',
        `route add 10.200.0.0/24 via ${SERVER_FAR_IPV4}`,
        `route add fd00:5eed::/64 via ${SERVER_FAR_IPV6}`,
      ];
      jobs.push(execIn(undefined, 'ip', ['-n', f.name, '-batch', '-'], { input: cmds.join('\n') + '\n' }));
    }
    await Promise.all(jobs);
    await this.#linksReady();
  }

  /**
   * Waits until every link is up (operstate UP: the kernel's link-state work has run, so the
   * device transmits) and every bridge port forwards. Until then the bridge drops what a
   * client sends, and the first ARP request or neighbour solicitation is retried only after
   * a second: a probe in that second reads 'timeout' whatever the firewall does.
   */
  async #linksReady(): Promise<void> {
    const deadline = Date.now() + LINKS_UP_TIMEOUT_MS;
    for (;;) {
      const waiting = (await Promise.all(this.namespaces.map((ns) => this.#linksNotReady(ns)))).flat();
      if (waiting.length === 0) return;
      if (Date.now() > deadline) throw new Error(`netns links not ready after ${LINKS_UP_TIMEOUT_MS} ms: ${waiting.join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async #linksNotReady(ns: Namespace): Promise<string[]> {
    const links = JSON.parse((await execIn(undefined, 'ip', ['-n', ns.name, '-j', 'link', 'show'])).stdout) as Array<{ ifname: string; operstate: string }>;
    const waiting = links.filter((l) => l.ifname !== 'lo' && l.operstate !== 'UP').map((l) => `${ns.role}/${l.ifname} ${l.operstate}`);
    if (ns === this.server) {
      const ports = JSON.parse((await execIn(undefined, 'bridge', ['-n', ns.name, '-j', 'link', 'show'])).stdout || '[]') as Array<{ ifname: string; state: string }>;
      waiting.push(...ports.filter((p) => p.state !== 'forwarding').map((p) => `${ns.role}/${p.ifname} port ${p.state}`));
    }
    return waiting;
  }

  async cleanup(): Promise<void> {
    if (!this.#alive) return;
    this.#alive = false;
    liveTopologies.delete(this);
    for (const ns of this.namespaces) ns.stopAgent();
    for (const child of this.#children) child.kill('SIGKILL');
    const batch = this.namespaces.map((ns) => `netns del ${ns.name}`).join('\n') + '\n';
    // `-force` goes on after a failed line, so a half-built topology is removed too.
    await execIn(undefined, 'ip', ['-force', '-batch', '-'], { input: batch, allowFailure: true });
  }

  cleanupSync(): void {
    if (!this.#alive) return;
    this.#alive = false;
    liveTopologies.delete(this);
    for (const child of this.#children) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const ns of this.namespaces) {
      try {
        execFileSync('ip', ['netns', 'del', ns.name], { stdio: 'ignore' });
      } catch {
        // never made, or already removed
      }
    }
  }
}

/** Creates namespaces `server` and `client1..N` joined by a bridge (and `far1..M` behind the server); see the module comment. */
export async function createTopology(options: CreateTopologyOptions = {}): Promise<Topology> {
  const clients = options.clients ?? 1;
  if (!Number.isInteger(clients) || clients < 1 || clients > 50) throw new RangeError('options.clients must be an integer from 1 to 50');
  const prefix = options.prefix ?? 'sknock';
  if (!/^[a-z][a-z0-9]{0,15}$/.test(prefix)) throw new RangeError('options.prefix must be 1–16 lower-case letters and digits, starting with a letter');
  const far = options.far ?? 0;
  if (!Number.isInteger(far) || far < 0 || far > 20) throw new RangeError('options.far must be an integer from 0 to 20');
  installExitHooks();
  const topology = new TopologyImpl(prefix, clients, far);
  liveTopologies.add(topology);
  try {
    await topology.build();
    if (options.startAgents ?? true) await Promise.all(topology.namespaces.map((ns) => ns.startAgent()));
  } catch (err) {
    await topology.cleanup();
    throw err;
  }
  return topology;
}

/** Creates a topology, runs `fn` with it, and always cleans up. */
export async function withTopology<T>(options: CreateTopologyOptions, fn: (topology: Topology) => Promise<T>): Promise<T> {
  const topology = await createTopology(options);
  try {
    return await fn(topology);
  } finally {
    await topology.cleanup();
  }
}
