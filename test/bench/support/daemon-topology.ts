/**
 * Setting up a server benchmark: credentials from the CA library, a namespace topology with
 * one client holding `addresses` extra IPv6 addresses, TCP listeners on the server side, and
 * the real `sknock-server` program (nftables) running in the server namespace. Everything is
 * removed afterwards, whatever happens.
 */
import { fileURLToPath } from 'node:url';
import { createTopology, netnsAvailable, type Namespace, type Topology } from '../../support/netns.js';
import { Daemon, writeConfig, type ConfigValue } from '../../e2e/support/daemon.js';
import { makePki, PASSPHRASE, type E2ePki } from '../../e2e/support/pki.js';

export const KNOCK_PORT = 62201;

export interface BenchContext {
  readonly topology: Topology;
  readonly server: Namespace;
  readonly client: Namespace;
  readonly pki: E2ePki;
  readonly daemon: Daemon;
  /** The client's extra IPv6 addresses (one knock each). */
  readonly addresses: readonly string[];
}

export interface BenchSetup {
  readonly prefix: string;
  /** Extra IPv6 addresses on the client (at most 60,000). */
  readonly addresses: number;
  /** TCP ports to listen on in the server namespace. */
  readonly tcpPorts: readonly number[];
  readonly config: Readonly<Record<string, ConfigValue>>;
}

/** `fd00:5eed::1:<i in hex>`: inside the test link's /64, distinct from the harness's own addresses. */
export function extraAddress(i: number): string {
  return `fd00:5eed::1:${i.toString(16)}`;
}

/** Why the benchmark cannot run here, or false. */
export async function benchSkipReason(): Promise<string | false> {
  const { available, reason } = await netnsAvailable({ tools: ['nft'] });
  return available ? false : reason;
}

export async function withBenchDaemon<T>(setup: BenchSetup, fn: (ctx: BenchContext) => Promise<T>): Promise<T> {
  if (setup.addresses > 60_000) throw new RangeError('at most 60,000 addresses');
  const pki = await makePki();
  let topology: Topology | undefined;
  let daemon: Daemon | undefined;
  try {
    topology = await createTopology({ clients: 1, prefix: setup.prefix });
    const server = topology.server;
    const client = topology.clients[0] as Namespace;
    const addresses = Array.from({ length: setup.addresses }, (_, i) => extraAddress(i));
    const batch = addresses.map((a) => `addr add ${a}/64 dev ${client.device} nodad`).join('\n') + '\n';
    await client.exec('ip', ['-batch', '-'], { input: batch, timeoutMs: 60_000 });
    for (const port of setup.tcpPorts) await server.listenTcp(port);
    const config = await writeConfig(pki.dir, 'bench-config.ini', {
      serverPFXFile: pki.serverPfxFile,
      PFXPasswd: PASSPHRASE,
      firewallBackend: 'nftables',
      firewallPolicy: 'reject',
      knockPort: KNOCK_PORT,
      anyPortKnocks: true,
      ...setup.config,
    });
    daemon = await Daemon.start(server, config);
    return await fn({ topology, server, client, pki, daemon, addresses });
  } finally {
    if (daemon?.running) await daemon.stop('SIGTERM').catch(() => daemon?.stop('SIGKILL', 3000).catch(() => undefined));
    await topology?.cleanup();
    await pki.dispose();
  }
}

/** Path of a compiled script beside this file (run with `node` inside a namespace). */
export function supportScript(name: string): string {
  return fileURLToPath(new URL(`./${name}`, import.meta.url));
}
