/**
 * The grants a back end believes are in force, keyed by (address, protocol, port), with
 * their expiry. Expired entries are dropped when read.
 */
import type { Grant } from './backend.js';
import { grantKey } from './validate.js';

export interface GrantEntry {
  readonly grant: Grant;
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
}

export type ListedGrant = Grant & { readonly expiresAt: number };

export class GrantTable {
  readonly #entries = new Map<string, GrantEntry>();

  get size(): number {
    return this.#entries.size;
  }

  /** The entry for `key` if it has not expired at `now`. */
  get(key: string, now = Date.now()): GrantEntry | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  set(grant: Grant, expiresAt: number): void {
    this.#entries.set(grantKey(grant), { grant, expiresAt });
  }

  delete(key: string): boolean {
    return this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  /** Live entries at `now`, dropping the expired ones. */
  live(now = Date.now()): GrantEntry[] {
    const out: GrantEntry[] = [];
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) this.#entries.delete(key);
      else out.push(entry);
    }
    return out;
  }

  /** What `FirewallBackend.list()` returns. */
  list(now = Date.now()): ListedGrant[] {
    return this.live(now).map((e) => Object.freeze({ ...e.grant, expiresAt: e.expiresAt }));
  }
}
