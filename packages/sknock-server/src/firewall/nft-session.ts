/**
 * One long-lived `nft -i` process that applies batches of nft commands, each as one
 * transaction, without starting a process per batch (a process costs 15–30 ms, mostly its
 * start; a batch through the session 0.3–0.8 ms).
 *
 * The protocol. nft in interactive mode runs each input line as one transaction (every
 * command on the line is applied, or none), prints nothing on success and its errors on
 * standard error, unbuffered and in input order. It has no other way to say "done". So after
 * each batch the session writes a marker line, `sknock_marker_<random>_<n>`, which nft
 * always refuses as a syntax error, echoing the line: everything on standard error before the
 * marker's error message belongs to the batch, and the batch succeeded exactly when that is
 * empty. The marker touches neither the kernel nor nft's cache.
 *
 * A batch reaches nft as `include "/proc/self/fd/3"`, a scratch file without a name that the
 * process has as its descriptor 3 (see nft-scratch.ts: libedit reads a line one byte per
 * system call, an included file is read like `nft -f`), or, when no scratch file can be made
 * or nft cannot include it, inline as one line with its commands joined by `; ` (one
 * transaction all the same). The first exchange with each new process includes the empty
 * scratch file, to find out which.
 *
 * - The process is started on the first batch (or by `start()`) with `HOME=/dev/null`, so
 *   nft's line editor neither reads a `~/.editrc` nor writes `~/.nft.history`, and
 *   `LC_ALL=C`, so its messages are the English ones the error classification reads.
 * - It dies (killed, crashed): the batch in flight is rejected with ERR_SKNOCK_FIREWALL_COMMAND
 *   (the caller decides how to repair: the nftables back end rebuilds its table); the next
 *   batch starts a new process.
 * - It hangs: after `timeoutMs` it is killed and the batch rejected with
 *   ERR_SKNOCK_FIREWALL_TIMEOUT; the next batch starts a new process.
 * - Its history only grows, so after `maxBatches` batches it is closed and a fresh one started.
 * - `close()` ends the process: closes its standard input (nft exits at end of input), waits,
 *   and kills it if it has not exited in time.
 *
 * `list(command)` runs one `list …` command and resolves with what nft printed on standard
 * output. Standard output and standard error are two pipes, read in either order, and a
 * listing may be empty (`list ruleset` after `nft flush ruleset`), so the end of a listing is
 * framed on standard output itself: the command is followed by `describe ip ttl`, which
 * prints one fixed line and touches neither the kernel nor nft's cache; the listing is
 * complete once standard output ends with that line (learnt from each new process by asking
 * for it twice). Standard output is kept only while a listing is awaited, and drained
 * otherwise.
 *
 * The process and its pipes do not keep Node's event loop alive while no batch is waiting; if
 * the daemon dies, nft reads end of input and exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { DEFAULT_COMMAND_TIMEOUT_MS, NFT_SESSION_CLOSE_TIMEOUT_MS, NFT_SESSION_MAX_BATCHES, NFT_SESSION_MAX_STDERR } from './constants.js';
import { SknockFirewallError } from './errors.js';
import { NFT_SCRATCH_PATH, NftScratchFile } from './nft-scratch.js';
import { commandLine, firstLines, keptStderr, looksUnavailable } from './run-command.js';

export interface NftSessionOptions {
  /** The nft program (default `nft`). */
  readonly nft?: string;
  /** Run nft inside this named network namespace (`ip netns exec NAME nft -i`). */
  readonly netns?: string;
  /** Options before `-i` (e.g. `['-t', '-a']`: terse listings with handles). */
  readonly flags?: readonly string[];
  /** Longest wait for nft's answer to one batch before the process is killed (ms, default 10,000). */
  readonly timeoutMs?: number;
  /** Batches one process applies before a fresh one replaces it (default 4,096). */
  readonly maxBatches?: number;
  /** `include` (default): each batch through a scratch file; `line`: each batch inline as one line. */
  readonly transport?: 'include' | 'line';
  /** Where the scratch file is made (and at once unlinked; default `os.tmpdir()`). */
  readonly scratchParent?: string;
  /** Told when the process ended by itself while no batch was waiting (the next batch starts another). */
  readonly onExit?: (err: SknockFirewallError) => void;
}

interface Waiter {
  readonly marker: string;
  readonly resolve: (segment: string) => void;
  readonly reject: (err: SknockFirewallError) => void;
}

