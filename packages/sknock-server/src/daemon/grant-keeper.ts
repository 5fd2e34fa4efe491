import { EventEmitter } from 'node:events';
import {
  GRANT_HOLDERS_MAX,
  GRANT_SWEEP_INTERVAL_MS,
  GRANTS_HELD_MAX,
  OPEN_MAX_ATTEMPTS,
  OPEN_PENDING_MAX,
  OPEN_RETRY_BASE_MS,
} from '../constants.js';
import type { CertificateRef } from '../crl/certificate-ref.js';
import type { FirewallBackend, Grant } from '../firewall/backend.js';
import type { Logger } from '../logging/logger-type.js';
import type { GrantMeta, GrantOpener } from '../pipeline/types.js';

/**
 * Step 9's other half: writes grants to the firewall and keeps track of every grant the
 * daemon has made until it expires, or until a CRL revokes every certificate holding it.
 *
 * - One firewall write per grant at a time. A knock for a grant already being written marks
 *   it to be written again (extended) once the write in flight settles; the back end
 *   extends an open grant and never adds a second rule.
 * - A failed write is logged and retried (exponential back-off, `maxAttempts` in all); a
 *   grant that still fails is logged as lost (`lost` event).
 * - Bounded: at most `maxPending` grants wait for the firewall (beyond: `request` returns
 *   false, the pipeline rejects `overloaded`), at most `maxHeld` grants are tracked.
 * - Each grant keeps its holders: every certificate whose knock opened or extended it, with
 *   the issuer and serial of each link of its chain (`GrantMeta.chain`) and its own expiry.
 *   `closeRevoked()` (called when a CRL is taken) and every landed write check the holders
 *   against the CRLs in force (`revokedLink`): a revoked holder is dropped and logged; a
 *   grant left with no holder is closed in the firewall at once; one whose remaining holders
 *   had less time is closed and opened again for what they have left.
 *
 * Events: `open` (GrantEvent) once the firewall holds the grant; `close` (GrantCloseEvent)
 * when its time runs out (`reason: 'expired'`) or its holders were revoked (`'revoked'`);
 * `lost` (GrantEvent & { error }) when every attempt failed.
 */

export interface GrantEvent {
  readonly grant: Grant;
  /** The certificate that asked for it last. */
  readonly subject: string;
  readonly serial: string;
  /** Subject of the CA that issued that certificate. */
  readonly issuer: string;
  /** ms since epoch. */
  readonly expiresAt: number;
}

export interface GrantCloseEvent extends GrantEvent {
  /**
   * `expired`: its time ran out; `revoked`: a CRL revoked every certificate that held it;
   * `closed`: an operator closed it (`sknock-server grants close` / `flush`).
   */
  readonly reason: 'expired' | 'revoked' | 'closed';
}

/** Which grants `close()` closes: every grant of `address`, or only its `protocol`/`port`. */
export interface GrantMatch {
  readonly address: string;
  readonly protocol?: 'tcp' | 'udp';
  readonly port?: number;
}

export interface GrantKeeperOptions {
  readonly firewall: FirewallBackend;
  readonly logger: Logger;
  readonly now: () => number;
  /** The first link of a chain that a CRL in force revokes (`CrlManager.revokedLink`); without it nothing is closed early. */
  readonly revokedLink?: (chain: readonly CertificateRef[]) => CertificateRef | undefined;
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
  meta: GrantMeta;
  attempts: number;
  inFlight: boolean;
  again: boolean;
  retryTimer?: NodeJS.Timeout;
  /** An operator closed the grant while this write was in flight: close it again once it lands. */
  closeWhenLanded?: boolean;
}

interface Holder {
  readonly meta: GrantMeta;
  readonly expiresAt: number;
}

interface HeldGrant {
  readonly grant: Grant;
  /** What the firewall holds: the latest expiry any holder's write gave it. */
  expiresAt: number;
  /** The holder that asked last (the event's subject and serial). */
  latest: Holder;
  /** By certificate id. */
  readonly holders: Map<string, Holder>;
}

export function grantKey(grant: Grant): string {
  return `${grant.family}|${grant.address}|${grant.protocol}|${grant.port}`;
}

