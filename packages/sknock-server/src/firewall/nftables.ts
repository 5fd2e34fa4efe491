/**
 * The nftables back end. Grants are elements of two sets with `flags timeout`, so the
 * kernel closes a port when its time is up even if the daemon has died. Updates are queued
 * and applied in batches (see SerialBatcher): every grant that arrives while a batch runs
 * joins the next one, and each batch is one nft transaction.
 *
 * Batches go through one long-lived `nft -i` process (nft-session.ts): a one-grant batch is in
 * the kernel in ~0.5 ms, where starting `nft -f -` for it costs 15–30 ms and ~0.5 ms of the
 * daemon's main thread. Setup, teardown and repairs, which are rare, still run `nft -f -` and
 * get an exit status. With `session: false` every batch is its own `nft -f -` process.
 *
 * Every batch is one transaction. If it fails (for example because someone ran
 * `nft flush ruleset` and the table is gone, or the session process died or hung), the back
 * end rebuilds its whole table with all grants it knows of in one transaction (`nft -f -`),
 * then counts the batch as done; only if that fails too are the batch's callers rejected.
 * `check()` finds such damage without waiting for a batch: it lists the ruleset through the
 * session (`nft -t -a list ruleset`: handles, no set elements) and compares its tables with
 * the listing made right after they were put in place; any difference (a table gone, a rule
 * flushed, replaced or added) makes the same rebuild.
 *
 * One instance per table: the table's comment names its owner (owner.ts). Setup refuses,
 * changing nothing, while that owner runs, and replaces the table of one that has died;
 * teardown removes the table only while it is still this instance's.
 */
import type { FirewallBackend, FirewallCheckResult, FirewallSetup, Grant } from './backend.js';
import { DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_MAX_BATCH, DEFAULT_NFT_TABLE } from './constants.js';
import { SknockFirewallError, isSknockFirewallError } from './errors.js';
import { GrantTable, type ListedGrant } from './grant-table.js';
import { NftSession } from './nft-session.js';
import {
  nftBatchScript,
  nftSetupScript,
  nftTeardownScript,
  ownTables,
  parseTableListing,
  tableBlock,
  type GrantChange,
  type ListedTable,
  type TableExpectation,
  type TimedGrant,
} from './nftables-script.js';
import { claimInstance, formatOwnerMark, newInstanceId, ownMark, ownerState, parseOwnerMark, releaseInstance, type OwnerMark, type OwnerState } from './owner.js';
import { runCommand } from './run-command.js';
import { SerialBatcher } from './serial-batcher.js';
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

export interface NftablesBackendOptions {
  /** Name of the `inet` table the daemon owns (default `sknock`). */
  readonly table?: string;
  /** Run every `nft` inside this named network namespace (`ip netns exec NAME nft …`). */
  readonly netns?: string;
  /** The nft program (default `nft`, found on PATH). */
  readonly nftCommand?: string;
  /** Kill an `nft` process after this many ms (default 10,000). */
  readonly commandTimeoutMs?: number;
  /** Most grant updates per batch, i.e. per nft transaction (default 4,096). */
  readonly maxBatch?: number;
  /**
   * Apply batches through one long-lived `nft -i` process (default true); false: one
   * `nft -f -` process per batch.
   */
  readonly session?: boolean;
  /**
   * Receives errors nobody awaits: the `nft -i` session ended by itself between batches (the
   * next batch starts another), or could not start at setup (the back end then runs one
   * `nft -f -` per batch until the next setup); and IN_USE when teardown found the table owned
   * by another instance and left it alone.
   */
  readonly onError?: (err: SknockFirewallError) => void;
}

type NftOp =
  | { readonly kind: 'refresh'; readonly grant: Grant; readonly durationMs: number }
  | { readonly kind: 'remove'; readonly grant: Grant };

export class NftablesBackend implements FirewallBackend {
  readonly name = 'nftables';
  readonly table: string;
  readonly netns: string | undefined;
  readonly #nft: string;
  readonly #timeoutMs: number;
  readonly #useSession: boolean;
  readonly #onError: ((err: SknockFirewallError) => void) | undefined;
  readonly #grants = new GrantTable();
  readonly #batcher: SerialBatcher<NftOp>;
  /** This instance's id in the owner mark. */
  readonly #instance = newInstanceId();
  #setup: FirewallSetup | undefined;
  #session: NftSession | undefined;
  #batches = 0;
  /** The tables as listed right after this instance put them in place (what `check()` compares with). */
  #reference: string | undefined;