/** One `nft -i` process and what the session knows of it. */
interface Running {
  readonly child: ChildProcess;
  readonly stdin: Writable;
  /** The batch file nft includes as /proc/self/fd/3; undefined: batches go inline. */
  scratch: NftScratchFile | undefined;
  /** Whether the first exchange (an include of the empty scratch file) has been made. */
  probed: boolean;
  /** Standard error not yet given to a batch. */
  stderr: string;
  /** Standard output of the `list` command in flight (undefined: none is; output is drained). */
  listing: string | undefined;
  /** Told when `listing` has grown. */
  onListing: (() => void) | undefined;
  /** What `describe ip ttl` prints with this process (learnt at its first listing). */
  frame: string | undefined;
  waiter: Waiter | undefined;
  batches: number;
  /** Set once the session ends the process on purpose (closing, replacing, killing after a timeout). */
  ending: boolean;
  exited: boolean;
  readonly done: Promise<void>;
  readonly markDone: () => void;
}

/** The command whose fixed output frames a listing on standard output. */
const FRAME_COMMAND = 'describe ip ttl';

/** A line of carets (and tildes) under an echoed input line: the tail of the previous marker's error. */
const CARET_LINES = /^(?:[ \t]*[\^~][\^~ \t]*\n)+/;

/**
 * Whether the process and its pipes keep Node's event loop alive: only while the session waits
 * for it (a batch in flight, closing), so an idle session never holds a program open.
 */
function keepAlive(proc: Running, on: boolean): void {
  const { child } = proc;
  for (const handle of [child, child.stdin, child.stdout, child.stderr] as Array<{ ref?: () => void; unref?: () => void } | null>) {
    if (handle === null) continue;
    if (on) handle.ref?.();
    else handle.unref?.();
  }
}

/** The commands of a script (one per line, as the back end writes them) as one interactive line. */
export function inlineLine(script: string): string {
  return script
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join('; ');
}

export class NftSession {
  /** The command line of the process, for messages (`nft -i` or `ip netns exec NS nft -i`). */
  readonly command: string;
  readonly #argv: string[];
  readonly #timeoutMs: number;
  readonly #maxBatches: number;
  readonly #transport: 'include' | 'line';
  readonly #scratchParent: string | undefined;
  readonly #onExit: ((err: SknockFirewallError) => void) | undefined;
  readonly #markerPrefix = `sknock_marker_${randomBytes(6).toString('hex')}`;
  #running: Running | undefined;
  readonly #retiring = new Set<Running>();
  #queue: Promise<unknown> = Promise.resolve();
  #seq = 0;
  #spawned = 0;

  constructor(options: NftSessionOptions = {}) {
    this.#argv = commandLine(options.nft ?? 'nft', [...(options.flags ?? []), '-i'], options.netns);
    this.command = this.#argv.join(' ');
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.#maxBatches = options.maxBatches ?? NFT_SESSION_MAX_BATCHES;
    this.#transport = options.transport ?? 'include';
    this.#scratchParent = options.scratchParent;
    this.#onExit = options.onExit;
  }

  /** Process id of the running nft (undefined while none runs). */
  get pid(): number | undefined {
    return this.#running?.child.pid;
  }

  /** How many processes the session has started so far. */
  get spawned(): number {
    return this.#spawned;
  }

  /** How the running process gets its batches (undefined while none runs or before its first answer). */
  get transport(): 'include' | 'line' | undefined {
    const proc = this.#running;
    if (proc === undefined || !proc.probed) return undefined;
    return proc.scratch === undefined ? 'line' : 'include';
  }

  /**
   * Applies `script` (nft commands, one per line) as one transaction. Rejects with a
   * `SknockFirewallError`: COMMAND with nft's error output when nft refused the batch (nothing
   * of it was applied) or when the process died meanwhile (it may or may not have been
   * applied), TIMEOUT when nft did not answer in time, UNAVAILABLE when nft cannot run or
   * may not change the firewall.
   */
  run(script: string): Promise<void> {
    return this.#serial(() => this.#send(script));
  }

  /**
   * Runs one `list …` command (one line) and resolves with its standard output. Rejects like
   * `run` when nft refuses it (COMMAND with nft's message, e.g. `No such file or directory`
   * for a table that does not exist), and with TIMEOUT when the listing does not end in time.
   */
  list(command: string): Promise<string> {
    return this.#serial(() => this.#list(command));
  }

