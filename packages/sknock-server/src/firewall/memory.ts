/**
 * The in-memory back end: touches no firewall. For tests of the daemon's pipeline and for
 * applications that embed the daemon and enforce grants themselves (ask `isAllowed`).
 * It checks its input exactly like the real back ends and keeps the same rules: a grant
 * expires after its duration (an unref'd timer), re-opening extends, never duplicates.
 */
import type { FirewallBackend, FirewallProtocol, FirewallSetup, Grant } from './backend.js';
import { SknockFirewallError } from './errors.js';
import { GrantTable, type ListedGrant } from './grant-table.js';
import { checkAddress, checkOptions, checkPort, checkPositiveInteger, checkProtocol, durationMs, grantKey, normalizeGrant, normalizeSetup } from './validate.js';

/** One call the memory back end received, in order (see `MemoryFirewallBackend.events`). */
export type MemoryFirewallEvent =
  | { readonly type: 'setup'; readonly at: number; readonly setup: FirewallSetup }
  | { readonly type: 'open'; readonly at: number; readonly grant: Grant; readonly durationSeconds: number; readonly expiresAt: number; readonly extended: boolean }
  | { readonly type: 'close'; readonly at: number; readonly grant: Grant }
  | { readonly type: 'expire'; readonly at: number; readonly grant: Grant }
  | { readonly type: 'teardown'; readonly at: number };

export interface MemoryBackendOptions {
  /** How many events `events` keeps, the latest (default 1,000). */
  readonly maxEvents?: number;
  /** Called after every event (tests can await a grant with it). */
  readonly onEvent?: (event: MemoryFirewallEvent) => void;
}

export class MemoryFirewallBackend implements FirewallBackend {
  readonly name = 'memory';
  readonly #grants = new GrantTable();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #events: MemoryFirewallEvent[] = [];
  readonly #maxEvents: number;
  readonly #onEvent: ((event: MemoryFirewallEvent) => void) | undefined;
  #setup: FirewallSetup | undefined;

  constructor(options: MemoryBackendOptions = {}) {
    const o = checkOptions(options, 'options');
    this.#maxEvents = o['maxEvents'] === undefined ? 1000 : checkPositiveInteger(o['maxEvents'], 'options.maxEvents');
    if (o['onEvent'] !== undefined && typeof o['onEvent'] !== 'function') {
      throw new SknockFirewallError('ERR_SKNOCK_INVALID_ARGUMENT', 'options.onEvent must be a function');
    }
    this.#onEvent = o['onEvent'] as ((event: MemoryFirewallEvent) => void) | undefined;
  }

  /** The setup in force, or undefined before `setup()` and after `teardown()`. */
  get currentSetup(): FirewallSetup | undefined {
    return this.#setup;
  }

  /** The latest calls, oldest first (at most `maxEvents`). */
  get events(): ReadonlyArray<MemoryFirewallEvent> {
    return this.#events;
  }

  async setup(setup: FirewallSetup): Promise<void> {
    const checked = normalizeSetup(setup);
    this.#setup = checked;
    this.#record({ type: 'setup', at: Date.now(), setup: checked });
  }

  async open(grant: Grant, durationSeconds: number): Promise<void> {
    const checked = normalizeGrant(grant);
    const ms = durationMs(durationSeconds);
    this.#requireSetup();
    const key = grantKey(checked);
    const now = Date.now();
    const before = this.#grants.get(key, now);
    const expiresAt = Math.max(before?.expiresAt ?? 0, now + ms);
    this.#grants.set(checked, expiresAt);
    const old = this.#timers.get(key);
    if (old) clearTimeout(old);
    const timer = setTimeout(() => {
      if (this.#timers.get(key) !== timer) return;
      this.#timers.delete(key);
      this.#grants.delete(key);
      this.#record({ type: 'expire', at: Date.now(), grant: checked });
    }, expiresAt - now);
    timer.unref();
    this.#timers.set(key, timer);
    this.#record({ type: 'open', at: now, grant: checked, durationSeconds, expiresAt, extended: before !== undefined });
  }

  async close(grant: Grant): Promise<void> {
    const checked = normalizeGrant(grant);
    this.#requireSetup();
    const key = grantKey(checked);
    this.#drop(key);
    this.#record({ type: 'close', at: Date.now(), grant: checked });
  }

  async list(): Promise<ReadonlyArray<ListedGrant>> {
    return this.#grants.list();
  }

  async teardown(): Promise<void> {
    for (const key of [...this.#timers.keys()]) this.#drop(key);
    this.#grants.clear();
    this.#setup = undefined;
    this.#record({ type: 'teardown', at: Date.now() });
  }

  /**
   * True when a live grant lets `address` reach `protocol`/`port`: what the daemon has opened,
   * not what a policy would let through (emergency ports, policy `none`). Any textual form of
   * the address works.
   */
  isAllowed(address: string, protocol: FirewallProtocol, port: number): boolean {
    const canonical = checkAddress(address, 'address').address;
    const key = grantKey({ address: canonical, family: 4, protocol: checkProtocol(protocol, 'protocol'), port: checkPort(port, 'port') });
    return this.#grants.get(key) !== undefined;
  }

  #requireSetup(): void {
    if (this.#setup === undefined) {
      throw new SknockFirewallError('ERR_SKNOCK_FIREWALL_STATE', 'the memory back end is not set up (call setup() first)');
    }
  }

  #drop(key: string): void {
    const timer = this.#timers.get(key);
    if (timer) clearTimeout(timer);
    this.#timers.delete(key);
    this.#grants.delete(key);
  }

  #record(event: MemoryFirewallEvent): void {
    this.#events.push(Object.freeze(event));
    if (this.#events.length > this.#maxEvents) this.#events.splice(0, this.#events.length - this.#maxEvents);
    try {
      this.#onEvent?.(event);
    } catch {
      // an observer's failure is not the firewall's
    }
  }
}
