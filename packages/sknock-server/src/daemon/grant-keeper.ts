import { EventEmitter } from 'node:events';
import {
  GRANT_SWEEP_INTERVAL_MS,
  GRANTS_HELD_MAX,
  OPEN_MAX_ATTEMPTS,
  OPEN_PENDING_MAX,
  OPEN_RETRY_BASE_MS,
} from '../constants.js';
import type { FirewallBackend, Grant } from '../firewall/backend.js';
import type { Logger } from '../logging/logger-type.js';
import type { GrantOpener } from '../pipeline/types.js';

/**
 * Step 9's other half: writes grants to the firewall and keeps track of every grant the
 * daemon has made until it expires.
 *
 * - One firewall write per grant at a time. A knock for a grant already being written marks
 *   it to be written again (extended) once the write in flight settles; the back end
 *   extends an open grant and never adds a second rule.
 * - A failed write is logged and retried (exponential back-off, `maxAttempts` in all); a
 *   grant that still fails is logged as lost (`lost` event).
 * - Bounded: at most `maxPending` grants wait for the firewall (beyond: `request` returns
 *   false, the pipeline rejects `overloaded`), at most `maxHeld` grants are tracked.
 *
 * Events: `open` (GrantEvent) once the firewall holds the grant; `close` (GrantEvent) when
 * its time runs out; `lost` (GrantEvent & { error }) when every attempt failed.
 */

export interface GrantEvent {
  readonly grant: Grant;
  readonly subject: string;
  readonly serial: string;
  /** ms since epoch. */
  readonly expiresAt: number;
}

export interface GrantKeeperOptions {
  readonly firewall: FirewallBackend;
  readonly logger: Logger;
  readonly now: () => number;
  readonly maxPending?: number;
  readonly maxAttempts?: number;
  readonly retryBaseMs?: number;
  readonly maxHeld?: number;
  readonly sweepIntervalMs?: number;
}

interface Pending {
  readonly key: string;
  grant: Grant;
  durationSeconds: number;
  subject: string;
  serial: string;
  attempts: number;
  inFlight: boolean;
  again: boolean;
  retryTimer?: NodeJS.Timeout;
}

export function grantKey(grant: Grant): string {
  return `${grant.family}|${grant.address}|${grant.protocol}|${grant.port}`;
}

export class GrantKeeper extends EventEmitter implements GrantOpener {
  readonly #firewall: FirewallBackend;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #maxPending: number;
  readonly #maxAttempts: number;
  readonly #retryBaseMs: number;
  readonly #maxHeld: number;
  readonly #pending = new Map<string, Pending>();
  readonly #held = new Map<string, GrantEvent>();
  readonly #idleWaiters: Array<() => void> = [];
  #sweepTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #opened = 0;
  #failedWrites = 0;
  #lost = 0;

  constructor(options: GrantKeeperOptions) {
    super();
    this.#firewall = options.firewall;
    this.#logger = options.logger;
    this.#now = options.now;
    this.#maxPending = options.maxPending ?? OPEN_PENDING_MAX;
    this.#maxAttempts = options.maxAttempts ?? OPEN_MAX_ATTEMPTS;
    this.#retryBaseMs = options.retryBaseMs ?? OPEN_RETRY_BASE_MS;
    this.#maxHeld = options.maxHeld ?? GRANTS_HELD_MAX;
    this.#sweepTimer = setInterval(() => this.sweep(), options.sweepIntervalMs ?? GRANT_SWEEP_INTERVAL_MS);
    this.#sweepTimer.unref();
  }

