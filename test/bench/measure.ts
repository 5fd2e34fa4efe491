/**
 * Small helpers for the benchmarks: run a bounded number of operations several times and
 * report the median rate. Figures are printed, never asserted.
 */

export interface Rate {
  readonly perSecond: number;
  readonly runs: readonly number[];
}

/** Runs `fn(i)` `count` times per run, `runs` times; the median of the per-run rates. */
export async function medianRate(count: number, runs: number, fn: (i: number) => unknown): Promise<Rate> {
  const rates: number[] = [];
  for (let r = 0; r < runs; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < count; i++) {
      const v = fn(i);
      if (v instanceof Promise) await v;
    }
    const ns = Number(process.hrtime.bigint() - start);
    rates.push(count / (ns / 1e9));
  }
  const sorted = [...rates].sort((a, b) => a - b);
  return { perSecond: sorted[Math.floor(sorted.length / 2)] as number, runs: rates };
}

/** Prints one figure: a line for people and a `FIGURE` line the runner collects. */
export function figure(name: string, value: number, unit: string, target?: string): void {
  const shown = value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(2);
  const line = `${name}: ${shown} ${unit}${target ? ` (target ${target})` : ''}`;
  console.log(line);
  console.log(`FIGURE ${line}`);
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}
