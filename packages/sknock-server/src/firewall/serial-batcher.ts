/**
 * Queues firewall updates and applies them in batches, one batch at a time: every update
 * that arrives while a batch runs goes into the next one, so a burst of grants costs a few
 * processes, not one each. Exclusive tasks (setup, teardown) run alone, in queue order.
 */

/** Per-op errors of a batch (undefined: applied), or nothing when all were applied. */
export type BatchOutcome = ReadonlyArray<unknown> | void;

type Item<Op> =
  | { readonly kind: 'op'; readonly op: Op; readonly resolve: () => void; readonly reject: (err: unknown) => void }
  | { readonly kind: 'task'; readonly run: () => Promise<void> };

export class SerialBatcher<Op> {
  readonly #apply: (ops: Op[]) => Promise<BatchOutcome>;
  readonly #maxBatch: number;
  #queue: Item<Op>[] = [];
  #running = false;
  #scheduled = false;
  #idleWaiters: Array<() => void> = [];

  /**
   * `apply` makes one batch take effect. If it throws, every op of the batch is rejected with
   * its error; if it returns an array, op `i` is rejected with element `i` unless that is undefined.
   */
  constructor(apply: (ops: Op[]) => Promise<BatchOutcome>, maxBatch: number) {
    this.#apply = apply;
    this.#maxBatch = maxBatch;
  }

  /** Resolves once the batch holding `op` has been applied. */
  push(op: Op): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ kind: 'op', op, resolve, reject });
      this.#schedule();
    });
  }

  /** Runs `task` when every earlier item is done, with no batch running beside it. */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({
        kind: 'task',
        run: () => task().then(resolve, reject),
      });
      this.#schedule();
    });
  }

  /** Ops waiting for a batch (not counting the one running). */
  get pending(): number {
    return this.#queue.length;
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (!this.#running && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #schedule(): void {
    if (this.#running || this.#scheduled) return;
    this.#scheduled = true;
    // setImmediate, not a microtask: every grant pushed in the same turn of the event loop
    // (for example by a burst of datagrams read together) joins the first batch.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#pump();
    });
  }

  async #pump(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      while (this.#queue.length > 0) {
        const head = this.#queue[0] as Item<Op>;
        if (head.kind === 'task') {
          this.#queue.shift();
          await head.run();
          continue;
        }
        let n = 0;
        while (n < this.#queue.length && n < this.#maxBatch && (this.#queue[n] as Item<Op>).kind === 'op') n++;
        const batch = this.#queue.splice(0, n) as Array<Extract<Item<Op>, { kind: 'op' }>>;
        try {
          const outcome = await this.#apply(batch.map((item) => item.op));
          batch.forEach((item, i) => {
            const err = outcome === undefined ? undefined : outcome[i];
            if (err === undefined) item.resolve();
            else item.reject(err);
          });
        } catch (err) {
          for (const item of batch) item.reject(err);
        }
      }
    } finally {
      this.#running = false;
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