  constructor(options: NftablesBackendOptions = {}) {
    const o = checkOptions(options, 'options');
    this.table = o['table'] === undefined ? DEFAULT_NFT_TABLE : checkName(o['table'], /^[A-Za-z][A-Za-z0-9_]{0,31}$/, 'options.table', 'a table name of letters, digits and _ (at most 32)');
    this.netns = checkNetnsName(o['netns']);
    this.#nft = o['nftCommand'] === undefined ? 'nft' : checkName(o['nftCommand'], /^[^\0\s]+$/, 'options.nftCommand', 'a program name or path');
    this.#timeoutMs = o['commandTimeoutMs'] === undefined ? DEFAULT_COMMAND_TIMEOUT_MS : checkPositiveInteger(o['commandTimeoutMs'], 'options.commandTimeoutMs');
    const maxBatch = o['maxBatch'] === undefined ? DEFAULT_MAX_BATCH : checkPositiveInteger(o['maxBatch'], 'options.maxBatch', 100_000);
    if (o['session'] !== undefined && typeof o['session'] !== 'boolean') {
      throw new SknockFirewallError('ERR_SKNOCK_INVALID_ARGUMENT', 'options.session must be a boolean');
    }
    this.#useSession = o['session'] !== false;
    this.#onError = checkOptionalFunction<(err: SknockFirewallError) => void>(o['onError'], 'options.onError');
    this.#batcher = new SerialBatcher<NftOp>((ops) => this.#apply(ops), maxBatch);
  }

  /** How many batches (nft transactions) grant updates have cost so far (for benchmarks and tests). */
  get batches(): number {
    return this.#batches;
  }

  /** Whether batches go through a long-lived `nft -i` session now (false: `nft -f -` per batch). */
  get sessionActive(): boolean {
    return this.#session !== undefined;
  }

