/** Serves one file over HTTP from inside a namespace (for `crlUrl`), via file-server-main.js. */
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Namespace } from '../../support/netns.js';
import { withTimeout } from './wait.js';

export interface FileServer {
  /** `http://host:port/name` */
  readonly url: string;
  /** Paths requested so far. */
  readonly requests: readonly string[];
  close(): Promise<void>;
}

/** Starts the server inside `ns` on `host` (default its loopback) and returns its URL. */
export async function serveFile(ns: Namespace, file: string, host = '127.0.0.1'): Promise<FileServer> {
  const script = fileURLToPath(new URL('./file-server-main.js', import.meta.url));
  const child = ns.spawn(process.execPath, [script, file, host], { stdio: ['pipe', 'pipe', 'inherit'] });
  const requests: string[] = [];
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const port = await withTimeout(
    new Promise<number>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`file server exited (${code}) before listening`)));
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
    'the CRL file server',
  ).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${hostPart}:${port}/ca.crl`,
    requests,
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin?.end();
      const exited = once(child, 'exit');
      await withTimeout(exited, 3000, 'the CRL file server exit').catch(() => child.kill('SIGKILL'));
    },
  };
}
