import { FIREWALL_CHECK_FAILURE_LOG_MS } from '../constants.js';
import type { FirewallBackend } from '../firewall/backend.js';
import type { Logger } from '../logging/logger-type.js';

/**
 * Watches that the daemon's firewall rules stay in force. Someone who runs
 * `nft flush ruleset`, reloads their own ruleset or flushes iptables takes the policy away
 * and leaves the host open; nothing else would notice until a knock fails. Every
 * `intervalMs` this calls `firewall.check()` (a back end without one is not watched), which
 * rebuilds the rules with every grant when they are missing or changed:
 *
 * - a repair is logged at warn (`event: 'firewall-repaired'`, what was wrong, how many grants
 *   were written back);
 * - a failed check at error (`event: 'firewall-check-failed'`, with the error's code, e.g.
 *   `ERR_SKNOCK_FIREWALL_IN_USE` when another daemon owns the table by now), the same failure
 *   again at most every FIREWALL_CHECK_FAILURE_LOG_MS.
 *
 * One check at a time, each `intervalMs` after the previous one ended; the timer does not keep
 * the process alive. What one check costs is the back end's (docs/firewall.md, "Watching").
 */

export interface FirewallWatchdogOptions {
  readonly firewall: FirewallBackend;
  readonly intervalMs: number;
  readonly logger: Logger;
  readonly now: () => number;
}

export interface FirewallWatchdogStats {
  /** Checks made. */
  readonly checks: number;
  /** Checks that found the rules missing or changed and rebuilt them. */
  readonly repairs: number;
  /** Checks that failed (the rules may not be in force). */
  readonly failedChecks: number;
}

/** What the latest check found (`FirewallWatchdog.lastCheck`). */
export interface FirewallCheckState {
  /** When it ended, ms since the epoch. */
  readonly at: number;
  /** `intact`: the rules were in force; `repaired`: missing or changed, and rebuilt; `failed`: the check (or the rebuild) failed. */
  readonly outcome: 'intact' | 'repaired' | 'failed';
  /** What was wrong (repaired) or the error (failed). */
  readonly problem?: string;
  /** The error's code (failed). */
  readonly code?: string;
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

export class FirewallWatchdog {
  readonly #firewall: FirewallBackend;
  readonly #intervalMs: number;
  readonly #logger: Logger;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #started = false;
  #stopped = false;
  #checks = 0;
  #repairs = 0;
  #failedChecks = 0;
  #lastFailure: { readonly message: string; readonly at: number } | undefined;
  #lastCheck: FirewallCheckState | undefined;

  constructor(options: FirewallWatchdogOptions) {
    this.#firewall = options.firewall;
    this.#intervalMs = options.intervalMs;
    this.#logger = options.logger;
    this.#now = options.now;
  }

  /** Starts watching (nothing happens for a back end without `check()`). */
  start(): void {
    if (this.#firewall.check === undefined || this.#started || this.#stopped) return;
    this.#started = true;
    this.#schedule();
  }

  /** Stops watching for good; resolves once a check in flight has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  get stats(): FirewallWatchdogStats {
    return { checks: this.#checks, repairs: this.#repairs, failedChecks: this.#failedChecks };
  }

  /** What the latest check found (undefined before the first, and for a back end without `check()`). */
  get lastCheck(): FirewallCheckState | undefined {
    return this.#lastCheck;
  }

  /** True when the back end has a `check()` to watch with. */
  get watching(): boolean {
    return this.#firewall.check !== undefined;
  }

  /** Checks now (also between the timer's checks); resolves when done, never rejects. */
  checkNow(): Promise<void> {
    this.#running ??= this.#check().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.checkNow().then(() => this.#schedule());
    }, this.#intervalMs);
    this.#timer.unref();
  }

  async #check(): Promise<void> {
    const check = this.#firewall.check?.bind(this.#firewall);
    if (check === undefined) return;
    this.#checks += 1;
    try {
      const result = await check();
      this.#lastFailure = undefined;
      this.#lastCheck = result.intact
        ? { at: this.#now(), outcome: 'intact' }
        : { at: this.#now(), outcome: 'repaired', problem: result.problem ?? 'unknown change' };
      if (result.intact) return;
      this.#repairs += 1;
      this.#logger.warn(
        { event: 'firewall-repaired', firewall: this.#firewall.name, problem: result.problem, grants: result.grants },
        `firewall rules were missing or changed (${result.problem ?? 'unknown change'}); rebuilt them with ${result.grants ?? 0} grant(s)`,
      );
    } catch (err) {
      if (this.#stopped) return; // the firewall was torn down meanwhile
      this.#failedChecks += 1;
      const message = err instanceof Error ? err.message : String(err);
      const now = this.#now();
      const code = errorCode(err);
      this.#lastCheck = { at: now, outcome: 'failed', problem: message, ...(code === undefined ? {} : { code }) };
      const last = this.#lastFailure;
      if (last !== undefined && last.message === message && now - last.at < FIREWALL_CHECK_FAILURE_LOG_MS) return;
      this.#lastFailure = { message, at: now };
      this.#logger.error({ event: 'firewall-check-failed', firewall: this.#firewall.name, code: errorCode(err), error: message }, `firewall check failed: ${message}`);
    }
  }
}
