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
 * every live grant in one transaction. `check()` finds such damage without waiting for a
 * batch: one `iptables-save` per family, compared with the rules as set up (chains, their
 * rules, the grant rules, the jumps first in INPUT and PREROUTING).
 *
 * One instance per chain set: the jump to the grants chain carries the owner mark (owner.ts).
 * Setup refuses, changing nothing, while that owner runs, and takes over the chains of one that
 * has died; teardown leaves chains another instance has marked.
 */
import type { FirewallBackend, FirewallCheckResult, FirewallSetup, Grant } from './backend.js';
import { DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_IPTABLES_CHAIN, DEFAULT_MAX_BATCH } from './constants.js';
import { SknockFirewallError, isSknockFirewallError } from './errors.js';
import type { ListedGrant } from './grant-table.js';
import {
  grantRule,
  iptablesChains,
  iptablesSetupScript,
  iptablesTeardownScript,
  isEmptyTable,
  isNftVariant,
  ourRules,
  parseIptablesSave,
  rulesProblem,
  savedOwner,
  withoutOurs,
  type IpFamily,
  type IptablesChains,
  type OurRules,
  type SavedTable,
} from './iptables-rules.js';
import { claimInstance, formatOwnerMark, newInstanceId, ownMark, ownerState, parseOwnerMark, releaseInstance, type OwnerMark, type OwnerState } from './owner.js';
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
  /** Prefix of our chains (default `SKNOCK`: `SKNOCK`, `SKNOCK-GRANTS`, nat `SKNOCK-KNOCK`, mangle `SKNOCK-COPY`). */
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
  /** Our rules as iptables-save printed them right after setup (what `check()` compares with). */
  reference?: OurRules;
}