  async setup(setup: FirewallSetup): Promise<void> {
    const checked = normalizeSetup(setup);
    await this.#batcher.exclusive(async () => {
      await this.#install(checked, () => this.#timedGrants(Date.now()), false);
      this.#setup = checked;
      if (this.#useSession) await this.#startSession();
      this.#reference = await this.#listing(checked);
    });
  }

  /**
   * Lists the tables and compares them with how they were put in place; rebuilds them with
   * every live grant when anything differs. One `list ruleset` through the session (its own
   * process without one).
   */
  async check(): Promise<FirewallCheckResult> {
    return this.#batcher.exclusive(async () => {
      const setup = this.#setup;
      if (setup === undefined) {
        throw new SknockFirewallError('ERR_SKNOCK_FIREWALL_STATE', 'the nftables back end is not set up (call setup() first)');
      }
      const now = await this.#listing(setup);
      if (now === this.#reference) return { intact: true };
      const problem = describeDifference(this.table, this.#reference ?? '', now);
      const grants = this.#timedGrants(Date.now());
      await this.#install(setup, () => this.#timedGrants(Date.now()), true);
      this.#reference = await this.#listing(setup);
      return { intact: false, problem, grants: grants.length };
    });
  }

  async open(grant: Grant, durationSeconds: number): Promise<void> {
    const checked = normalizeGrant(grant);
    const ms = durationMs(durationSeconds);
    this.#requireSetup();
    await this.#batcher.push({ kind: 'refresh', grant: checked, durationMs: ms });
  }

  async close(grant: Grant): Promise<void> {
    const checked = normalizeGrant(grant);
    this.#requireSetup();
    await this.#batcher.push({ kind: 'remove', grant: checked });
  }

  async list(): Promise<ReadonlyArray<ListedGrant>> {
    return this.#grants.list();
  }

  async teardown(): Promise<void> {
    await this.#batcher.exclusive(async () => {
      await this.#closeSession();
      this.#setup = undefined;
      this.#reference = undefined;
      this.#grants.clear();
      releaseInstance(this.#instance);
      const current = await this.#readTable();
      const mark = current?.comment === undefined ? undefined : parseOwnerMark(current.comment);
      if (current !== undefined && mark?.instance !== this.#instance) {
        // Not ours (any more): another instance's, or one this instance never made. Leave it.
        const owner = mark === undefined ? 'without an owner mark (an older version\'s, or not an sknock-server\'s)' : `owned by pid ${mark.pid}, knock port ${mark.knockPort}`;
        this.#onError?.(new SknockFirewallError('ERR_SKNOCK_FIREWALL_IN_USE', `teardown left table inet ${this.table} alone: it is ${owner}`));
        return;
      }
      await this.#run(nftTeardownScript(this.table, current?.handle));
    });
  }

  #requireSetup(): void {
    if (this.#setup === undefined) {
      throw new SknockFirewallError('ERR_SKNOCK_FIREWALL_STATE', 'the nftables back end is not set up (call setup() first)');
    }
  }

  /** Starts the `nft -i` session (once) and waits for its first answer; on failure, a process per batch. */
  async #startSession(): Promise<void> {
    const session =
      this.#session ??
      new NftSession({
        nft: this.#nft,
        // Terse (no set elements) and with handles: what check() lists. Batches print nothing either way.
        flags: ['-t', '-a'],
        netns: this.netns,
        timeoutMs: this.#timeoutMs,
        onExit: (err) => this.#onError?.(err),
      });
    this.#session = session;
    try {
      await session.start();
    } catch (err) {
      this.#session = undefined;
      await session.close().catch(() => undefined);
      const error =
        err instanceof SknockFirewallError
          ? new SknockFirewallError(err.code, `nft -i session could not start, using nft -f - per batch: ${err.message}`, {
              command: err.command,
              stderr: err.stderr,
              exitCode: err.exitCode,
              cause: err,
            })
          : new SknockFirewallError('ERR_SKNOCK_FIREWALL_COMMAND', `nft -i session could not start, using nft -f - per batch: ${String(err)}`, { cause: err });
      this.#onError?.(error);
    }
  }

  async #closeSession(): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    await session?.close();
  }

  #timedGrants(now: number): TimedGrant[] {
    return this.#grants.live(now).map((e) => ({ grant: e.grant, timeoutMs: Math.max(1, e.expiresAt - now) }));
  }

  async #apply(ops: NftOp[]): Promise<void> {
    const setup = this.#setup;
    if (setup === undefined) {
      throw new SknockFirewallError('ERR_SKNOCK_FIREWALL_STATE', 'the nftables back end was torn down before this grant was applied');
    }
    const now = Date.now();
    // Work out the outcome on a copy first; it becomes the truth only when the kernel took it.
    // Per grant its final state in this batch: open until `expiresAt`, or closed (undefined).
    const changes = new Map<string, { grant: Grant; expiresAt: number | undefined }>();
    for (const op of ops) {
      const key = grantKey(op.grant);
      if (op.kind === 'refresh') {
        const before = changes.has(key) ? changes.get(key) : this.#grants.get(key, now);
        // Re-opening extends, never shortens: expiry = max(current expiry, now + duration).
        const expiresAt = Math.max(before?.expiresAt ?? 0, now + op.durationMs);
        changes.set(key, { grant: op.grant, expiresAt });
      } else {
        changes.set(key, { grant: op.grant, expiresAt: undefined });
      }
    }
    const script = nftBatchScript(
      this.table,
      [...changes.values()].map(({ grant, expiresAt }): GrantChange => (expiresAt === undefined ? { grant } : { grant, timeoutMs: expiresAt - now })),
    );
    try {
      this.#batches++;
      await this.#runBatch(script);
    } catch (err) {
      // A failed or killed nft (table deleted by someone, or hung): rebuild the table with
      // everything we know, this batch included, in one transaction. A missing nft: give up.
      if (!(err instanceof SknockFirewallError) || err.code === 'ERR_SKNOCK_FIREWALL_UNAVAILABLE') throw err;
      const merged = new Map(this.#grants.live(now).map((e) => [grantKey(e.grant), e] as const));
      for (const [key, { grant, expiresAt }] of changes) {
        if (expiresAt === undefined) merged.delete(key);
        else merged.set(key, { grant, expiresAt });
      }
      const timed = (): TimedGrant[] => {
        const at = Date.now();
        return [...merged.values()].map((e) => ({ grant: e.grant, timeoutMs: Math.max(1, e.expiresAt - at) }));
      };
      try {
        await this.#install(setup, timed, true);
        this.#reference = await this.#listing(setup);
      } catch (rebuildError) {
        // Another live instance owns the table now: say so, not what the batch ran into.
        throw isSknockFirewallError(rebuildError, 'ERR_SKNOCK_FIREWALL_IN_USE') ? rebuildError : err;
      }
    }
    for (const [key, { grant, expiresAt }] of changes) {
      if (expiresAt === undefined) this.#grants.delete(key);
      else this.#grants.set(grant, expiresAt);
    }
  }

  /** One batch: through the session when there is one, else its own `nft -f -`. */
  async #runBatch(script: string): Promise<void> {
    if (this.#session !== undefined) await this.#session.run(script);
    else await this.#run(script);
  }

  /** One `nft -f -` process (setup, teardown, repairs, and batches without a session). */
  async #run(script: string): Promise<void> {
    await runCommand(this.#nft, ['-f', '-'], { input: script, netns: this.netns, timeoutMs: this.#timeoutMs });
  }

  /**
   * Puts the tables in place with `grants()` written back, unless another live instance owns
   * the inet table (IN_USE, nothing changed). The script's first command makes it fail if the
   * table changed hands after it was read (another instance starting at the same moment):
   * then it is read again and the decision made again.
   */
  async #install(setup: FirewallSetup, grants: () => TimedGrant[], repairing: boolean): Promise<void> {
    const owner = formatOwnerMark(ownMark(this.#instance, setup.knockPort));
    for (let attempt = 1; ; attempt++) {
      const current = await this.#readTable();
      let expect: TableExpectation = { absent: true };
      if (current !== undefined) {
        const mark = current.comment === undefined ? undefined : parseOwnerMark(current.comment);
        if (mark !== undefined) {
          const state = ownerState(mark, this.#instance);
          if (state === 'alive' || state === 'unknown') throw inUse(this.table, mark, state, repairing);
        }
        expect = { handle: current.handle };
      }
      try {
        await this.#run(nftSetupScript(this.table, setup, owner, expect, grants()));
        claimInstance(this.#instance);
        return;
      } catch (err) {
        if (attempt < INSTALL_ATTEMPTS && lostRace(err)) continue;
        throw err;
      }
    }
  }

  /** The inet table's handle and comment (undefined: there is no such table). */
  async #readTable(): Promise<ListedTable | undefined> {
    const block = tableBlock(await this.#ruleset(false), 'inet', this.table);
    return block === undefined ? undefined : parseTableListing(block);
  }

  /** Our tables as `nft -t -a list ruleset` shows them, one after the other (a line for each that is missing). */
  async #listing(setup: FirewallSetup): Promise<string> {
    return ownTables(await this.#ruleset(true), this.table, setup);
  }

  /**
   * `list ruleset` with `-t -a`: through the session when `viaSession` and there is one, else
   * its own process. Without set elements, so its cost does not grow with the grants.
   */
  async #ruleset(viaSession: boolean): Promise<string> {
    if (viaSession && this.#session !== undefined) return this.#session.list('list ruleset');
    return (await runCommand(this.#nft, ['-t', '-a', 'list', 'ruleset'], { netns: this.netns, timeoutMs: this.#timeoutMs })).stdout;
  }
}

/** How often setup reads the table and tries again when another instance changed it at the same moment. */
const INSTALL_ATTEMPTS = 3;

/** The setup's guard failed: a table appeared, or the one seen was replaced, since it was read. */
function lostRace(err: unknown): boolean {
  return isSknockFirewallError(err, 'ERR_SKNOCK_FIREWALL_COMMAND') && /File exists|No such file or directory/.test(err.stderr ?? '');
}

function inUse(table: string, mark: OwnerMark, state: OwnerState, repairing: boolean): SknockFirewallError {
  const where =
    state === 'unknown'
      ? `an sknock-server in another pid namespace (pid ${mark.pid} there, knock port ${mark.knockPort}), whose process cannot be looked up from here`
      : `another running sknock-server (pid ${mark.pid}, knock port ${mark.knockPort})`;
  const advice = repairing
    ? 'this instance no longer has its rules in force and leaves that table alone'
    : `one daemon per network namespace: stop that one first (if its process is gone, remove the table by hand: nft delete table inet ${table})`;
  return new SknockFirewallError('ERR_SKNOCK_FIREWALL_IN_USE', `table inet ${table} belongs to ${where}; ${advice}`);
}

/** What changed between two listings, in a few words. */
function describeDifference(table: string, before: string, now: string): string {
  const missing = [...now.matchAll(/^\((table \S+ \S+) is missing\)$/gm)].map((m) => m[1]);
  if (missing.length > 0) return `${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} missing`;
  const handle = (text: string): string | undefined => /^table inet \S+ \{ # handle (\d+)/.exec(text)?.[1];
  if (handle(before) !== handle(now)) return `table inet ${table} was replaced`;
  return `the rules of table ${table} were changed`;
}
