import { GRANT_MEMORY_MAX_ENTRIES } from './constants.js';

/**
 * What one knocker knows about the grants it made and the round trips it saw, per target
 * (host, family, port, source address): when it last knocked, and what it learned about
 * how long a grant lasts. The server never answers a knock, so the duration is either the
 * caller's (`grantSeconds`) or learned from what connections saw: a connection that
 * succeeded t after the last knock shows the grant lasts at least t; an attempt that found
 * the port closed t after it, at most t. Bounded: the oldest targets are forgotten first.
 * Wall-clock times (`Date.now()`), as grants are.
 */

export type GrantState = 'open' | 'closed' | 'unknown';

interface Entry {
  knockedAt: number | undefined;
  /** Longest time after a knock at which a connection succeeded, ms. */
  atLeast: number;
  /** Shortest time after a knock at which the port was found closed, ms. */
  atMost: number | undefined;
}

export class GrantMemory {
  readonly #entries = new Map<string, Entry>();
  readonly #rtt = new Map<string, number>();

  #entry(key: string): Entry {
    let entry = this.#entries.get(key);
    if (entry === undefined) entry = { knockedAt: undefined, atLeast: 0, atMost: undefined };
    else this.#entries.delete(key);
    this.#entries.set(key, entry); // most recently used last
    trim(this.#entries);
    return entry;
  }

  /** A knock for `key` went out at `now`. */
  knocked(key: string, now: number): void {
    this.#entry(key).knockedAt = now;
  }

  /** A connection to `key` succeeded at `now`. */
  opened(key: string, now: number): void {
    const entry = this.#entry(key);
    if (entry.knockedAt === undefined) return;
    const t = now - entry.knockedAt;
    // A success past the learned end means another knock (another process) opened it: the bound is stale.
    if (entry.atMost !== undefined && t >= entry.atMost) entry.atMost = undefined;
    entry.atLeast = Math.max(entry.atLeast, t);
  }

  /** A connection to `key` found the port closed (refused, or no answer in time) at `now`, before any knock of its own. */
  closed(key: string, now: number): void {
    const entry = this.#entry(key);
    if (entry.knockedAt === undefined) return;
    const t = now - entry.knockedAt;
    if (t <= entry.atLeast) return; // contradicts what was seen open: a lost packet, not the grant's end
    entry.atMost = Math.min(entry.atMost ?? Infinity, t);
  }

  /**
   * Whether the grant for `key` still runs at `now`: `'closed'` only when it surely ran out
   * (the caller's duration, or past the learned upper bound); `'unknown'` when nothing says
   * (never knocked, or another process may have).
   */
  state(key: string, now: number, grantSeconds: number | undefined): GrantState {
    const entry = this.#entries.get(key);
    if (entry?.knockedAt === undefined) return 'unknown';
    const t = now - entry.knockedAt;
    if (grantSeconds !== undefined) return t < grantSeconds * 1000 ? 'open' : 'closed';
    if (entry.atMost !== undefined && t >= entry.atMost) return 'closed';
    return t <= entry.atLeast ? 'open' : 'unknown';
  }

  /**
   * The grant's duration in seconds: the caller's, else the learned lower bound once an
   * upper bound was seen too (the grant then lasts at least this, whole seconds).
   */
  grantSeconds(key: string, grantSeconds: number | undefined): number | undefined {
    if (grantSeconds !== undefined) return grantSeconds;
    const entry = this.#entries.get(key);
    if (entry?.atMost === undefined) return undefined;
    const learned = Math.floor(entry.atLeast / 1000);
    return learned >= 1 ? learned : undefined;
  }

  /** When the grant from the last knock runs out (ms since the epoch), when its duration is known. */
  grantExpiresAt(key: string, grantSeconds: number | undefined): number | undefined {
    const seconds = this.grantSeconds(key, grantSeconds);
    const knockedAt = this.#entries.get(key)?.knockedAt;
    return seconds === undefined || knockedAt === undefined ? undefined : knockedAt + seconds * 1000;
  }

  /** The round trip to `address` seen last (biased up), ms. */
  rtt(address: string): number | undefined {
    return this.#rtt.get(address);
  }

  recordRtt(address: string, ms: number): void {
    this.#rtt.delete(address);
    this.#rtt.set(address, ms);
    trim(this.#rtt);
  }
}

function trim(map: Map<string, unknown>): void {
  while (map.size > GRANT_MEMORY_MAX_ENTRIES) map.delete(map.keys().next().value as string);
}
