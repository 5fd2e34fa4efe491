/**
 * The iptables back end (iptables and ip6tables; the nf_tables or the legacy variant).
 * Like the original sKnock it owns chains in the filter table, jumped to from the top of
 * INPUT (see iptables-rules.ts), and one ACCEPT rule per grant.
 *
 * iptables has no timeouts, so this back end closes grants itself with timers. If the daemon
 * is killed with SIGKILL (or the machine loses power), its grant rules stay until the next
 * `setup()`, which removes every chain and jump an earlier run left. Prefer the nftables
 * back end, whose grants the kernel expires on its own.
 *
 * Updates are queued and applied in batches: one `iptables-restore --noflush` (and one
 * `ip6tables-restore --noflush`, run side by side) per batch; every grant that arrives while
 * a batch runs joins the next one. The back end keeps what it installed in memory, so a
 * second knock for an open grant only moves its timer and never adds a second rule. If a
 * batch fails (say, someone flushed the filter table), that family's chains are rebuilt with
 * every live grant in one transaction.
 */
import type { FirewallBackend, FirewallSetup, Grant } from './backend.js';
import { DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_IPTABLES_CHAIN, DEFAULT_MAX_BATCH } from './constants.js';
import { SknockFirewallError } from './errors.js';
import type { ListedGrant } from './grant-table.js';
import {
  grantRule,
  iptablesChains,
  iptablesSetupScript,
  iptablesTeardownScript,
  isEmptyTable,
  isNftVariant,
  parseIptablesSave,
  withoutOurs,
  type IpFamily,
  type IptablesChains,
  type SavedTable,
} from './iptables-rules.js';
import { runCommand } from './run-command.js';
import { SerialBatcher, type BatchOutcome } from './serial-batcher.js';
import {
  checkName,
  checkNetnsName,
  checkOptions,
  checkPositiveInteger,
  durationMs,
  grantKey,
  normalizeGrant,
  normalizeSetup,
  checkOptionalFunction,
} from './validate.js';

export interface IptablesBackendOptions {
  /** Prefix of our chains (default `SKNOCK`: `SKNOCK`, `SKNOCK-GRANTS`, nat `SKNOCK-KNOCK`). */
  readonly chain?: string;
  /** Run every command inside this named network namespace (`ip netns exec NAME …`). */
  readonly netns?: string;
  /** Which families to manage (default both: iptables and ip6tables). */
  readonly families?: ReadonlyArray<4 | 6>;
  /** Kill a command after this many ms (default 10,000). */
  readonly commandTimeoutMs?: number;
  /** Most grant updates per restore process (default 4,096). */
  readonly maxBatch?: number;
  /** Tool names or paths (defaults `iptables-save`, `iptables-restore`, `ip6tables-save`, `ip6tables-restore`, `nft`). */
  readonly commands?: Partial<Readonly<Record<'iptablesSave' | 'iptablesRestore' | 'ip6tablesSave' | 'ip6tablesRestore' | 'nft', string>>>;
  /**
   * Called with errors no caller waits for: an expired grant whose rule could not be removed
   * (the back end retries every 5 s). Default: none (the daemon passes its logger).
   */
  readonly onError?: (err: SknockFirewallError) => void;
}

/** How long to wait before retrying the removal of an expired grant that failed. */
const REMOVE_RETRY_MS = 5000;

interface Desired {
  readonly grant: Grant;
  readonly expiresAt: number;
  readonly timer: NodeJS.Timeout;
}

interface FamilyState {
  /** Tables (`filter`, `nat`) that did not exist before our first setup. */
  readonly createdTables: Set<string>;
}

export class IptablesBackend implements FirewallBackend {
  readonly name = 'iptables';
  readonly chains: IptablesChains;
  readonly netns: string | undefined;
  readonly families: ReadonlyArray<IpFamily>;
  readonly #timeoutMs: number;
  readonly #commands: Readonly<Record<'iptablesSave' | 'iptablesRestore' | 'ip6tablesSave' | 'ip6tablesRestore' | 'nft', string>>;
  readonly #onError: ((err: SknockFirewallError) => void) | undefined;
  readonly #batcher: SerialBatcher<string>;
  /** Grants that should be in force, with their timers. */
  readonly #desired = new Map<string, Desired>();
  /** Keys whose rule is in the kernel now. */
  readonly #installed = new Set<string>();
  /** Keys of the batch being applied. */
  #inFlight = new Set<string>();
  readonly #familyState = new Map<IpFamily, FamilyState>();
  #setup: FirewallSetup | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #batches = 0;

