import type { RemoteInfo } from 'node:dgram';
import type { Logger } from '../logging/logger-type.js';
import { normaliseSource } from '../pipeline/normalise-source.js';
import type { KnockPipeline, ScreenedKnock } from '../pipeline/process-knock.js';
import { REJECT_CODES, type RejectCode } from '../pipeline/reject-codes.js';
import { isReject } from '../pipeline/reject.js';
import type { KnockSource } from '../pipeline/types.js';
import { errorMessage } from './error-message.js';
import { RejectLog } from './reject-log.js';
import { ReturningSources } from './returning-sources.js';
import type { ServerLimits } from './server-options.js';
import type { ServerEvents } from './server-types.js';
import { WorkQueue } from './work-queue.js';

/**
 * Intake: what happens to a datagram. The socket's 'message' handler screens it at once
 * (pipeline steps 1–2, no cryptography) and queues what passes in the bounded work queue
 * (returning sources in the priority lane); the queue hands each knock to the crypto stages
 * (steps 3–9). Counts what it received, accepted and rejected; logs accepts and (rate
 * limited) rejects; emits `knock`, `reject` and `accept`.
 */

/** How the intake reaches the server's events (a listener that throws is logged by `emit`). */
export interface IntakeEvents {
  wants(name: keyof ServerEvents): boolean;
  emit<K extends keyof ServerEvents>(name: K, ...args: ServerEvents[K]): void;
}

export interface KnockIntakeOptions {
  readonly events: IntakeEvents;
  readonly now: () => number;
}

/** The parts of one run (from start to stop). */
interface Running {
  readonly pipeline: KnockPipeline;
  readonly queue: WorkQueue<ScreenedKnock>;
  readonly rejectLog: RejectLog;
  readonly logger: Logger;
}

export class KnockIntake {
  readonly #events: IntakeEvents;
  readonly #now: () => number;
  readonly #returning = new ReturningSources();
  #running: Running | undefined;
  #received = 0;
  #accepted = 0;
  readonly #rejected = Object.fromEntries(REJECT_CODES.map((c) => [c, 0])) as Record<RejectCode, number>;

  constructor(options: KnockIntakeOptions) {
    this.#events = options.events;
    this.#now = options.now;
  }

  /** Starts taking datagrams into `pipeline`, through a work queue bounded by `limits`. */
  open(pipeline: KnockPipeline, logger: Logger, limits: ServerLimits): void {
    const rejectLog = new RejectLog({ logger, now: this.#now, perSecond: limits.rejectLogPerSecond, summaryIntervalMs: limits.rejectSummaryIntervalMs });
    const queue = new WorkQueue<ScreenedKnock>({
      process: (k) => this.#verify(k),
      max: limits.queueMax,
      priorityMax: limits.queueMax === undefined ? undefined : Math.max(1, Math.min(limits.queueMax, Math.floor(limits.queueMax / 4))),
      batchMax: limits.batchMax,
    });
    this.#running = { pipeline, queue, rejectLog, logger };
  }

  /** Stops taking datagrams; what waits in the queue is dropped. */
  close(): void {
    const running = this.#running;
    this.#running = undefined;
    running?.queue.clear();
    running?.rejectLog.stop();
  }

  get pipeline(): KnockPipeline | undefined {
    return this.#running?.pipeline;
  }

  get received(): number {
    return this.#received;
  }

  get accepted(): number {
    return this.#accepted;
  }

  get rejected(): Readonly<Record<RejectCode, number>> {
    return this.#rejected;
  }

  queueStats(): { length: number; max: number; highWater: number; dropped: number } {
    const q = this.#running?.queue.stats();
    return { length: q?.length ?? 0, max: q?.max ?? 0, highWater: q?.highWater ?? 0, dropped: q?.dropped ?? 0 };
  }

  /** The socket's 'message' handler: steps 1–2 at once, the rest through the bounded queue. */
  readonly onMessage = (msg: Buffer, rinfo: RemoteInfo): void => {
    this.#received += 1;
    const running = this.#running;
    if (running === undefined) return;
    let source: KnockSource | undefined;
    try {
      source = normaliseSource(rinfo.address, rinfo.family, rinfo.port);
      if (this.#events.wants('knock')) this.#events.emit('knock', { source, length: msg.length });
      const now = this.#now();
      const screened = running.pipeline.screen(msg, source, now);
      if (isReject(screened)) {
        this.#reject(screened.code, source, screened.detail);
        return;
      }
      const returning = this.#returning.has(source.address, now);
      if (!running.queue.push(screened, returning)) {
        this.#reject('overloaded', source, returning ? 'work queue full (returning sources)' : 'work queue full');
      }
    } catch (err) {
      // Nothing a network sends gets here (the pipeline returns rejects); a listener's throw might.
      running.logger.error({ error: errorMessage(err), source: source?.address }, 'error handling a datagram');
    }
  };

  #verify(knock: ScreenedKnock): void {
    const running = this.#running;
    if (running === undefined) return;
    try {
      const now = this.#now();
      const result = running.pipeline.verify(knock, now);
      if (!result.ok) {
        this.#reject(result.code, knock.source, result.detail);
        return;
      }
      this.#accepted += 1;
      this.#returning.add(knock.source.address, now);
      const { grant, subject, serial, expiresAt, skewSeconds } = result;
      running.logger.info(
        {
          event: 'accept',
          subject,
          serial,
          source: `${knock.source.address}:${knock.source.port}`,
          protocol: grant.protocol,
          port: grant.port,
          skewSeconds,
          expiresAt: new Date(expiresAt).toISOString(),
        },
        'knock accepted',
      );
      if (this.#events.wants('accept')) this.#events.emit('accept', { grant, subject, serial, expiresAt, skewSeconds, source: knock.source });
    } catch (err) {
      running.logger.error({ error: errorMessage(err) }, 'error handling a knock');
    }
  }

  #reject(code: RejectCode, source: KnockSource, detail: string): void {
    this.#rejected[code] += 1;
    this.#running?.rejectLog.record(code, source, detail);
    if (this.#events.wants('reject')) this.#events.emit('reject', { code, source, detail });
  }
}
