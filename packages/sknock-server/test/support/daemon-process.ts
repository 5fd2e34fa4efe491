/**
 * `sknock-server run` as a child process on loopback, for the admin, metrics and log tests:
 * its stdout and stderr JSON lines kept apart, bounded waits on them, the admin commands
 * run as their own processes, and free ports. Every wait is bounded; `stop()` always ends it.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SERVER_BIN = fileURLToPath(new URL('../../src/cli/server-main.js', import.meta.url));

export type LogLine = Record<string, unknown>;

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `sknock-server ...args` to completion (at most `timeoutMs`). */
export function runServerCli(args: readonly string[], timeoutMs = 15_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sknock-server ${args.join(' ')} did not finish in ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export function freeUdpPort(address = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    s.once('error', reject);
    s.bind({ address, port: 0 }, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export function freeTcpPort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ host, port: 0 }, () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
}

/** Writes `[DEFAULT]` + lines to dir/name, mode 0600 (it may hold PFXPasswd). */
export function writeConfigFile(dir: string, name: string, lines: readonly string[]): string {
  const file = join(dir, name);
  writeFileSync(file, ['[DEFAULT]', ...lines, ''].join('\n'), { mode: 0o600 });
  return file;
}

class LineStream {
  readonly lines: LogLine[] = [];
  raw = '';
  #buffer = '';
  readonly #onLine: (line: LogLine) => void;

  constructor(onLine: (line: LogLine) => void) {
    this.#onLine = onLine;
  }

  take(text: string): void {
    this.raw += text;
    this.#buffer += text;
    let nl: number;
    while ((nl = this.#buffer.indexOf('\n')) >= 0) {
      const lineText = this.#buffer.slice(0, nl);
      this.#buffer = this.#buffer.slice(nl + 1);
      try {
        const line = JSON.parse(lineText.replace(/^<\d>/, '')) as LogLine;
        this.lines.push(line);
        this.#onLine(line);
      } catch {
        // not a log line
      }
    }
  }
}

export class DaemonProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly stdout: LineStream;
  readonly stderr: LineStream;
  readonly #waiters: Array<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
  readonly exited: Promise<number | null>;

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.child = child;
    const onLine = (line: LogLine): void => {
      for (const w of [...this.#waiters]) {
        if (w.match(line)) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    };
    this.stdout = new LineStream(onLine);
    this.stderr = new LineStream(onLine);
    child.stdout.on('data', (d: Buffer) => this.stdout.take(d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => this.stderr.take(d.toString('utf8')));
    this.exited = new Promise((resolve) => child.on('close', (code) => resolve(code)));
  }

  /** Starts the daemon and waits for its `listening` line. */
  static async start(configFile: string, env: NodeJS.ProcessEnv = process.env, stdio?: { stdout: number; stderr: number }): Promise<DaemonProcess> {
    const child = spawn(process.execPath, [SERVER_BIN, 'run', '--config', configFile], {
      stdio: ['ignore', stdio?.stdout ?? 'pipe', stdio?.stderr ?? 'pipe'],
      env,
    }) as ChildProcessWithoutNullStreams;
    const daemon = new DaemonProcess(child);
    if (stdio !== undefined) return daemon;
    try {
      await Promise.race([
        daemon.waitFor((l) => l['event'] === 'listening', 'listening'),
        daemon.exited.then((code) => {
          throw new Error(`sknock-server exited ${code} before listening:\n${daemon.output}`);
        }),
      ]);
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
    return daemon;
  }

  get lines(): LogLine[] {
    return [...this.stdout.lines, ...this.stderr.lines];
  }

  get output(): string {
    return `stdout:\n${this.stdout.raw.slice(-4000)}\nstderr:\n${this.stderr.raw.slice(-4000)}`;
  }

  waitFor(match: (l: LogLine) => boolean, what: string, timeoutMs = 10_000): Promise<LogLine> {
    const found = this.lines.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no log line: ${what}\n${this.output}`)), timeoutMs);
      this.#waiters.push({
        match,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  }

  /** Waits until `count` lines match. */
  async waitForCount(match: (l: LogLine) => boolean, count: number, what: string, timeoutMs = 10_000): Promise<LogLine[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.filter(match);
      if (found.length >= count) return found;
      if (Date.now() > deadline) throw new Error(`${found.length} of ${count} log lines: ${what}\n${this.output}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves with the exit status. */
  async stop(timeoutMs = 10_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const killer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(killer);
    }
  }
}
