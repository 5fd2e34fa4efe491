/** A STUN responder inside a namespace (for `--source-address auto`), via stun-server-main.js. */
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Namespace } from '../../support/netns.js';
import { withTimeout } from './wait.js';

export interface StunServer {
  readonly port: number;
  /** The source address of every request so far. */
  readonly requests: readonly string[];
  close(): Promise<void>;
}

/** Starts the responder inside `ns`, bound to `host`. */
export async function startStunServer(ns: Namespace, host: string): Promise<StunServer> {
  const script = fileURLToPath(new URL('./stun-server-main.js', import.meta.url));
  const child = ns.spawn(process.execPath, [script, host], { stdio: ['pipe', 'pipe', 'inherit'] });
  const requests: string[] = [];
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const port = await withTimeout(
    new Promise<number>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`STUN responder exited (${code}) before listening`)));
      lines.on('line', (line) => {
        try {
          const msg = JSON.parse(line) as { port?: number; request?: string };
          if (msg.port !== undefined) resolve(msg.port);
          if (msg.request !== undefined) requests.push(msg.request);
        } catch {
          // not ours
        }
      });
    }),
    10_000,
    'the STUN responder',
  ).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  return {
    port,
    requests,
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin?.end();
      await withTimeout(once(child, 'exit'), 3000, 'the STUN responder exit').catch(() => child.kill('SIGKILL'));
    },
  };
}
