import { reject } from './reject.js';
import type { StepResult } from './types.js';

/**
 * Step 6: |now − timestamp| ≤ threshold (PROTOCOL.md "What the server checks" step 4), in
 * whole seconds as the original compares. Returns the skew seen (server − knock, seconds):
 * original clients on a host outside UTC are off by their zone offset, so it is logged.
 */
export function checkTimestamp(timestamp: number, nowMs: number, thresholdSeconds: number): StepResult<number> {
  const skew = Math.floor(nowMs / 1000) - timestamp;
  if (Math.abs(skew) <= thresholdSeconds) return skew;
  return reject('stale-timestamp', `knock timestamp is ${skew > 0 ? `${skew} s old` : `${-skew} s in the future`} (threshold ${thresholdSeconds} s)`);
}