/** How often an install reads the chains and tries again when another instance changed them at the same moment. */
const INSTALL_ATTEMPTS = 3;

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
  /** This instance's id in the owner mark. */
  readonly #instance = newInstanceId();
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
      throw new SknockFirewallError('ERR_SKNOCK_INVALID_ARGUMENT', 'options.families must be a non-empty array of 4 and/or 6');
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
      const grants = this.#liveDesired(Date.now());
      // Every family is checked for a live owner before any is changed.
      const current = await Promise.all(this.families.map(async (family) => [family, await this.#save(family)] as const));
      for (const [, saved] of current) this.#refuseForeign(saved.tables, false);
      const done: IpFamily[] = [];
      const results = await Promise.allSettled(
        current.map(async ([family, saved]) => {
          const state = this.#familyState.get(family);
          if (state === undefined) this.#familyState.set(family, { createdTables: new Set(['filter', 'nat', 'mangle'].filter((t) => !saved.tables.has(t))) });
          else state.reference = undefined; // set up again: recorded anew
          await this.#installFamily(family, checked, grants, saved, false);
          done.push(family);
        }),
      );
      const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failure !== undefined) {
        // One family in, the other refused (another instance won it meanwhile): take ours out
        // again, so no chain is left marked by an instance that never came up.
        await Promise.all(done.map((family) => this.#removeOwn(family).catch(() => undefined)));
        throw failure.reason;
      }
      this.#installed.clear();
      for (const g of grants) if (this.families.includes(g.family)) this.#installed.add(grantKey(g));
      this.#setup = checked;
      claimInstance(this.#instance);
    });
  }

  /**
   * One `iptables-save` per family, compared with the rules as set up; a family that differs
   * is rebuilt with every live grant. Rejects with IN_USE (nothing touched) when another live
   * instance has marked the chains by now.
   */
  async check(): Promise<FirewallCheckResult> {
    return this.#batcher.exclusive(async () => {
      const setup = this.#setup;
      if (setup === undefined) {
        throw new SknockFirewallError('ERR_SKNOCK_FIREWALL_STATE', 'the iptables back end is not set up (call setup() first)');
      }
      const problems: string[] = [];
      let grants = 0;
      for (const family of this.families) {
        const saved = await this.#save(family);
        const problem = this.#problem(family, saved.tables);
        if (problem === undefined) continue;
        this.#refuseForeign(saved.tables, true);
        const live = this.#liveDesired(Date.now()).filter((g) => g.family === family);
        await this.#installFamily(family, setup, live, saved, true);
        this.#markInstalled(family, live);
        problems.push(`${family === 4 ? 'iptables' : 'ip6tables'}: ${problem}`);
        grants += live.length;
      }
      return problems.length === 0 ? { intact: true } : { intact: false, problem: problems.join('; '), grants };
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
      const wasSetUp = this.#setup !== undefined;
      this.#setup = undefined;
      for (const d of this.#desired.values()) clearTimeout(d.timer);
      this.#desired.clear();
      if (this.#retryTimer) clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
      releaseInstance(this.#instance);
      await Promise.all(
        this.families.map(async (family) => {
          const current = await this.#save(family);
          const owner = savedOwner(current.tables.get('filter'), this.chains);
          const mark = owner === undefined ? undefined : parseOwnerMark(owner);
          // Another instance's chains (or, for an instance never set up, chains it did not make): leave them.
          if (owner !== undefined ? mark?.instance !== this.#instance : !wasSetUp && current.tables.get('filter')?.chains.has(this.chains.main)) {
            const who = mark === undefined ? 'not made by this instance' : `owned by pid ${mark.pid}, knock port ${mark.knockPort}`;
            this.#onError?.(new SknockFirewallError('ERR_SKNOCK_FIREWALL_IN_USE', `teardown left chain ${this.chains.main} (IPv${family}) alone: it is ${who}`));
            return;
          }
          const script = iptablesTeardownScript(this.chains, current.tables);
          if (script !== '') await this.#restore(family, script);
          await this.#dropTablesWeCreated(family, current.text, current.tables);
        }),
      );
      this.#installed.clear();
      this.#familyState.clear();
    });
  }

  /** Removes one family's chains if they carry this instance's mark. */
  async #removeOwn(family: IpFamily): Promise<void> {
    const current = await this.#save(family);
    const owner = savedOwner(current.tables.get('filter'), this.chains);
    if (owner === undefined || parseOwnerMark(owner)?.instance !== this.#instance) return;
    const script = iptablesTeardownScript(this.chains, current.tables);
    if (script !== '') await this.#restore(family, script);
    await this.#dropTablesWeCreated(family, current.text, current.tables);
  }

  /** Throws IN_USE when the chains in `tables` carry the mark of another live instance. */
  #refuseForeign(tables: Map<string, SavedTable>, repairing: boolean): void {
    const owner = savedOwner(tables.get('filter'), this.chains);
    const mark = owner === undefined ? undefined : parseOwnerMark(owner);
    if (mark === undefined) return;
    const state = ownerState(mark, this.#instance);
    if (state === 'alive' || state === 'unknown') throw inUse(this.chains.main, mark, state, repairing);
  }

  /** What is wrong with one family's chains now (undefined: nothing). */
  #problem(family: IpFamily, tables: Map<string, SavedTable>): string | undefined {
    const reference = this.#familyState.get(family)?.reference;
    if (reference === undefined) return 'no record of the rules as set up';
    const grantLines = [...this.#installed].map(grantFromKey).filter((g) => g.family === family).map((g) => grantRule(this.chains, g, '-A'));
    return rulesProblem(ourRules(tables, this.chains), reference, grantLines, this.chains);
  }

  #markInstalled(family: IpFamily, grants: readonly Grant[]): void {
    for (const key of [...this.#installed]) if (grantFromKey(key).family === family) this.#installed.delete(key);
    for (const g of grants) this.#installed.add(grantKey(g));
  }

  /**
   * Installs one family's chains with `grants`, starting from `saved` (read just before). The
   * script's guard makes it fail when the chains changed hands meanwhile: then they are read
   * again and the decision made again. Records the rules as iptables-save prints them.
   */
  async #installFamily(family: IpFamily, setup: FirewallSetup, grants: readonly Grant[], saved: { tables: Map<string, SavedTable> }, repairing: boolean): Promise<void> {
    const owner = formatOwnerMark(ownMark(this.#instance, setup.knockPort));
    let current = saved.tables;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#restore(family, iptablesSetupScript(family, this.chains, setup, current, grants, owner));
        break;
      } catch (err) {
        if (attempt >= INSTALL_ATTEMPTS || !lostRace(err)) throw err;
        current = (await this.#save(family)).tables;
        this.#refuseForeign(current, repairing);
      }
    }
    const state = this.#familyState.get(family);
    if (state !== undefined && state.reference === undefined) {
      state.reference = ourRules((await this.#save(family)).tables, this.chains);
    }
  }

  #checkGrant(grant: Grant): Grant {
    const checked = normalizeGrant(grant);
    if (!this.families.includes(checked.family)) {
      throw new SknockFirewallError('ERR_SKNOCK_INVALID_ARGUMENT', `grant.address is IPv${checked.family}, which this back end does not manage (options.families)`);
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
            } catch (rebuildError) {
              // Another live instance owns the chains now: say so, not what the batch ran into.
              failed.set(family, isSknockFirewallError(rebuildError, 'ERR_SKNOCK_FIREWALL_IN_USE') ? rebuildError : err);
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
    const grants = this.#liveDesired(Date.now()).filter((g) => g.family === family);
    const saved = await this.#save(family);
    this.#refuseForeign(saved.tables, true);
    await this.#installFamily(family, setup, grants, saved, true);
    this.#markInstalled(family, grants);
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

/** The setup's guard failed: a chain appeared, or the owner rule seen was replaced, since it was read. */
function lostRace(err: unknown): boolean {
  return isSknockFirewallError(err, 'ERR_SKNOCK_FIREWALL_COMMAND') && /Chain already exists|File exists|does a matching rule exist|No chain\/target\/match by that name/.test(err.stderr ?? '');
}

function inUse(chain: string, mark: OwnerMark, state: OwnerState, repairing: boolean): SknockFirewallError {
  const where =
    state === 'unknown'
      ? `an sknock-server in another pid namespace (pid ${mark.pid} there, knock port ${mark.knockPort}), whose process cannot be looked up from here`
      : `another running sknock-server (pid ${mark.pid}, knock port ${mark.knockPort})`;
  const advice = repairing
    ? 'this instance no longer has its rules in force and leaves those chains alone'
    : `one daemon per network namespace: stop that one first (if its process is gone, remove the chains by hand: iptables -D INPUT -j ${chain}; iptables -F ${chain}; iptables -X ${chain}, and the same with ip6tables)`;
  return new SknockFirewallError('ERR_SKNOCK_FIREWALL_IN_USE', `iptables chain ${chain} belongs to ${where}; ${advice}`);
}

function grantFromKey(key: string): Grant {
  const [address = '', protocol = 'tcp', port = '0'] = key.split('|');
  return { address, family: address.includes(':') ? 6 : 4, protocol: protocol as 'tcp' | 'udp', port: Number(port) };
}
