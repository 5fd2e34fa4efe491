import { WORK_BATCH_BUDGET_MS, WORK_BATCH_MAX, WORK_QUEUE_MAX } from '../constants.js';

/**
 * The bounded queue between the socket's 'message' handler and the crypto stages. Items are
 * processed in batches (at most `batchMax` items or `budgetMs` milliseconds), then the queue
 * yields to the event loop with `setImmediate` so the socket keeps being read. When full, a
 * new item is dropped and counted: under overload the daemon drops work rather than grow.
 */

export interface WorkQueueOptions<T> {
  readonly process: (item: T) => void;
  readonly max?: number;
  readonly batchMax?: number;
  readonly budgetMs?: number;
}

export class WorkQueue<T> {
  readonly max: number;
  readonly #process: (item: T) => void;
  readonly #batchMax: number;
  readonly #budgetMs: number;
  // ring buffer
  readonly #items: (T | undefined)[];
  #head = 0;
  #length = 0;
  #scheduled: NodeJS.Immediate | undefined;
  #dropped = 0;
  #highWater = 0;
  #processed = 0;

  constructor(options: WorkQueueOptions<T>) {
    this.max = options.max ?? WORK_QUEUE_MAX;
    this.#process = options.process;
    this.#batchMax = options.batchMax ?? WORK_BATCH_MAX;
    this.#budgetMs = options.budgetMs ?? WORK_BATCH_BUDGET_MS;
    this.#items = new Array<T | undefined>(this.max);
  }

  /** Queues `item`; false (and counted as dropped) when the queue is full. */
  push(item: T): boolean {
    if (this.#length >= this.max) {
      this.#dropped += 1;
      return false;
    }
    this.#items[(this.#head + this.#length) % this.max] = item;
    this.#length += 1;
    if (this.#length > this.#highWater) this.#highWater = this.#length;
    if (this.#scheduled === undefined) this.#scheduled = setImmediate(this.#run);
    return true;
  }

  readonly #run = (): void => {
    this.#scheduled = undefined;
    const started = performance.now();
    let n = 0;
    while (this.#length > 0 && n < this.#batchMax) {
      const item = this.#items[this.#head] as T;
      this.#items[this.#head] = undefined;
      this.#head = (this.#head + 1) % this.max;
      this.#length -= 1;
      n += 1;
      this.#processed += 1;
      this.#process(item); // the processor never throws (the pipeline catches everything)
      if (performance.now() - started >= this.#budgetMs) break;
    }
    if (this.#length > 0) this.#scheduled = setImmediate(this.#run);
  };

  get length(): number {
    return this.#length;
  }

  stats(): { length: number; max: number; highWater: number; dropped: number; processed: number } {
    return { length: this.#length, max: this.max, highWater: this.#highWater, dropped: this.#dropped, processed: this.#processed };
  }

  /** Drops everything queued and stops processing. */
  clear(): void {
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    this.#items.fill(undefined);
    this.#head = 0;
    this.#length = 0;
  }
}
