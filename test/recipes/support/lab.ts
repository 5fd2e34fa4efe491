/**
 * The lab of the recipe tests: a server namespace running the real daemon (`sknock-server`)
 * with nftables and policy drop, short grants, and one client namespace whose programs
 * (the examples, `sknock`, ssh) run inside it (`ip netns exec`). Credentials come from
 * `@sknock/ca`, written to a temporary folder; the client certificate grants the
 * ports the test names.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, issueClientCertificate, issueServerCertificate } from '@sknock/ca';
import { createTopology, type ExecResult, type Namespace, type Topology } from '../../support/netns.js';
import { Daemon, writeConfig } from '../../e2e/support/daemon.js';

export const LAB_PASSPHRASE = 'recipe passphrase';
export const KNOCK_PORT = 62201;

export interface RecipeLab {
  readonly topo: Topology;
  readonly server: Namespace;
  readonly client: Namespace;
  readonly dir: string;
  readonly daemon: Daemon;
  readonly grantSeconds: number;
  readonly clientPfx: string;
  readonly serverCert: string;
  readonly passphraseFile: string;
  /** `SKNOCK_*` settings for an example knocking for `port`. */
  env(port: number, extra?: Readonly<Record<string, string>>): Record<string, string>;
  /** Runs `node script args` inside the client namespace with `env` (bounded). */
  node(script: string, args: readonly string[], env: Readonly<Record<string, string>>, timeoutMs?: number): Promise<ExecResult>;
  /** Runs `file args` inside the client namespace with `env` (bounded). */
  exec(file: string, args: readonly string[], env: Readonly<Record<string, string>>, timeoutMs?: number): Promise<ExecResult>;
  cleanup(): Promise<void>;
}

export async function startRecipeLab(options: { readonly ports: readonly number[]; readonly grantSeconds: number; readonly prefix: string }): Promise<RecipeLab> {
  const dir = await mkdtemp(join(tmpdir(), 'sknock-recipes-'));
  let topo: Topology | undefined;
  let daemon: Daemon | undefined;
  try {
    topo = await createTopology({ prefix: options.prefix });
    const server = topo.server;
    const client = topo.clients[0] as Namespace;
    const ca = await createCa({ name: 'Recipe test CA', validityDays: 2 });
    const serverIssued = await issueServerCertificate(ca, { name: server.ipv4, validityDays: 1, pkcs12: { passphrase: LAB_PASSPHRASE } });
    const clientIssued = await issueClientCertificate(ca, {
      name: 'recipe-client',
      grants: options.ports.map((port) => ({ protocol: 'tcp' as const, port })),
      validityDays: 1,
      pkcs12: { passphrase: LAB_PASSPHRASE },
    });
    const clientPfx = join(dir, 'client.pfx');
    const serverCert = join(dir, 'server.cer');
    const serverPfx = join(dir, 'server.pfx');
    const passphraseFile = join(dir, 'client.pass');
    await Promise.all([
      writeFile(clientPfx, clientIssued.pfx as Uint8Array),
      writeFile(serverCert, serverIssued.certificate),
      writeFile(serverPfx, serverIssued.pfx as Uint8Array),
      writeFile(passphraseFile, `${LAB_PASSPHRASE}\n`, { mode: 0o600 }),
    ]);
    const config = await writeConfig(dir, 'config.ini', {
      serverPFXFile: serverPfx,
      PFXPasswd: LAB_PASSPHRASE,
      firewallBackend: 'nftables',
      firewallPolicy: 'drop',
      emergencyAccessPorts: 'none',
      PORT_OPEN_DURATION_IN_SECONDS: options.grantSeconds,
      knockPort: KNOCK_PORT,
      anyPortKnocks: true,
    });
    daemon = await Daemon.start(server, config);
    const lab: RecipeLab = {
      topo,
      server,
      client,
      dir,
      daemon,
      grantSeconds: options.grantSeconds,
      clientPfx,
      serverCert,
      passphraseFile,
      env: (port, extra = {}) => ({
        SKNOCK_HOST: server.ipv4,
        SKNOCK_PORT: String(port),
        SKNOCK_PFX: clientPfx,
        SKNOCK_PASSPHRASE_FILE: passphraseFile,
        SKNOCK_SERVER_CERT: serverCert,
        ...extra,
      }),
      exec: (file, args, env, timeoutMs = 60_000) =>
        client.exec('env', [...Object.entries(env).map(([k, v]) => `${k}=${v}`), file, ...args], { allowFailure: true, timeoutMs }),
      node: (script, args, env, timeoutMs) => lab.exec(process.execPath, [script, ...args], env, timeoutMs),
      cleanup: async () => {
        if (daemon?.running) await daemon.stop('SIGTERM', 5000).catch(() => undefined);
        await topo?.cleanup();
        await rm(dir, { recursive: true, force: true });
      },
    };
    return lab;
  } catch (err) {
    if (daemon?.running) await daemon.stop('SIGKILL', 3000).catch(() => undefined);
    await topo?.cleanup();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Text for an assertion message: a command's output. */
export function shown(r: ExecResult): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}