  /** Starts the process if none runs and waits until it answers (its first exchange, or a marker alone). */
  start(): Promise<void> {
    return this.#serial(() => this.#send(undefined));
  }

  /** Ends the process (and any being replaced): end of input, then SIGKILL if it lingers. A later `run` starts a new one. */
  close(): Promise<void> {
    return this.#serial(async () => {
      const all = [...this.#retiring];
      if (this.#running !== undefined) all.push(this.#running);
      this.#running = undefined;
      await Promise.all(all.map((p) => this.#end(p)));
    });
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(task, task);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #send(script: string | undefined): Promise<void> {
    const proc = this.#running ?? this.#spawn();
    if (!proc.probed) {
      await this.#probe(proc);
      if (script === undefined) return;
    }
    let line = '';
    if (script !== undefined) {
      if (proc.scratch !== undefined) {
        try {
          proc.scratch.write(script);
          line = `include "${NFT_SCRATCH_PATH}"\n`;
        } catch {
          // the temporary file system is full: this batch goes inline
        }
      }
      if (line === '') line = inlineLine(script) + '\n';
    }
    const segment = await this.#exchange(proc, line);
    if (segment.trim() !== '') {
      throw new SknockFirewallError(
        looksUnavailable(segment) ? 'ERR_SKNOCK_FIREWALL_UNAVAILABLE' : 'ERR_SKNOCK_FIREWALL_COMMAND',
        `${this.command} refused a batch: ${firstLines(segment.trim())}`,
        { command: this.command, stderr: keptStderr(segment) },
      );
    }
    if (script !== undefined && ++proc.batches >= this.#maxBatches) this.#replace(proc);
  }

  async #list(command: string): Promise<string> {
    const proc = this.#running ?? this.#spawn();
    if (!proc.probed) await this.#probe(proc);
    if (proc.frame === undefined) {
      // Asked twice: the output is complete when it is one line twice over.
      const twice = await this.#printed(proc, `${FRAME_COMMAND}\n${FRAME_COMMAND}\n`, (out) => out.length > 0 && out.length % 2 === 0 && out.slice(0, out.length / 2) === out.slice(out.length / 2) && out.endsWith('\n'));
      proc.frame = twice.slice(0, twice.length / 2);
    }
    const frame = proc.frame;
    const out = await this.#printed(proc, `${command.replace(/\n/g, ' ')}\n${FRAME_COMMAND}\n`, (o) => o.endsWith(frame));
    return out.slice(0, out.length - frame.length);
  }

  /** Sends `lines` (and a marker); resolves with standard output once `complete` says it is all there. */
  async #printed(proc: Running, lines: string, complete: (out: string) => boolean): Promise<string> {
    proc.listing = '';
    try {
      const segment = await this.#exchange(proc, lines);
      if (segment.trim() !== '') {
        throw new SknockFirewallError(
          looksUnavailable(segment) ? 'ERR_SKNOCK_FIREWALL_UNAVAILABLE' : 'ERR_SKNOCK_FIREWALL_COMMAND',
          `${this.command} refused ${JSON.stringify(lines.trim().split('\n')[0])}: ${firstLines(segment.trim())}`,
          { command: this.command, stderr: keptStderr(segment) },
        );
      }
      return await this.#listingEnd(proc, complete);
    } finally {
      proc.listing = undefined;
      proc.onListing = undefined;
    }
  }

  /** Resolves with standard output once `complete` says it is all there. */
  #listingEnd(proc: Running, complete: (out: string) => boolean): Promise<string> {
    const done = (): boolean => complete(proc.listing ?? '');
    if (done()) return Promise.resolve(proc.listing as string);
    keepAlive(proc, true);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.onListing = undefined;
        keepAlive(proc, false);
        reject(new SknockFirewallError('ERR_SKNOCK_FIREWALL_TIMEOUT', `${this.command} did not finish a listing within ${this.#timeoutMs} ms`, { command: this.command }));
      }, this.#timeoutMs);
      proc.onListing = () => {
        if (!done() && !proc.exited) return;
        clearTimeout(timer);
        proc.onListing = undefined;
        keepAlive(proc, false);
        if (done()) resolve(proc.listing as string);
        else reject(new SknockFirewallError('ERR_SKNOCK_FIREWALL_COMMAND', `${this.command} exited during a listing`, { command: this.command }));
      };
    });
  }

  /**
   * The first exchange with a new process: an include of its empty scratch file. If nft
   * cannot include it (something closed descriptor 3 on the way), batches go inline.
   */
  async #probe(proc: Running): Promise<void> {
    let line = '';
    if (proc.scratch !== undefined) {
      try {
        proc.scratch.write('');
        line = `include "${NFT_SCRATCH_PATH}"\n`;
      } catch {
        this.#dropScratch(proc);
      }
    }
    const segment = await this.#exchange(proc, line);
    proc.probed = true;
    if (segment.trim() === '') return;
    if (line !== '' && !looksUnavailable(segment)) {
      this.#dropScratch(proc);
      return;
    }
    throw new SknockFirewallError(
      looksUnavailable(segment) ? 'ERR_SKNOCK_FIREWALL_UNAVAILABLE' : 'ERR_SKNOCK_FIREWALL_COMMAND',
      `${this.command} answered with errors at start: ${firstLines(segment.trim())}`,
      { command: this.command, stderr: keptStderr(segment) },
    );
  }

  #dropScratch(proc: Running): void {
    proc.scratch?.close();
    proc.scratch = undefined;
  }

  /** Writes `line` (empty, or one line with its newline) and a marker; resolves with the batch's part of standard error. */
  async #exchange(proc: Running, line: string): Promise<string> {
    const marker = `${this.#markerPrefix}_${++this.#seq}`;
    keepAlive(proc, true);
    try {
      return await this.#answer(proc, line + marker + '\n', marker);
    } finally {
      keepAlive(proc, false);
    }
  }

  /** Writes `text` and resolves with the standard error that came before `marker`'s error. */
  #answer(proc: Running, text: string, marker: string): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (proc.waiter !== waiter) return;
        proc.waiter = undefined;
        const stderr = keptStderr(proc.stderr);
        this.#kill(proc);
        reject(
          new SknockFirewallError('ERR_SKNOCK_FIREWALL_TIMEOUT', `${this.command} did not answer within ${this.#timeoutMs} ms; killed it`, {
            command: this.command,
            stderr,
          }),
        );
      }, this.#timeoutMs);
      const waiter: Waiter = {
        marker,
        resolve: (segment) => {
          clearTimeout(timer);
          resolve(segment);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      proc.waiter = waiter;
      if (proc.exited) {
        this.#fail(proc, new SknockFirewallError('ERR_SKNOCK_FIREWALL_COMMAND', `${this.command} has exited`, { command: this.command }));
        return;
      }
      proc.stdin.write(text);
      this.#scan(proc);
    });
  }

  /** Hands the waiting batch its part of standard error once the marker's error is there. */
  #scan(proc: Running): void {
    const waiter = proc.waiter;
    if (waiter === undefined) return;
    const echo = `\n${waiter.marker}\n`;
    const at = proc.stderr.indexOf(echo);
    if (at < 0) {
      if (proc.stderr.length > NFT_SESSION_MAX_STDERR) {
        this.#kill(proc);
        this.#fail(proc, new SknockFirewallError('ERR_SKNOCK_FIREWALL_COMMAND', `${this.command} wrote more than ${NFT_SESSION_MAX_STDERR} bytes of errors`, { command: this.command }));
      }
      return;
    }
    // The marker's own message is the line before its echo ("Error: syntax error, …").
    const messageStart = at === 0 ? 0 : proc.stderr.lastIndexOf('\n', at - 1) + 1;
    const segment = proc.stderr.slice(0, messageStart).replace(CARET_LINES, '');
    proc.stderr = proc.stderr.slice(at + echo.length);
    proc.waiter = undefined;
    waiter.resolve(segment);
  }

  #spawn(): Running {
    const [file, ...args] = this.#argv as [string, ...string[]];
    let scratch: NftScratchFile | undefined;
    if (this.#transport === 'include') {
      try {
        scratch = NftScratchFile.create(this.#scratchParent);
      } catch {
        scratch = undefined; // no temporary file system to write to: batches go inline
      }
    }
    const child = spawn(file, args, {
      stdio: ['pipe', 'pipe', 'pipe', scratch === undefined ? 'ignore' : scratch.fd],
      env: { ...process.env, LC_ALL: 'C', HOME: '/dev/null' },
    });
    this.#spawned += 1;
    let markDone = (): void => undefined;
    const done = new Promise<void>((resolve) => (markDone = resolve));
    const stdin = child.stdin as Writable;
    const stdout = child.stdout as Readable;
    const stderrStream = child.stderr as Readable;
    const proc: Running = {
      child,
      stdin,
      scratch,
      probed: false,
      stderr: '',
      listing: undefined,
      onListing: undefined,
      frame: undefined,
      waiter: undefined,
      batches: 0,
      ending: false,
      exited: false,
      done,
      markDone,
    };
    this.#running = proc;
    // Drained so nft never blocks on it; kept only while a listing is awaited.
    stdout.setEncoding('utf8');
    stdout.on('data', (chunk: string) => {
      if (proc.listing === undefined) return;
      proc.listing += chunk;
      if (proc.listing.length > NFT_SESSION_MAX_STDERR) {
        this.#kill(proc);
        return;
      }
      proc.onListing?.();
    });
    stderrStream.setEncoding('utf8');
    stderrStream.on('data', (chunk: string) => {
      proc.stderr += chunk;
      if (proc.waiter !== undefined) this.#scan(proc);
      else if (proc.stderr.length > NFT_SESSION_MAX_STDERR) this.#kill(proc); // chatter nobody asked for
    });
    // Writing to a process that just died fails with EPIPE; its exit reports what happened.
    stdin.on('error', () => undefined);
    child.on('error', (error: NodeJS.ErrnoException) => {
      const missing = error.code === 'ENOENT';
      this.#ended(
        proc,
        new SknockFirewallError(
          missing ? 'ERR_SKNOCK_FIREWALL_UNAVAILABLE' : 'ERR_SKNOCK_FIREWALL_COMMAND',
          missing ? `firewall tool not found: ${file}` : `cannot start ${this.command}: ${error.message}`,
          { command: this.command, cause: error },
        ),
      );
    });
    child.on('close', (exitCode: number | null, signal: NodeJS.Signals | null) => {
      const stderr = proc.stderr.replace(CARET_LINES, '').trim();
      const why = signal ? `was killed by ${signal}` : `exited with status ${exitCode}`;
      this.#ended(
        proc,
        new SknockFirewallError(
          looksUnavailable(stderr) ? 'ERR_SKNOCK_FIREWALL_UNAVAILABLE' : 'ERR_SKNOCK_FIREWALL_COMMAND',
          `${this.command} ${why}${stderr ? `: ${firstLines(stderr)}` : ''}`,
          { command: this.command, stderr: keptStderr(stderr), exitCode },
        ),
      );
    });
    keepAlive(proc, false);
    return proc;
  }

  /** The process is gone: reject its batch, or tell `onExit` when nobody asked it to go. */
  #ended(proc: Running, err: SknockFirewallError): void {
    if (proc.exited) return;
    proc.exited = true;
    if (this.#running === proc) this.#running = undefined;
    this.#retiring.delete(proc);
    this.#dropScratch(proc);
    proc.markDone();
    proc.onListing?.();
    if (proc.waiter !== undefined) this.#fail(proc, err);
    else if (!proc.ending) this.#onExit?.(err);
  }

  #fail(proc: Running, err: SknockFirewallError): void {
    const waiter = proc.waiter;
    proc.waiter = undefined;
    waiter?.reject(err);
  }

  #kill(proc: Running): void {
    proc.ending = true;
    if (this.#running === proc) this.#running = undefined;
    if (!proc.exited) proc.child.kill('SIGKILL');
  }

  /** Swaps a process whose history has grown long for a fresh one, started at once. */
  #replace(proc: Running): void {
    proc.ending = true;
    this.#running = undefined;
    this.#retiring.add(proc);
    void this.#end(proc, false);
    this.#spawn();
  }

  /**
   * Closes the process's input; kills it if it has not exited within the close timeout.
   * `hold`: keep the event loop alive meanwhile (close() does; replacing one in passing does not).
   */
  async #end(proc: Running, hold = true): Promise<void> {
    proc.ending = true;
    if (proc.exited) return;
    if (hold) keepAlive(proc, true);
    proc.stdin.end();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      proc.done.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), NFT_SESSION_CLOSE_TIMEOUT_MS);
        if (!hold) timer.unref();
      }),
    ]);
    clearTimeout(timer);
    if (timedOut && !proc.exited) {
      proc.child.kill('SIGKILL');
      await Promise.race([proc.done, new Promise((resolve) => setTimeout(resolve, NFT_SESSION_CLOSE_TIMEOUT_MS).unref())]);
    }
  }
}
