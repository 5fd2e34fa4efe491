/**
 * Runs connect() / knock() calls inside a client namespace and prints one JSON line with
 * what happened: the knocks sent (from the SDK's diagnostics channel), how long each call
 * took, and what the service said on each connection.
 *
 * Usage: node connect-child.js '<JSON: { mode, host, port, pfx, passphraseFile, serverCert, n?, pausesMs?, grantSeconds? }>'
 *   mode 'sequential': connect() calls one after the other through one knocker, `pausesMs[i]` ms
 *                      before call i + 1 (so pausesMs.length + 1 calls)
 *   mode 'concurrent': n connect() calls at once through one knocker
 *   mode 'fresh':      one top-level connect() (credentials loaded for the call)
 *   mode 'knock':      one knock()
 */
import { subscribe } from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { CHANNEL_KNOCK_SENT, connect, createKnocker, knock } from '@sknock/client';

interface Args {
  readonly mode: 'sequential' | 'concurrent' | 'fresh' | 'knock';
  readonly host: string;
  readonly port: number;
  readonly pfx: string;
  readonly passphraseFile: string;
  readonly serverCert: string;
  readonly n?: number;
  readonly pausesMs?: readonly number[];
  readonly grantSeconds?: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const credentials = { pfx: args.pfx, passphrase: readFileSync(args.passphraseFile, 'utf8').split('\n')[0] as string, serverCertificate: args.serverCert };
const target = { host: args.host, port: args.port, ...(args.grantSeconds === undefined ? {} : { grantSeconds: args.grantSeconds }) };
let knocks = 0;
subscribe(CHANNEL_KNOCK_SENT, () => knocks++);

/** The harness's service sends one line and closes: read it all. */
async function greeting(socket: Socket): Promise<string> {
  let text = '';
  for await (const chunk of socket) text += String(chunk);
  return text.trim();
}

const out: { knocks?: number; ms: number[]; said: string[]; knocksPerCall: number[]; error?: string } = { ms: [], said: [], knocksPerCall: [] };
try {
  if (args.mode === 'knock') {
    const t0 = performance.now();
    await knock({ ...credentials, ...target });
    out.ms.push(performance.now() - t0);
  } else if (args.mode === 'fresh') {
    const t0 = performance.now();
    const socket = await connect({ ...credentials, ...target });
    out.ms.push(performance.now() - t0);
    out.said.push(await greeting(socket));
  } else {
    const knocker = await createKnocker(credentials);
    if (args.mode === 'concurrent') {
      const n = args.n ?? 1;
      const t0 = performance.now();
      const sockets = await Promise.all(Array.from({ length: n }, () => knocker.connect(target)));
      out.ms.push(performance.now() - t0);
      out.said.push(...(await Promise.all(sockets.map(greeting))));
    } else {
      const pauses = args.pausesMs ?? [];
      for (let i = 0; i <= pauses.length; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, pauses[i - 1]));
        const before = knocks;
        const t0 = performance.now();
        const socket = await knocker.connect(target);
        out.ms.push(performance.now() - t0);
        out.knocksPerCall.push(knocks - before);
        out.said.push(await greeting(socket));
      }
    }
  }
} catch (err) {
  out.error = `${(err as { code?: string }).code ?? 'error'}: ${(err as Error).message}`;
}
out.knocks = knocks;
process.stdout.write(`${JSON.stringify(out)}\n`);