function eventOf(held: HeldGrant): GrantEvent {
  const { subject, serial, issuer } = held.latest.meta;
  return { grant: held.grant, subject, serial, issuer, expiresAt: held.expiresAt };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class GrantKeeper extends EventEmitter implements GrantOpener {
  readonly #firewall: FirewallBackend;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #revokedLink: GrantKeeperOptions['revokedLink'];
  readonly #maxPending: number;
  readonly #maxAttempts: number;
  readonly #retryBaseMs: number;
  readonly #maxHeld: number;
  readonly #pending = new Map<string, Pending>();
  readonly #held = new Map<string, HeldGrant>();
  readonly #idleWaiters: Array<() => void> = [];
  #sweepTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #opened = 0;
  #failedWrites = 0;
  #lost = 0;
  #revoked = 0;

  constructor(options: GrantKeeperOptions) {
    super();
    this.#firewall = options.firewall;
    this.#logger = options.logger;
    this.#now = options.now;
    this.#revokedLink = options.revokedLink;
    this.#maxPending = options.maxPending ?? OPEN_PENDING_MAX;
    this.#maxAttempts = options.maxAttempts ?? OPEN_MAX_ATTEMPTS;
    this.#retryBaseMs = options.retryBaseMs ?? OPEN_RETRY_BASE_MS;
    this.#maxHeld = options.maxHeld ?? GRANTS_HELD_MAX;
    this.#sweepTimer = setInterval(() => this.sweep(), options.sweepIntervalMs ?? GRANT_SWEEP_INTERVAL_MS);
    this.#sweepTimer.unref();
  }

  request(grant: Grant, durationSeconds: number, meta: GrantMeta): boolean {
    if (this.#stopped) return false;
    const key = grantKey(grant);
    const existing = this.#pending.get(key);
    if (existing !== undefined) {
      existing.durationSeconds = durationSeconds;
      existing.meta = meta;
      if (existing.inFlight) existing.again = true;
      return true;
    }
    if (this.#pending.size >= this.#maxPending) return false;
    const entry: Pending = { key, grant, durationSeconds, meta, attempts: 0, inFlight: false, again: false };
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
    const { grant, durationSeconds, meta } = entry;
    const { subject, serial, issuer } = meta;
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
        if (entry.closeWhenLanded === true) {
          this.#closeInFirewall(grant, 1);
          this.#settle(entry);
          return;
        }
        this.#hold(grant, { meta, expiresAt: startedAt + durationSeconds * 1000 });
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
        const error = errorMessage(err);
        if (entry.attempts < this.#maxAttempts && !this.#stopped) {
          const delay = this.#retryBaseMs * 2 ** (entry.attempts - 1);
          this.#logger.error({ grant, subject, serial, attempt: entry.attempts, retryInMs: delay, error }, 'firewall open failed; retrying');
          entry.again = false;
          entry.retryTimer = setTimeout(() => this.#write(entry), delay);
        } else {
          this.#lost += 1;
          this.#logger.error({ grant, subject, serial, attempts: entry.attempts, error }, 'firewall open failed; grant lost');
          this.emit('lost', { grant, subject, serial, issuer, expiresAt: startedAt + durationSeconds * 1000, error });
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

  #hold(grant: Grant, holder: Holder): void {
    const key = grantKey(grant);
    let held = this.#held.get(key);
    if (held === undefined) {
      if (this.#held.size >= this.#maxHeld) {
        this.sweep();
        if (this.#held.size >= this.#maxHeld) {
          // Forget the one tracked longest: the kernel still expires it on time.
          const oldest = this.#held.keys().next().value;
          if (oldest !== undefined) this.#held.delete(oldest);
        }
      }
      held = { grant, expiresAt: holder.expiresAt, latest: holder, holders: new Map() };
      this.#held.set(key, held);
    }
    held.expiresAt = Math.max(held.expiresAt, holder.expiresAt);
    held.latest = holder;
    const id = holder.meta.certificateId;
    const previous = held.holders.get(id);
    held.holders.delete(id); // re-inserted last: the map is in the order certificates last knocked
    held.holders.set(id, previous !== undefined && previous.expiresAt > holder.expiresAt ? { ...holder, expiresAt: previous.expiresAt } : holder);
    if (held.holders.size > GRANT_HOLDERS_MAX) {
      const now = this.#now();
      for (const [other, h] of held.holders) if (h.expiresAt <= now) held.holders.delete(other);
      for (const other of held.holders.keys()) {
        if (held.holders.size <= GRANT_HOLDERS_MAX) break;
        held.holders.delete(other);
      }
    }
    this.emit('open', eventOf(held));
    // A knock verified before the CRL that revokes it was taken, whose write has just landed.
    if (this.#revokedLink?.(holder.meta.chain) !== undefined) this.#dropRevokedHolders(key, held);
  }

  /**
   * Checks every grant held (and every write waiting for a retry) against the CRLs in force:
   * call it when a CRL is taken. Returns how many grants it closed or cut short; the firewall
   * writes follow.
   */
  closeRevoked(): number {
    if (this.#stopped || this.#revokedLink === undefined) return 0;
    let changed = 0;
    for (const [key, held] of [...this.#held]) if (this.#dropRevokedHolders(key, held)) changed++;
    for (const entry of [...this.#pending.values()]) {
      if (!entry.inFlight && entry.retryTimer !== undefined && this.#revokedLink(entry.meta.chain) !== undefined) {
        this.#logger.warn({ event: 'close', reason: 'revoked', grant: entry.grant, subject: entry.meta.subject, serial: entry.meta.serial, issuer: entry.meta.issuer }, 'firewall open of a revoked certificate given up');
        this.#settle(entry);
      }
    }
    return changed;
  }

  /** Drops the revoked holders of one grant; closes it, or cuts it to what the others have left. True when it did something. */
  #dropRevokedHolders(key: string, held: HeldGrant): boolean {
    const revokedLink = this.#revokedLink;
    if (revokedLink === undefined || this.#stopped) return false;
    const now = this.#now();
    const dropped: Array<{ holder: Holder; link: CertificateRef }> = [];
    for (const [id, holder] of held.holders) {
      if (holder.expiresAt <= now) {
        held.holders.delete(id);
        continue;
      }
      const link = revokedLink(holder.meta.chain);
      if (link !== undefined) {
        held.holders.delete(id);
        dropped.push({ holder, link });
      }
    }
    if (dropped.length === 0) return false;
    const { grant } = held;
    let rest: Holder | undefined;
    for (const holder of held.holders.values()) if (rest === undefined || holder.expiresAt > rest.expiresAt) rest = holder;
    for (const { holder, link } of dropped) {
      const { subject, serial, issuer } = holder.meta;
      const throughCa = link !== holder.meta.chain[0];
      this.#logger.warn(
        {
          event: 'close',
          reason: 'revoked',
          grant,
          subject,
          serial,
          issuer,
          ...(throughCa ? { revokedCa: link.subject, revokedCaSerial: link.serial, revokedCaIssuer: link.issuer } : {}),
          expiresAt: new Date(holder.expiresAt).toISOString(),
          keptFor: rest === undefined ? undefined : rest.meta.subject,
        },
        rest === undefined
          ? `grant closed at once: ${throughCa ? `issuing CA '${link.subject}' of its certificate is` : 'its certificate is'} revoked`
          : `revoked certificate dropped from a grant another certificate still holds: ${throughCa ? `issuing CA '${link.subject}'` : 'the certificate'} is revoked`,
      );
    }
    if (rest === undefined) {
      this.#held.delete(key);
      this.#revoked += 1;
      this.#closeInFirewall(grant, 1);
      this.emit('close', { ...eventOf(held), reason: 'revoked' } satisfies GrantCloseEvent);
      return true;
    }
    held.latest = rest;
    if (rest.expiresAt < held.expiresAt - 1000) {
      // The revoked holder had extended it past what the others are owed: close, open again for their time.
      held.expiresAt = rest.expiresAt;
      this.#closeInFirewall(grant, 1);
      this.#reopen(grant, Math.max(1, Math.ceil((rest.expiresAt - now) / 1000)), rest.meta);
    }
    return true;
  }

  /** Closes a grant early, retrying like an open; a grant that cannot be closed stays until the kernel expires it. */
  #closeInFirewall(grant: Grant, attempt: number): void {
    if (this.#stopped) return;
    let promise: Promise<void>;
    try {
      promise = Promise.resolve(this.#firewall.close(grant));
    } catch (err) {
      promise = Promise.reject(err);
    }
    promise.catch((err: unknown) => {
      this.#failedWrites += 1;
      const error = errorMessage(err);
      if (attempt < this.#maxAttempts && !this.#stopped) {
        const delay = this.#retryBaseMs * 2 ** (attempt - 1);
        this.#logger.error({ grant, attempt, retryInMs: delay, error }, 'firewall close of a grant failed; retrying');
        setTimeout(() => this.#closeInFirewall(grant, attempt + 1), delay).unref();
      } else {
        this.#logger.error({ grant, attempts: attempt, error }, 'firewall close of a grant failed; it stays open until it expires');
      }
    });
  }

  /**
   * Opens `grant` again after an early close. A write already on its way for it is made to
   * run once more (for the remaining holder, if the one it carries is revoked); it lands after
   * the close, since the back end applies writes in order.
   */
  #reopen(grant: Grant, durationSeconds: number, meta: GrantMeta): void {
    const key = grantKey(grant);
    const existing = this.#pending.get(key);
    if (existing === undefined) {
      const entry: Pending = { key, grant, durationSeconds, meta, attempts: 0, inFlight: false, again: false };
      this.#pending.set(key, entry);
      this.#write(entry);
      return;
    }
    if (this.#revokedLink?.(existing.meta.chain) !== undefined) {
      existing.meta = meta;
      existing.durationSeconds = durationSeconds;
    }
    existing.again = true;
  }

  /** Forgets grants whose time ran out, emitting `close` for each. */
  sweep(): void {
    const now = this.#now();
    for (const [key, held] of this.#held) {
      if (held.expiresAt <= now) {
        this.#held.delete(key);
        this.emit('close', { ...eventOf(held), reason: 'expired' } satisfies GrantCloseEvent);
      }
    }
  }

  /** Grants made and not yet expired. */
  held(): GrantEvent[] {
    return [...this.#held.values()].map(eventOf);
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

  stats(): { pending: number; held: number; opened: number; failedWrites: number; lost: number; revoked: number } {
    return { pending: this.#pending.size, held: this.#held.size, opened: this.#opened, failedWrites: this.#failedWrites, lost: this.#lost, revoked: this.#revoked };
  }

  /**
   * Closes, at once, the grants an operator names (`sknock-server grants close`): every grant
   * held for `match.address`, or only the one for `match.protocol`/`match.port`. Writes
   * waiting for a retry are given up; one in flight is closed once it lands. Resolves with the
   * grants closed once the firewall has taken the closes (a close that fails is retried and
   * logged, as for a revoked grant).
   */
  async close(match: GrantMatch): Promise<GrantEvent[]> {
    const matches = (g: Grant): boolean =>
      g.address === match.address && (match.protocol === undefined || g.protocol === match.protocol) && (match.port === undefined || g.port === match.port);
    return this.#closeWhere(matches, undefined);
  }

  /**
   * Closes every grant (`sknock-server grants flush`): those held and any other the back end
   * lists (`firewall.list()`), so that nothing opened by this daemon stays open.
   */
  async flush(): Promise<GrantEvent[]> {
    return this.#closeWhere(() => true, await this.#firewall.list().catch(() => []));
  }

  async #closeWhere(matches: (g: Grant) => boolean, listed: ReadonlyArray<Grant & { readonly expiresAt: number }> | undefined): Promise<GrantEvent[]> {
    if (this.#stopped) return [];
    const closed: GrantEvent[] = [];
    const writes: Promise<void>[] = [];
    const closeOne = (grant: Grant): void => {
      writes.push(
        Promise.resolve()
          .then(() => this.#firewall.close(grant))
          .catch((err: unknown) => {
            this.#failedWrites += 1;
            this.#logger.error({ grant, error: errorMessage(err) }, 'firewall close of a grant failed; retrying');
            setTimeout(() => this.#closeInFirewall(grant, 2), this.#retryBaseMs).unref();
          }),
      );
    };
    for (const entry of [...this.#pending.values()]) {
      if (!matches(entry.grant)) continue;
      if (entry.inFlight) {
        entry.closeWhenLanded = true;
        entry.again = false;
      } else {
        this.#settle(entry);
      }
    }
    const seen = new Set<string>();
    for (const [key, held] of [...this.#held]) {
      if (!matches(held.grant)) continue;
      this.#held.delete(key);
      seen.add(key);
      const event = eventOf(held);
      closed.push(event);
      closeOne(held.grant);
      this.#logger.info({ event: 'close', reason: 'closed', grant: held.grant, subject: event.subject, serial: event.serial }, 'grant closed by an operator');
      this.emit('close', { ...event, reason: 'closed' } satisfies GrantCloseEvent);
    }
    for (const g of listed ?? []) {
      const grant: Grant = { address: g.address, family: g.family, protocol: g.protocol, port: g.port };
      if (seen.has(grantKey(grant)) || !matches(grant)) continue;
      closed.push({ grant, subject: '', serial: '', issuer: '', expiresAt: g.expiresAt });
      closeOne(grant);
      this.#logger.info({ event: 'close', reason: 'closed', grant }, 'grant closed by an operator (one the daemon no longer tracked)');
    }
    await Promise.all(writes);
    return closed;
  }

  /** Stops retries and the expiry sweep; grants already written stay until teardown. */
  stop(): void {
    this.#stopped = true;
    if (this.#sweepTimer !== undefined) clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
    for (const entry of [...this.#pending.values()]) if (!entry.inFlight) this.#settle(entry);
  }
}
