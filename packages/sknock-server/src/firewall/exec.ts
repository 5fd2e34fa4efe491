/**
 * The exec back end: grants are opened and closed by commands the operator configures
 * (knockd's start_command/stop_command, fwknop's CMD_CYCLE_OPEN/CLOSE), for an ipset, a
 * firewalld rich rule, a cloud security group, or anything else a program can change.
 *
 * ```ts
 * new ExecFirewallBackend({
 *   open: '/usr/sbin/ipset add sknock{family} {address},{protocol}:{port} timeout {seconds} -exist',
 *   close: '/usr/sbin/ipset del sknock{family} {address},{protocol}:{port} -exist',
 * });
 * ```
 *
 * - **No shell.** A command is an argv array run with `spawn` (run-command.ts), never through
 *   a shell. Given as one string it is split into words at blanks, with '…' and "…" grouping
 *   words (no other syntax: no variables, globs, redirections or escapes but \" and \\ inside
 *   "…"). A placeholder is replaced inside its word only, so a value can never become another
 *   argument; and every value is checked first (a canonical IP address, `tcp`/`udp`, digits),
 *   so nothing a shell or the target program would read as syntax can reach it even when the
 *   command is itself a shell.
 * - **Placeholders**: `{address}` (canonical text), `{family}` (`4`/`6`), `{ipfamily}`
 *   (`ipv4`/`ipv6`), `{cidr}` (`192.0.2.7/32`, `2001:db8::7/128`), `{protocol}`, `{port}`,
 *   `{seconds}` (whole seconds the grant has left, rounded up), `{expires}` (its end, Unix
 *   seconds); `{{` and `}}` are literal braces. `setup` and `teardown` take none.
 * - **Timeouts**: each command is killed after `commandTimeoutMs` (ERR_SKNOCK_FIREWALL_TIMEOUT).
 * - **Expiry is the daemon's**: the back end keeps a timer per grant and runs `close` when it
 *   runs out (a target may have no timeouts of its own); a close that fails is retried.
 *   A re-knock runs `open` again with the new `{seconds}` (commands must be idempotent:
 *   ipset's `-exist`) and moves the timer. If the daemon dies, only the target's own
 *   timeout (ipset `timeout {seconds}`, firewalld `--timeout={seconds}s`) closes what it
 *   opened.
 * - **Order**: the commands of one grant run one at a time, in order (a close never
 *   overtakes its open); at most `maxConcurrent` commands run at once.
 * - The policy is the target's: `setup` refuses policy `reject`/`drop` and `anyPortKnocks`,
 *   which need rules this back end cannot write.
 */
import type { FirewallBackend, FirewallSetup, Grant } from './backend.js';
import { DEFAULT_COMMAND_TIMEOUT_MS } from './constants.js';
import { SknockFirewallError } from './errors.js';
import { GrantTable, type ListedGrant } from './grant-table.js';
import { runCommand } from './run-command.js';
import { checkNetnsName, checkOptionalFunction, checkOptions, checkPositiveInteger, durationMs, grantKey, normalizeGrant, normalizeSetup } from './validate.js';

/** What a command is for: the grant ones take grant placeholders, setup/teardown none. */
export type ExecCommandKind = 'open' | 'close' | 'setup' | 'teardown';

export const EXEC_GRANT_PLACEHOLDERS = ['address', 'family', 'ipfamily', 'cidr', 'protocol', 'port', 'seconds', 'expires'] as const;
export type ExecPlaceholder = (typeof EXEC_GRANT_PLACEHOLDERS)[number];

/** A parsed command: its words, placeholders still in them (checked: only known ones). */
export type ExecCommand = readonly string[];

/** How long to wait before retrying a close that failed, and how often. */
const CLOSE_RETRY_MS = 5000;
const CLOSE_MAX_ATTEMPTS = 12;
const DEFAULT_MAX_CONCURRENT = 4;

function invalid(message: string): SknockFirewallError {
  return new SknockFirewallError('ERR_SKNOCK_INVALID_ARGUMENT', message);
}

