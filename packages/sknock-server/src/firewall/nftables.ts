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
 */
import type { FirewallBackend, FirewallSetup, Grant } from './backend.js';
import { DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_MAX_BATCH, DEFAULT_NFT_TABLE } from './constants.js';
import { SknockFirewallError } from './errors.js';
import { GrantTable, type ListedGrant } from './grant-table.js';
import { NftSession } from './nft-session.js';
import { nftBatchScript, nftSetupScript, nftTeardownScript, type GrantChange, type TimedGrant } from './nftables-script.js';
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
   * `nft -f -` per batch until the next setup).
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
  #setup: FirewallSetup | undefined;
  #session: NftSession | undefined;
  #batches = 0;

  constructor(options: NftablesBackendOptions = {}) {
    const o = checkOptions(options, 'options');
    this.table = o['table'] === undefined ? DEFAULT_NFT_TABLE : checkName(o['table'], /^[A-Za-z][A-Za-z0-9_]{0,31}$/, 'options.table', 'a table name of letters, digits and _ (at most 32)');
    this.netns = checkNetnsName(o['netns']);
    this.#nft = o['nftCommand'] === undefined ? 'nft' : checkName(o['nftCommand'], /^[^\0\s]+$/, 'options.nftCommand', 'a program name or path');
    this.#timeoutMs = o['commandTimeoutMs'] === undefined ? DEFAULT_COMMAND_TIMEOUT_MS : checkPositiveInteger(o['commandTimeoutMs'], 'options.commandTimeoutMs');
    const maxBatch = o['maxBatch'] === undefined ? DEFAULT_MAX_BATCH : checkPositiveInteger(o['maxBatch'], 'options.maxBatch', 100_000);
    if (o['session'] !== undefined && typeof o['session'] !== 'boolean') {
      throw new SknockFirewallError('ERR_SKNOCK_FIREWALL_INVALID_ARGUMENT', 'options.session must be a boolean');
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
      await this.#run(nftSetupScript(this.table, checked, this.#timedGrants(Date.now())));
      this.#setup = checked;
      if (this.#useSession) await this.#startSession();
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
      await this.#run(nftTeardownScript(this.table));
      this.#setup = undefined;
      this.#grants.clear();
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
      const timed = [...merged.values()].map((e) => ({ grant: e.grant, timeoutMs: Math.max(1, e.expiresAt - now) }));
      try {
        await this.#run(nftSetupScript(this.table, setup, timed));
      } catch {
        throw err;
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
}
