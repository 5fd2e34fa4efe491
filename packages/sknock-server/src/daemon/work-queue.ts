import { WORK_BATCH_BUDGET_MS, WORK_BATCH_MAX, WORK_QUEUE_MAX, WORK_QUEUE_PRIORITY_MAX } from '../constants.js';

/**
 * The bounded queue between the socket's 'message' handler and the crypto stages. Items are
 * processed in short batches (at most `batchMax` items or `budgetMs` milliseconds), then the
 * queue yields to the event loop with `setImmediate`, so the socket is read often: under
 * overload datagrams are dropped here, counted (`overloaded`), rather than lost uncounted in
 * the kernel's receive buffer. When a lane is full a new item is dropped: the daemon drops
 * work rather than grow.
 *
 * Two lanes: `priority` (knocks from sources that knocked successfully before — returning
 * clients) is always served first, so a flood of fresh junk cannot starve them; `normal`
 * for the rest.
 */

export interface WorkQueueOptions<T> {
  readonly process: (item: T) => void;
  readonly max?: number;
  readonly priorityMax?: number;
  readonly batchMax?: number;
  readonly budgetMs?: number;
}

class Ring<T> {
  readonly #items: (T | undefined)[];
  #head = 0;
  length = 0;

  constructor(readonly max: number) {
    this.#items = new Array<T | undefined>(max);
  }

  push(item: T): boolean {
    if (this.length >= this.max) return false;
    this.#items[(this.#head + this.length) % this.max] = item;
    this.length += 1;
    return true;
  }

  shift(): T {
    const item = this.#items[this.#head] as T;
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.max;
    this.length -= 1;
    return item;
  }

  clear(): void {
    this.#items.fill(undefined);
    this.#head = 0;
    this.length = 0;
  }
}

export class WorkQueue<T> {
  readonly max: number;
  readonly #process: (item: T) => void;
  readonly #batchMax: number;
  readonly #budgetMs: number;
  readonly #normal: Ring<T>;
  readonly #priority: Ring<T>;
  #scheduled: NodeJS.Immediate | undefined;
  #dropped = 0;
  #highWater = 0;
  #processed = 0;

  constructor(options: WorkQueueOptions<T>) {
    this.max = options.max ?? WORK_QUEUE_MAX;
    this.#process = options.process;
    this.#batchMax = options.batchMax ?? WORK_BATCH_MAX;
    this.#budgetMs = options.budgetMs ?? WORK_BATCH_BUDGET_MS;
    this.#normal = new Ring<T>(this.max);
    this.#priority = new Ring<T>(options.priorityMax ?? Math.min(this.max, WORK_QUEUE_PRIORITY_MAX));
  }

  /** Queues `item` (in the priority lane when `priority`); false, and counted as dropped, when that lane is full. */
  push(item: T, priority = false): boolean {
    if (!(priority ? this.#priority : this.#normal).push(item)) {
      this.#dropped += 1;
      return false;
    }
    const length = this.length;
    if (length > this.#highWater) this.#highWater = length;
    if (this.#scheduled === undefined) this.#scheduled = setImmediate(this.#run);
    return true;
  }

  readonly #run = (): void => {
    this.#scheduled = undefined;
    const started = performance.now();
    let n = 0;
    while (n < this.#batchMax) {
      const lane = this.#priority.length > 0 ? this.#priority : this.#normal.length > 0 ? this.#normal : undefined;
      if (lane === undefined) break;
      const item = lane.shift();
      n += 1;
      this.#processed += 1;
      this.#process(item); // the processor never throws (the pipeline catches everything)
      if (performance.now() - started >= this.#budgetMs) break;
    }
    if (this.length > 0) this.#scheduled = setImmediate(this.#run);
  };

  get length(): number {
    return this.#normal.length + this.#priority.length;
  }

  stats(): { length: number; max: number; highWater: number; dropped: number; processed: number } {
    return { length: this.length, max: this.max, highWater: this.#highWater, dropped: this.#dropped, processed: this.#processed };
  }

  /** Drops everything queued and stops processing. */
  clear(): void {
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    this.#normal.clear();
    this.#priority.clear();
  }
}
