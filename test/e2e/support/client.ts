/**
 * The client side of the end-to-end tests: the real `sknock` program run inside a client
 * namespace, knock datagrams captured with `sknock knock --dry-run --output FILE`, and
 * packets built in the test with the protocol package (for knocks the CLI refuses to make).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createKnockPacket, type KnockProtocol } from '@sknock/protocol';
import type { ExecResult, Namespace } from '../../support/netns.js';
import type { E2eClient, E2ePki } from './pki.js';
import { CLIENT_BIN } from './repo.js';

/** A UDP port from 10,000 to 60,000, as the original client picks, never `avoid`. */
export function randomKnockPort(avoid = 62201): number {
  for (;;) {
    const port = randomInt(10_000, 60_001);
    if (port !== avoid) return port;
  }
}

/** Runs `sknock …args` inside `ns` to completion (bounded); never throws on a non-zero exit. */
export function sknock(ns: Namespace, args: readonly string[], timeoutMs = 20_000): Promise<ExecResult> {
  return ns.exec(process.execPath, [CLIENT_BIN, ...args], { allowFailure: true, timeoutMs });
}

export interface CliKnockOptions {
  readonly protocol?: KnockProtocol;
  /** UDP port the knock goes to (default: a random one from 10,000 to 60,000, chosen here). */
  readonly knockPort?: number;
  /** `--source-address` */
  readonly sourceAddress?: string;
  /** `--no-verify` */
  readonly noVerify?: boolean;
  /** `--timeout` in seconds (default 6). */
  readonly timeoutSeconds?: number;
}

function knockArgs(pki: E2ePki, client: E2eClient, host: string, port: number, o: CliKnockOptions): string[] {
  return [
    'knock', host, '-p', String(port), '--no-profile',
    '--pfx', client.pfxFile, '--passphrase-file', pki.passphraseFile, '--server-cert', pki.serverCertFile,
    '--knock-port', String(o.knockPort ?? randomKnockPort()),
    '--timeout', String(o.timeoutSeconds ?? 6),
    ...(o.protocol === 'udp' ? ['--udp'] : []),
    ...(o.sourceAddress === undefined ? [] : ['--source-address', o.sourceAddress]),
    ...(o.noVerify ? ['--no-verify'] : []),
  ];
}

export interface CliKnockResult {
  readonly code: number | null;
  /** The `--json` object the CLI printed (undefined if it printed none). */
  readonly json: Record<string, unknown> | undefined;
  readonly stderr: string;
}

/** `sknock knock host -p port --json …` inside `ns`. */
export async function cliKnock(ns: Namespace, pki: E2ePki, client: E2eClient, host: string, port: number, options: CliKnockOptions = {}): Promise<CliKnockResult> {
  const r = await sknock(ns, [...knockArgs(pki, client, host, port, options), '--json']);
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { code: r.code, json, stderr: r.stderr };
}

/** Like `cliKnock`, but throws unless the CLI exited 0 with `ok: true`. */
export async function cliKnockOk(ns: Namespace, pki: E2ePki, client: E2eClient, host: string, port: number, options: CliKnockOptions = {}): Promise<Record<string, unknown>> {
  const r = await cliKnock(ns, pki, client, host, port, options);
  if (r.code !== 0 || r.json?.['ok'] !== true) {
    throw new Error(`sknock knock ${host} -p ${port} from ${ns.role} failed (exit ${r.code}): ${JSON.stringify(r.json)} ${r.stderr}`);
  }
  return r.json;
}

/**
 * The datagram `sknock knock --dry-run --output FILE` makes inside `ns` (so its bound
 * address is the one that namespace would send from, unless `sourceAddress` says otherwise).
 */
export async function dryRunDatagram(ns: Namespace, pki: E2ePki, client: E2eClient, host: string, port: number, options: CliKnockOptions = {}): Promise<Uint8Array> {
  const file = join(pki.dir, `knock-${randomBytes(6).toString('hex')}.bin`);
  try {
    const r = await sknock(ns, [...knockArgs(pki, client, host, port, options), '--dry-run', '--output', file, '--json']);
    if (r.code !== 0) throw new Error(`sknock knock --dry-run failed (exit ${r.code}): ${r.stdout} ${r.stderr}`);
    return new Uint8Array(await readFile(file));
  } finally {
    await rm(file, { force: true });
  }
}

export interface BuiltKnockOptions {
  readonly protocol?: KnockProtocol;
  readonly port: number;
  /** The address bound into the packet. */
  readonly address: string;
  /** Seconds since the epoch (default now). */
  readonly timestamp?: number;
}

/** A knock packet built in the test process with `createKnockPacket`. */
export function buildKnock(pki: E2ePki, client: E2eClient, o: BuiltKnockOptions): Uint8Array {
  return createKnockPacket({
    credentials: { privateKey: client.privateKey, certificate: client.certificate },
    serverCertificate: pki.serverCertificate,
    protocol: o.protocol ?? 'tcp',
    port: o.port,
    address: o.address,
    ...(o.timestamp === undefined ? {} : { timestamp: o.timestamp }),
  });
}