  constructor(options: IptablesBackendOptions = {}) {
    const o = checkOptions(options, 'options');
    const prefix = o['chain'] === undefined ? DEFAULT_IPTABLES_CHAIN : checkName(o['chain'], /^[A-Za-z][A-Za-z0-9_]{0,20}$/, 'options.chain', 'a chain name of letters, digits and _ (at most 21)');
    this.chains = iptablesChains(prefix);
    this.netns = checkNetnsName(o['netns']);
    const families = o['families'] ?? [4, 6];
    if (!Array.isArray(families) || families.length === 0 || !families.every((f) => f === 4 || f === 6)) {
      throw new SknockFirewallError('ERR_SKNOCK_FIREWALL_INVALID_ARGUMENT', 'options.families must be a non-empty array of 4 and/or 6');
    }
    this.families = [...new Set(families as IpFamily[])].sort();
    this.#timeoutMs = o['commandTimeoutMs'] === undefined ? DEFAULT_COMMAND_TIMEOUT_MS : checkPositiveInteger(o['commandTimeoutMs'], 'options.commandTimeoutMs');
    const maxBatch = o['maxBatch'] === undefined ? DEFAULT_MAX_BATCH : checkPositiveInteger(o['maxBatch'], 'options.maxBatch', 100_000);
    const commands = checkOptions(o['commands'], 'options.commands');
    const cmd = (key: string, fallback: string): string =>
      commands[key] === undefined ? fallback : checkName(commands[key], /^[^\0\s]+$/, `options.commands.${key}`, 'a program name or path');
    this.#commands = {
      iptablesSave: cmd('iptablesSave', 'iptables-save'),
      iptablesRestore: cmd('iptablesRestore', 'iptables-restore'),
      ip6tablesSave: cmd('ip6tablesSave', 'ip6tables-save'),
      ip6tablesRestore: cmd('ip6tablesRestore', 'ip6tables-restore'),
      nft: cmd('nft', 'nft'),
    };
    this.#onError = checkOptionalFunction<(err: SknockFirewallError) => void>(o['onError'], 'options.onError');
    this.#batcher = new SerialBatcher<string>((keys) => this.#apply(keys), maxBatch);
  }

  /** How many restore rounds grant updates have cost so far (for benchmarks and tests). */
  get batches(): number {
    return this.#batches;
  }

  async setup(setup: FirewallSetup): Promise<void> {
    const checked = normalizeSetup(setup);
    await this.#batcher.exclusive(async () => {
      const now = Date.now();
      const grants = this.#liveDesired(now);
      await Promise.all(
        this.families.map(async (family) => {
          const current = await this.#save(family);
          let state = this.#familyState.get(family);
          if (state === undefined) {
            state = { createdTables: new Set(['filter', 'nat'].filter((t) => !current.tables.has(t))) };
            this.#familyState.set(family, state);
          }
          await this.#restore(family, iptablesSetupScript(family, this.chains, checked, current.tables, grants));
        }),
      );
      this.#installed.clear();
      for (const g of grants) if (this.families.includes(g.family)) this.#installed.add(grantKey(g));
      this.#setup = checked;
    });
  }

  async open(grant: Grant, durationSeconds: number): Promise<void> {
    const checked = this.#checkGrant(grant);
    const ms = durationMs(durationSeconds);
    this.#requireSetup();
    const key = grantKey(checked);
    const now = Date.now();
    const before = this.#desired.get(key);
    // Re-opening extends, never shortens: expiry = max(current expiry, now + duration).
    const expiresAt = Math.max(before !== undefined && before.expiresAt > now ? before.expiresAt : 0, now + ms);
    if (before) clearTimeout(before.timer);
    this.#desired.set(key, { grant: checked, expiresAt, timer: this.#expiryTimer(key, expiresAt - now) });
    // Already in the kernel and not being changed right now: nothing to run.
    if (this.#installed.has(key) && !this.#inFlight.has(key)) return;
    await this.#batcher.push(key);
  }

  async close(grant: Grant): Promise<void> {
    const checked = this.#checkGrant(grant);
    this.#requireSetup();
    const key = grantKey(checked);
    const before = this.#desired.get(key);
    if (before) clearTimeout(before.timer);
    this.#desired.delete(key);
    await this.#batcher.push(key);
  }

  async list(): Promise<ReadonlyArray<ListedGrant>> {
    const now = Date.now();
    const out: ListedGrant[] = [];
    for (const [key, d] of this.#desired) {
      if (d.expiresAt > now && this.#installed.has(key)) out.push(Object.freeze({ ...d.grant, expiresAt: d.expiresAt }));
    }
    return out;
  }

  async teardown(): Promise<void> {
    await this.#batcher.exclusive(async () => {
      this.#setup = undefined;
      for (const d of this.#desired.values()) clearTimeout(d.timer);
      this.#desired.clear();
      if (this.#retryTimer) clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
      await Promise.all(
        this.families.map(async (family) => {
          const current = await this.#save(family);
          const script = iptablesTeardownScript(this.chains, current.tables);
          if (script !== '') await this.#restore(family, script);
          await this.#dropTablesWeCreated(family, current.text, current.tables);
        }),
      );
      this.#installed.clear();
      this.#familyState.clear();
    });
  }

  #checkGrant(grant: Grant): Grant {
    const checked = normalizeGrant(grant);
    if (!this.families.includes(checked.family)) {
      throw new SknockFirewallError('ERR_SKNOCK_FIREWALL_INVALID_ARGUMENT', `grant.address is IPv${checked.family}, which this back end does not manage (options.families)`);
    }
    return checked;
  }

  #requireSetup(): void {
    if (this.#setup === undefined) {
      throw new SknockFirewallError('ERR_SKNOCK_FIREWALL_STATE', 'the iptables back end is not set up (call setup() first)');
    }
  }

  #liveDesired(now: number): Grant[] {
    return [...this.#desired.values()].filter((d) => d.expiresAt > now).map((d) => d.grant);
  }

  #expiryTimer(key: string, ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      const d = this.#desired.get(key);
      if (d === undefined || d.timer !== timer) return;
      this.#desired.delete(key);
      this.#batcher.push(key).catch((err: unknown) => this.#backgroundError(err));
    }, ms);
    // The daemon's socket keeps the process alive; an embedding application must call teardown().
    timer.unref();
    return timer;
  }

  #backgroundError(err: unknown): void {
    const error = err instanceof SknockFirewallError ? err : new SknockFirewallError('ERR_SKNOCK_FIREWALL_COMMAND', String(err), { cause: err });
    if (error.code === 'ERR_SKNOCK_FIREWALL_STATE') return; // torn down meanwhile: nothing left to remove
    try {
      this.#onError?.(error);
    } catch {
      // a failing error handler must not break the back end
    }
  }

  async #apply(keys: string[]): Promise<BatchOutcome> {
    const setup = this.#setup;
    if (setup === undefined) {
      throw new SknockFirewallError('ERR_SKNOCK_FIREWALL_STATE', 'the iptables back end was torn down before this grant was applied');
    }
    const now = Date.now();
    const unique = [...new Set(keys)];
    this.#inFlight = new Set(unique);
    try {
      const lines = new Map<IpFamily, string[]>();
      const changes = new Map<IpFamily, Array<{ key: string; add: boolean }>>();
      const familyOf = new Map<string, IpFamily>();
      for (const key of unique) {
        let d = this.#desired.get(key);
        if (d !== undefined && d.expiresAt <= now) {
          clearTimeout(d.timer);
          this.#desired.delete(key);
          d = undefined;
        }
        const want = d !== undefined;
        const have = this.#installed.has(key);
        if (want === have) continue;
        const grant = d?.grant ?? grantFromKey(key);
        familyOf.set(key, grant.family);
        const l = lines.get(grant.family) ?? [];
        l.push(grantRule(this.chains, grant, want ? '-A' : '-D'));
        lines.set(grant.family, l);
        const c = changes.get(grant.family) ?? [];
        c.push({ key, add: want });
        changes.set(grant.family, c);
      }
      if (lines.size === 0) return;
      this.#batches++;
      const failed = new Map<IpFamily, unknown>();
      await Promise.all(
        [...lines].map(async ([family, l]) => {
          try {
            await this.#restore(family, ['*filter', ...l, 'COMMIT', ''].join('\n'));
            for (const { key, add } of changes.get(family) ?? []) {
              if (add) this.#installed.add(key);
              else this.#installed.delete(key);
            }
          } catch (err) {
            // Failed or killed (its effect unknown): rebuild the family from what we know.
            if (!(err instanceof SknockFirewallError) || err.code === 'ERR_SKNOCK_FIREWALL_UNAVAILABLE') {
              failed.set(family, err);
              return;
            }
            try {
              await this.#rebuild(family, setup);
            } catch {
              failed.set(family, err);
            }
          }
        }),
      );
      if (failed.size === 0) return;
      for (const [family, err] of failed) {
        for (const { key, add } of changes.get(family) ?? []) {
          if (add) {
            // Not in force: forget it, so list() stays true and a later knock tries again.
            const d = this.#desired.get(key);
            if (d) clearTimeout(d.timer);
            this.#desired.delete(key);
          } else {
            this.#scheduleRetry(key);
            this.#backgroundError(err);
          }
        }
      }
      return keys.map((key) => {
        const family = familyOf.get(key);
        return family === undefined ? undefined : failed.get(family);
      });
    } finally {
      this.#inFlight = new Set();
    }
  }

  /** Reinstalls one family's chains with every live grant (after a failed batch). */
  async #rebuild(family: IpFamily, setup: FirewallSetup): Promise<void> {
    const now = Date.now();
    const grants = this.#liveDesired(now).filter((g) => g.family === family);
    const current = await this.#save(family);
    await this.#restore(family, iptablesSetupScript(family, this.chains, setup, current.tables, grants));
    for (const key of [...this.#installed]) if (grantFromKey(key).family === family) this.#installed.delete(key);
    for (const g of grants) this.#installed.add(grantKey(g));
  }

  #scheduleRetry(key: string): void {
    this.#pendingRetries.add(key);
    if (this.#retryTimer) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      const retry = [...this.#pendingRetries];
      this.#pendingRetries.clear();
      for (const k of retry) this.#batcher.push(k).catch((err: unknown) => this.#backgroundError(err));
    }, REMOVE_RETRY_MS);
    this.#retryTimer.unref();
  }

  readonly #pendingRetries = new Set<string>();

  /**
   * iptables-nft makes a table when it first touches it. When our setup made the table and
   * teardown left it empty, delete it too, so teardown leaves the ruleset as it found it.
   * Only for the nf_tables variant (whose tables `nft` sees), never for a table that has
   * anything in it.
   */
  async #dropTablesWeCreated(family: IpFamily, saveText: string, tables: Map<string, SavedTable>): Promise<void> {
    const created = this.#familyState.get(family)?.createdTables;
    if (created === undefined || created.size === 0 || !isNftVariant(saveText)) return;
    for (const name of created) {
      if (!tables.has(name) || !isEmptyTable(withoutOurs(tables.get(name), this.chains))) continue;
      try {
        await runCommand(this.#commands.nft, ['delete', 'table', family === 4 ? 'ip' : 'ip6', name], { netns: this.netns, timeoutMs: this.#timeoutMs });
      } catch {
        // no nft program, or the table changed meanwhile: leaving an empty table is harmless
      }
    }
  }

  async #save(family: IpFamily): Promise<{ text: string; tables: Map<string, SavedTable> }> {
    const file = family === 4 ? this.#commands.iptablesSave : this.#commands.ip6tablesSave;
    const { stdout } = await runCommand(file, [], { netns: this.netns, timeoutMs: this.#timeoutMs });
    return { text: stdout, tables: parseIptablesSave(stdout) };
  }

  async #restore(family: IpFamily, script: string): Promise<void> {
    const file = family === 4 ? this.#commands.iptablesRestore : this.#commands.ip6tablesRestore;
    await runCommand(file, ['--noflush', '--wait', '10'], { input: script, netns: this.netns, timeoutMs: this.#timeoutMs });
  }
}

function grantFromKey(key: string): Grant {
  const [address = '', protocol = 'tcp', port = '0'] = key.split('|');
  return { address, family: address.includes(':') ? 6 : 4, protocol: protocol as 'tcp' | 'udp', port: Number(port) };
}
