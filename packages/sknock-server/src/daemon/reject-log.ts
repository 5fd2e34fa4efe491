import { REJECT_LOG_PER_SECOND, REJECT_SUMMARY_INTERVAL_MS } from '../constants.js';
import type { Logger } from '../logging/logger-type.js';
import type { RejectCode } from '../pipeline/reject-codes.js';
import type { KnockSource } from '../pipeline/types.js';

/**
 * Logs rejected knocks, rate limited: at most `perSecond` lines a second (token bucket);
 * the rest are counted by reason and summarised every `summaryIntervalMs` when any were
 * left out. `internal-error` (a bug, not a bad packet) is logged at error level, `revoked` (a
 * certificate the CA withdrew is still being used) at warn, the rest at info: rejected knocks
 * are routine on the Internet. Each line has `sourceAddress` and `sourcePort`, and `subject`
 * and `serial` once the knock showed a certificate whose chain verified.
 */

export interface RejectLogOptions {
  readonly logger: Logger;
  readonly now: () => number;
  readonly perSecond?: number;
  readonly summaryIntervalMs?: number;
}

export class RejectLog {
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #perSecond: number;
  #tokens: number;
  #last: number;
  #suppressed = new Map<RejectCode, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: RejectLogOptions) {
    this.#logger = options.logger;
    this.#now = options.now;
    this.#perSecond = options.perSecond ?? REJECT_LOG_PER_SECOND;
    this.#tokens = this.#perSecond;
    this.#last = this.#now();
    this.#timer = setInterval(() => this.flush(), options.summaryIntervalMs ?? REJECT_SUMMARY_INTERVAL_MS);
    this.#timer.unref();
  }

  record(r: { readonly code: RejectCode; readonly detail: string; readonly subject?: string; readonly serial?: string }, source: KnockSource): void {
    const { code, detail } = r;
    const now = this.#now();
    if (now > this.#last) {
      this.#tokens = Math.min(this.#perSecond, this.#tokens + ((now - this.#last) / 1000) * this.#perSecond);
      this.#last = now;
    }
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      const line = {
        event: 'reject',
        code,
        ...(r.subject === undefined ? {} : { subject: r.subject, serial: r.serial }),
        sourceAddress: source.address,
        sourcePort: source.port,
        detail,
      };
      if (code === 'internal-error') this.#logger.error(line, 'knock rejected: internal error');
      else if (code === 'revoked') this.#logger.warn(line, 'knock rejected: revoked certificate');
      else this.#logger.info(line, 'knock rejected');
      return;
    }
    this.#suppressed.set(code, (this.#suppressed.get(code) ?? 0) + 1);
  }

  /** Logs the counts of rejects left out since the last summary, if any. */
  flush(): void {
    if (this.#suppressed.size === 0) return;
    const suppressed = Object.fromEntries(this.#suppressed);
    const total = [...this.#suppressed.values()].reduce((a, b) => a + b, 0);
    this.#suppressed = new Map();
    this.#logger.warn({ event: 'reject-summary', suppressed, total }, `${total} rejected knocks not logged one by one`);
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.flush();
  }
}
