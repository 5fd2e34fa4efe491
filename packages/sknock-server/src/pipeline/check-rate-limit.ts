import type { SourceRateLimiter } from './rate-limiter.js';
import { reject } from './reject.js';
import type { KnockSource, StepResult } from './types.js';

/** Step 2a: the source has knocked more often than its token bucket allows. */
export function checkRateLimit(limiter: SourceRateLimiter, source: KnockSource, nowMs: number): StepResult {
  if (limiter.take(source.address, nowMs)) return undefined;
  return reject('rate-limited', `more than ${limiter.burst} knocks at once or ${limiter.perSecond}/s from this source`);
}