/** Splits a command line into words: blanks separate, '…' and "…" group (see the module comment). */
export function splitCommandLine(text: string, argument: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === "'" || ch === '"') {
      const end = ch === "'" ? text.indexOf("'", i + 1) : closingDoubleQuote(text, i + 1);
      if (end < 0) throw invalid(`${argument} has an unclosed ${ch === "'" ? 'single' : 'double'} quote`);
      const inner = text.slice(i + 1, end);
      word += ch === '"' ? inner.replace(/\\(["\\])/g, '$1') : inner;
      inWord = true;
      i = end;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

function closingDoubleQuote(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return -1;
}

const PLACEHOLDER = /\{\{|\}\}|\{([^{}]*)\}|[{}]/g;

/**
 * A command checked for use: a string is split into words, an array taken as the words.
 * Throws INVALID_ARGUMENT naming `argument` for an empty command, a NUL, an unknown
 * placeholder, a lone brace, or a placeholder where `kind` takes none.
 */
export function parseExecCommand(value: unknown, kind: ExecCommandKind, argument: string): ExecCommand {
  let words: string[];
  if (typeof value === 'string') words = splitCommandLine(value, argument);
  else if (Array.isArray(value) && value.every((w) => typeof w === 'string')) words = [...(value as string[])];
  else throw invalid(`${argument} must be a command line (a string) or an array of words`);
  if (words.length === 0 || words[0] === '') throw invalid(`${argument} is empty: it needs at least a program`);
  const allowed: readonly string[] = kind === 'open' || kind === 'close' ? EXEC_GRANT_PLACEHOLDERS : [];
  for (const word of words) {
    if (word.includes('\0')) throw invalid(`${argument} holds a NUL character`);
    for (const m of word.matchAll(PLACEHOLDER)) {
      if (m[0] === '{{' || m[0] === '}}') continue;
      const name = m[1];
      if (name === undefined) throw invalid(`${argument} has a lone '${m[0]}' in ${JSON.stringify(word)} (write {{ or }} for a literal brace)`);
      if (!allowed.includes(name)) {
        throw invalid(
          allowed.length === 0
            ? `${argument} cannot use {${name}}: the ${kind} command takes no placeholders`
            : `${argument} has the unknown placeholder {${name}}; known: ${allowed.map((p) => `{${p}}`).join(' ')}`,
        );
      }
    }
  }
  if (/[{}]/.test(words[0] as string)) throw invalid(`${argument}: the program (its first word) cannot hold a placeholder`);
  return Object.freeze(words);
}

/** The checked values of a grant's placeholders: only address characters, letters and digits. */
export function placeholderValues(grant: Grant, expiresAt: number, now: number): Record<ExecPlaceholder, string> {
  const checked = normalizeGrant(grant);
  const values: Record<ExecPlaceholder, string> = {
    address: checked.address,
    family: String(checked.family),
    ipfamily: checked.family === 4 ? 'ipv4' : 'ipv6',
    cidr: `${checked.address}/${checked.family === 4 ? 32 : 128}`,
    protocol: checked.protocol,
    port: String(checked.port),
    seconds: String(Math.max(1, Math.ceil((expiresAt - now) / 1000))),
    expires: String(Math.ceil(expiresAt / 1000)),
  };
  // Belt and braces: whatever validation let through, no value carries anything but these.
  for (const [name, value] of Object.entries(values)) {
    if (!/^[0-9A-Za-z.:/]+$/.test(value)) throw invalid(`placeholder {${name}} would be ${JSON.stringify(value)}`);
  }
  return values;
}

/** The argv of `command` with `values` put in (inside their words only). */
export function expandCommand(command: ExecCommand, values: Partial<Record<ExecPlaceholder, string>>): string[] {
  return command.map((word) =>
    word.replace(PLACEHOLDER, (all: string, name: string | undefined) => {
      if (all === '{{') return '{';
      if (all === '}}') return '}';
      const value = name === undefined ? undefined : values[name as ExecPlaceholder];
      if (value === undefined) throw invalid(`no value for ${all}`);
      return value;
    }),
  );
}

export interface ExecBackendOptions {
  /** Opens a grant (required). A command line or an array of words; see the module comment. */
  readonly open: string | readonly string[];
  /** Closes a grant (required): at its expiry, on `close()` and at teardown. */
  readonly close: string | readonly string[];
  /** Run at setup (e.g. `ipset create … -exist`), before any grant. */
  readonly setup?: string | readonly string[];
  /** Run at teardown, after every open grant was closed. */
  readonly teardown?: string | readonly string[];
  /** Kill a command after this many ms (default 10,000). */
  readonly commandTimeoutMs?: number;
  /** Most commands running at once (default 4). */
  readonly maxConcurrent?: number;
  /** Run every command inside this named network namespace (`ip netns exec NAME …`), for tests. */
  readonly netns?: string;
  /** Receives errors nobody awaits: a close at expiry that failed (retried every 5 s, 12 times). */
  readonly onError?: (err: SknockFirewallError) => void;
}

interface Held {
  readonly grant: Grant;
  readonly expiresAt: number;
  readonly timer: NodeJS.Timeout;
}

export class ExecFirewallBackend implements FirewallBackend {
  readonly name = 'exec';
  readonly commands: Readonly<Record<ExecCommandKind, ExecCommand | undefined>>;
  readonly netns: string | undefined;
  readonly #timeoutMs: number;
  readonly #maxConcurrent: number;
  readonly #onError: ((err: SknockFirewallError) => void) | undefined;
  readonly #held = new Map<string, Held>();
  /** The last command of each grant, so that the next one runs after it. */
  readonly #tails = new Map<string, Promise<void>>();
  readonly #waiting: Array<() => void> = [];
  readonly #retries = new Set<NodeJS.Timeout>();
  #running = 0;
  #setup: FirewallSetup | undefined;

  constructor(options: ExecBackendOptions) {
    const o = checkOptions(options, 'options');
    const command = (kind: ExecCommandKind, required: boolean): ExecCommand | undefined => {
      const value = o[kind];
      if (value === undefined) {
        if (required) throw invalid(`options.${kind} is required: the command that ${kind === 'open' ? 'opens' : 'closes'} a grant`);
        return undefined;
      }
      return parseExecCommand(value, kind, `options.${kind}`);
    };
    this.commands = Object.freeze({ open: command('open', true), close: command('close', true), setup: command('setup', false), teardown: command('teardown', false) });
    this.netns = checkNetnsName(o['netns']);
    this.#timeoutMs = o['commandTimeoutMs'] === undefined ? DEFAULT_COMMAND_TIMEOUT_MS : checkPositiveInteger(o['commandTimeoutMs'], 'options.commandTimeoutMs');
    this.#maxConcurrent = o['maxConcurrent'] === undefined ? DEFAULT_MAX_CONCURRENT : checkPositiveInteger(o['maxConcurrent'], 'options.maxConcurrent', 256);
    this.#onError = checkOptionalFunction<(err: SknockFirewallError) => void>(o['onError'], 'options.onError');
  }

  async setup(setup: FirewallSetup): Promise<void> {
    const checked = normalizeSetup(setup);
    if (checked.policy !== 'none') {
      throw invalid(`the exec back end cannot enforce firewallPolicy ${checked.policy} (it writes no rules of its own): use none, and let the target your commands change decide`);
    }
    if (checked.anyPortKnocks) {
      throw invalid('the exec back end cannot redirect knocks sent to other ports (anyPortKnocks needs the nftables or iptables back end): turn anyPortKnocks off');
    }
    if (this.commands.setup !== undefined) await this.#run(this.commands.setup, 'setup');
    this.#setup = checked;
  }

  async open(grant: Grant, durationSeconds: number): Promise<void> {
    const checked = normalizeGrant(grant);
    const ms = durationMs(durationSeconds);
    this.#requireSetup();
    const key = grantKey(checked);
    await this.#serial(key, async () => {
      this.#requireSetup();
      const now = Date.now();
      const before = this.#held.get(key);
      const expiresAt = Math.max(before !== undefined && before.expiresAt > now ? before.expiresAt : 0, now + ms);
      await this.#run(expandCommand(this.commands.open as ExecCommand, placeholderValues(checked, expiresAt, now)), 'open');
      if (before !== undefined) clearTimeout(before.timer);
      this.#held.set(key, { grant: checked, expiresAt, timer: this.#expiryTimer(key, expiresAt - Date.now()) });
    });
  }

  async close(grant: Grant): Promise<void> {
    const checked = normalizeGrant(grant);
    this.#requireSetup();
    const key = grantKey(checked);
    await this.#serial(key, async () => {
      const held = this.#held.get(key);
      if (held === undefined) return; // not opened by us (or already closed): nothing to run
      clearTimeout(held.timer);
      this.#held.delete(key);
      await this.#runClose(held);
    });
  }

  async list(): Promise<ReadonlyArray<ListedGrant>> {
    const table = new GrantTable();
    for (const h of this.#held.values()) table.set(h.grant, h.expiresAt);
    return table.list();
  }

  /** Closes every grant it opened (their close commands), then runs `teardown`. Throws the first failure after trying all. */
  async teardown(): Promise<void> {
    this.#setup = undefined;
    for (const t of this.#retries) clearTimeout(t);
    this.#retries.clear();
    const held = [...this.#held.entries()];
    const errors: unknown[] = [];
    await Promise.all(
      held.map(([key, h]) =>
        this.#serial(key, async () => {
          clearTimeout(h.timer);
          if (this.#held.get(key) !== h) return;
          this.#held.delete(key);
          await this.#runClose(h);
        }).catch((err: unknown) => errors.push(err)),
      ),
    );
    await Promise.all([...this.#tails.values()].map((p) => p.catch(() => undefined)));
    if (this.commands.teardown !== undefined) {
      try {
        await this.#run(this.commands.teardown, 'teardown');
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw errors[0];
  }

  #requireSetup(): void {
    if (this.#setup === undefined) throw new SknockFirewallError('ERR_SKNOCK_FIREWALL_STATE', 'the exec back end is not set up (call setup() first)');
  }

  #runClose(held: Held): Promise<void> {
    return this.#run(expandCommand(this.commands.close as ExecCommand, placeholderValues(held.grant, held.expiresAt, Date.now())), 'close');
  }

  #expiryTimer(key: string, ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      const held = this.#held.get(key);
      if (held === undefined || held.timer !== timer) return;
      this.#held.delete(key);
      this.#closeExpired(key, held, 1);
    }, Math.max(0, ms));
    timer.unref();
    return timer;
  }

  #closeExpired(key: string, held: Held, attempt: number): void {
    this.#serial(key, () => (this.#held.has(key) ? Promise.resolve() : this.#runClose(held))).catch((err: unknown) => {
      const error = err instanceof SknockFirewallError ? err : new SknockFirewallError('ERR_SKNOCK_FIREWALL_COMMAND', String(err), { cause: err });
      const last = attempt >= CLOSE_MAX_ATTEMPTS || this.#setup === undefined;
      this.#report(
        new SknockFirewallError(
          error.code,
          `closing the expired grant ${held.grant.protocol}/${held.grant.port} for ${held.grant.address} failed (attempt ${attempt}${last ? ', giving up: it may still be open' : `, retrying in ${CLOSE_RETRY_MS / 1000} s`}): ${error.message}`,
          { command: error.command, stderr: error.stderr, exitCode: error.exitCode, cause: error },
        ),
      );
      if (last) return;
      const retry = setTimeout(() => {
        this.#retries.delete(retry);
        this.#closeExpired(key, held, attempt + 1);
      }, CLOSE_RETRY_MS);
      retry.unref();
      this.#retries.add(retry);
    });
  }

  #report(err: SknockFirewallError): void {
    try {
      this.#onError?.(err);
    } catch {
      // a failing error handler must not break the back end
    }
  }

  /** Runs `task` after every earlier task of the same grant. */
  #serial(key: string, task: () => Promise<void>): Promise<void> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(task);
    const tail = next.catch(() => undefined);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return next;
  }

  /** One command, with at most maxConcurrent running. */
  async #run(argv: readonly string[], kind: ExecCommandKind): Promise<void> {
    // A finished command hands its slot to the next one waiting, so at most maxConcurrent run.
    if (this.#running >= this.#maxConcurrent) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#running++;
    try {
      await runCommand(argv[0] as string, argv.slice(1), { netns: this.netns, timeoutMs: this.#timeoutMs });
    } catch (err) {
      if (err instanceof SknockFirewallError) {
        throw new SknockFirewallError(err.code, `exec back end, ${kind} command: ${err.message}`, { command: err.command, stderr: err.stderr, exitCode: err.exitCode, cause: err });
      }
      throw err;
    } finally {
      const next = this.#waiting.shift();
      if (next !== undefined) next();
      else this.#running--;
    }
  }
}
