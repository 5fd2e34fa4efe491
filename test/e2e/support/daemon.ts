/**
 * The real `sknock-server` program as a process inside a namespace
 * (`ip netns exec <ns> node …/server-main.js --config <file>`), its JSON log lines, and
 * bounded waits on them. Config files are written in the original `[DEFAULT]` form.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Namespace } from '../../support/netns.js';
import { SERVER_BIN } from './repo.js';

export type ConfigValue = string | number | boolean;

/** Writes `[DEFAULT]` + `key = value` lines to `dir/name` (`controlSocket = none` unless given); returns the path. */
export async function writeConfig(dir: string, name: string, entries: Readonly<Record<string, ConfigValue>>): Promise<string> {
  const file = join(dir, name);
  // Daemons of a test share the file system: no control socket unless the test gives one its own.
  const all = Object.keys(entries).some((k) => k.toLowerCase() === 'controlsocket') ? entries : { ...entries, controlSocket: 'none' };
  const lines = ['[DEFAULT]', ...Object.entries(all).map(([k, v]) => `${k} = ${typeof v === 'boolean' ? (v ? 'on' : 'off') : String(v)}`), ''];
  await writeFile(file, lines.join('\n'));
  return file;
}

/** One JSON log line of the daemon. */
export type LogLine = Readonly<Record<string, unknown>>;

interface Waiter {
  readonly match: (line: LogLine) => boolean;
  readonly resolve: (line: LogLine) => void;
}

/** The source address of an accept or reject line (`sourceAddress`). */
export function sourceAddressOf(line: LogLine): string | undefined {
  const source = line['sourceAddress'];
  return typeof source === 'string' ? source : undefined;
}

export class Daemon {
  readonly child: ChildProcess;
  /** Every JSON line logged so far (stdout and stderr), in the order they were read. */
  readonly lines: LogLine[] = [];
  /** The JSON lines of stderr alone (warn and above). */
  readonly stderrLines: LogLine[] = [];
  #raw = '';
  #buffer = '';
  #errBuffer = '';
  #waiters: Waiter[] = [];
  readonly #exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  private constructor(child: ChildProcess) {
    this.child = child;
    this.#exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.#exit = { code, signal };
        resolve({ code, signal });
      });
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.#raw += text;
      this.#buffer = this.#take(this.#buffer + text, false);
    });
    // warn and above go to stderr
    child.stderr?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.#raw += `[stderr] ${text}`;
      this.#errBuffer = this.#take(this.#errBuffer + text, true);
    });
  }

  /**
   * Starts `sknock-server --config <configFile>` inside `ns` and waits for its `listening`
   * line (or its exit, which throws with what it printed).
   */
  static async start(ns: Namespace, configFile: string, timeoutMs = 10_000): Promise<Daemon> {
    // For investigations: e.g. SKNOCK_E2E_DAEMON_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'.
    const nodeArgs = (process.env['SKNOCK_E2E_DAEMON_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
    const child = ns.spawn(process.execPath, [...nodeArgs, SERVER_BIN, '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    const daemon = new Daemon(child);
    const listening = daemon.waitForLog((l) => l['event'] === 'listening', 'the listening line', { timeoutMs });
    const exited = daemon.#exited.then((e) => {
      throw new Error(`sknock-server exited (${e.code ?? e.signal}) before listening:\n${daemon.output}`);
    });
    try {
      await Promise.race([listening, exited]);
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
    exited.catch(() => undefined);
    return daemon;
  }

  /** Takes the complete lines of `buffer`; returns what is left. */
  #take(buffer: string, fromStderr: boolean): string {
    let rest = buffer;
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const lineText = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      let line: LogLine;
      try {
        line = JSON.parse(lineText) as LogLine;
      } catch {
        continue;
      }
      this.lines.push(line);
      if (fromStderr) this.stderrLines.push(line);
      for (const w of [...this.#waiters]) {
        if (w.match(line)) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
    return rest;
  }

  /** Everything the process printed (stdout and stderr), for failure messages. */
  get output(): string {
    return this.#raw.length > 6000 ? `…${this.#raw.slice(-6000)}` : this.#raw;
  }

  /** Index of the next log line: pass as `since` to look only at what comes after now. */
  mark(): number {
    return this.lines.length;
  }

  /** The first line from index `since` on that `match` accepts, waiting up to `timeoutMs` (default 5,000). */
  waitForLog(match: (line: LogLine) => boolean, what: string, options: { since?: number; timeoutMs?: number } = {}): Promise<LogLine> {
    const found = this.lines.slice(options.since ?? 0).find(match);
    if (found) return Promise.resolve(found);
    const timeoutMs = options.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`sknock-server logged no ${what} within ${timeoutMs} ms; it printed:\n${this.output}`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  /** The `accept` line for a knock from `address` for `port`; returns when the grant expires (ms since epoch). */
  async waitForAccept(address: string, port: number, options: { since?: number; timeoutMs?: number } = {}): Promise<{ expiresAt: number; line: LogLine }> {
    const line = await this.waitForLog(
      (l) => l['event'] === 'accept' && sourceAddressOf(l) === address && l['port'] === port,
      `accept from ${address} for port ${port}`,
      options,
    );
    return { expiresAt: Date.parse(String(line['expiresAt'])), line };
  }

  /** The `reject` line with `code` for a datagram from `address`. */
  waitForReject(code: string, address: string, options: { since?: number; timeoutMs?: number } = {}): Promise<LogLine> {
    return this.waitForLog((l) => l['event'] === 'reject' && l['code'] === code && sourceAddressOf(l) === address, `reject '${code}' from ${address}`, options);
  }

  /** Accept lines from index `since` on (only those from `address`, if given). */
  accepts(since = 0, address?: string): LogLine[] {
    return this.lines.slice(since).filter((l) => l['event'] === 'accept' && (address === undefined || sourceAddressOf(l) === address));
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  /** Sends `signal` and waits (bounded) for the exit; returns the exit status (null: killed by a signal). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<number | null> {
    if (this.#exit === undefined) this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    try {
      const exit = await Promise.race([
        this.#exited,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`sknock-server did not exit within ${timeoutMs} ms of ${signal}:\n${this.output}`)), timeoutMs);
        }),
      ]);
      return exit.code;
    } catch (err) {
      this.child.kill('SIGKILL');
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}