  request(grant: Grant, durationSeconds: number, meta: { readonly subject: string; readonly serial: string }): boolean {
    if (this.#stopped) return false;
    const key = grantKey(grant);
    const existing = this.#pending.get(key);
    if (existing !== undefined) {
      existing.durationSeconds = durationSeconds;
      existing.subject = meta.subject;
      existing.serial = meta.serial;
      if (existing.inFlight) existing.again = true;
      return true;
    }
    if (this.#pending.size >= this.#maxPending) return false;
    const entry: Pending = { key, grant, durationSeconds, subject: meta.subject, serial: meta.serial, attempts: 0, inFlight: false, again: false };
    this.#pending.set(key, entry);
    this.#write(entry);
    return true;
  }

  #write(entry: Pending): void {
    entry.retryTimer = undefined;
    if (this.#stopped) {
      this.#settle(entry);
      return;
    }
    entry.inFlight = true;
    entry.attempts += 1;
    const { grant, durationSeconds, subject, serial } = entry;
    const startedAt = this.#now();
    let promise: Promise<void>;
    try {
      promise = Promise.resolve(this.#firewall.open(grant, durationSeconds));
    } catch (err) {
      promise = Promise.reject(err);
    }
    promise.then(
      () => {
        entry.inFlight = false;
        this.#opened += 1;
        const expiresAt = startedAt + durationSeconds * 1000;
        this.#hold({ grant, subject, serial, expiresAt });
        if (entry.again && !this.#stopped) {
          entry.again = false;
          entry.attempts = 0;
          this.#write(entry);
        } else {
          this.#settle(entry);
        }
      },
      (err: unknown) => {
        entry.inFlight = false;
        this.#failedWrites += 1;
        const error = err instanceof Error ? err.message : String(err);
        if (entry.attempts < this.#maxAttempts && !this.#stopped) {
          const delay = this.#retryBaseMs * 2 ** (entry.attempts - 1);
          this.#logger.error({ grant, subject, serial, attempt: entry.attempts, retryInMs: delay, error }, 'firewall open failed; retrying');
          entry.again = false;
          entry.retryTimer = setTimeout(() => this.#write(entry), delay);
        } else {
          this.#lost += 1;
          this.#logger.error({ grant, subject, serial, attempts: entry.attempts, error }, 'firewall open failed; grant lost');
          this.emit('lost', { grant, subject, serial, expiresAt: startedAt + durationSeconds * 1000, error });
          this.#settle(entry);
        }
      },
    );
  }

  #settle(entry: Pending): void {
    if (entry.retryTimer !== undefined) clearTimeout(entry.retryTimer);
    this.#pending.delete(entry.key);
    if (this.#pending.size === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  #hold(event: GrantEvent): void {
    const key = grantKey(event.grant);
    const previous = this.#held.get(key);
    const held = previous !== undefined && previous.expiresAt > event.expiresAt ? { ...event, expiresAt: previous.expiresAt } : event;
    if (previous === undefined && this.#held.size >= this.#maxHeld) {
      this.sweep();
      if (this.#held.size >= this.#maxHeld) {
        // Forget the one tracked longest: the kernel still expires it on time.
        const oldest = this.#held.keys().next().value;
        if (oldest !== undefined) this.#held.delete(oldest);
      }
    }
    this.#held.set(key, held);
    this.emit('open', held);
  }

  /** Forgets grants whose time ran out, emitting `close` for each. */
  sweep(): void {
    const now = this.#now();
    for (const [key, held] of this.#held) {
      if (held.expiresAt <= now) {
        this.#held.delete(key);
        this.emit('close', held);
      }
    }
  }

  /** Grants made and not yet expired. */
  held(): GrantEvent[] {
    return [...this.#held.values()];
  }

  /** Resolves once no grant waits for the firewall, or after `timeoutMs`; true when idle. */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.#pending.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const i = this.#idleWaiters.indexOf(wake);
        if (i >= 0) this.#idleWaiters.splice(i, 1);
        resolve(false);
      }, timeoutMs);
      const wake = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#idleWaiters.push(wake);
    });
  }

  stats(): { pending: number; held: number; opened: number; failedWrites: number; lost: number } {
    return { pending: this.#pending.size, held: this.#held.size, opened: this.#opened, failedWrites: this.#failedWrites, lost: this.#lost };
  }

  /** Stops retries and the expiry sweep; grants already written stay until teardown. */
  stop(): void {
    this.#stopped = true;
    if (this.#sweepTimer !== undefined) clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
    for (const entry of [...this.#pending.values()]) if (!entry.inFlight) this.#settle(entry);
  }
}
