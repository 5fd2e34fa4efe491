/** Bounded waiting: every wait of the end-to-end tests ends, with a message saying what did not happen. */

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Sleeps until the wall clock reads `epochMs` (at once if it already has). */
export function sleepUntil(epochMs: number): Promise<void> {
  return sleep(epochMs - Date.now());
}

export interface WaitOptions {
  /** Give up after this many ms (default 5,000). */
  readonly timeoutMs?: number;
  /** Pause between tries (default 50 ms). */
  readonly intervalMs?: number;
}

/**
 * Calls `check` until it returns something other than `undefined`/`false` and returns that,
 * or throws after `timeoutMs` naming `what` and the last value seen.
 */
export async function waitUntil<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, options: WaitOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    last = await check();
    if (last !== undefined && last !== false) return last as T;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last)})`);
    await sleep(Math.min(intervalMs, deadline - Date.now()));
  }
}

/** `promise`, or a rejection naming `what` after `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
