import { randomInt } from 'node:crypto';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { RANDOM_KNOCK_PORT_MAX, RANDOM_KNOCK_PORT_MIN, type IpFamily } from '@sknock/protocol';
import { ConnectionAttempts, type AttemptEvents } from './connection-attempts.js';
import { publishKnockSent, publishPortOpen, publishRetry } from './diagnostics.js';
import { SknockClientError, toClientError } from './errors.js';
import type { GrantMemory } from './grant-memory.js';
import type { KnockResult } from './knocker.js';
import type { NormalizedTarget } from './options.js';

/**
 * One flight: everything it takes to get one port open and answering, shared by every
 * call that wants the same thing at the same time (single flight). Calls join a flight
 * while it runs; the first one's target sets its course (knock port, timeout, retries).
 *
 * A flight first tries the port when a grant may still be running (`knockAfter` > 0):
 * no knock goes out if a connection answers in that time. Otherwise, or when the attempt
 * is refused or the grant is known to have run out, it knocks: up to `retries + 1`
 * datagrams, each with an equal share of the time left, while `ConnectionAttempts` paces
 * connection attempts. Each connection that answers goes to one `connect()` waiting (the
 * oldest); with none waiting, it is reset at once (a bare `knock()` only needed to know).
 * Waiting `knock()` calls resolve when the port first answers. Once the port is open, one
 * attempt per connection still wanted; if one of them finds the port closed again (the
 * grant ran out meanwhile), the flight knocks again.
 */

export interface Located {
  readonly address: string;
  readonly family: IpFamily;
  readonly sourceAddress: string;
}

/** What a flight needs from its knocker. */
export interface FlightHost {
  readonly memory: GrantMemory;
  /** Throws when the credentials cannot knock for this target (nothing is sent). */
  checkUsable(target: NormalizedTarget): void;
  locate(target: NormalizedTarget, deadline: number): Promise<Located>;
  packet(target: NormalizedTarget, sourceAddress: string): Uint8Array;
  /** Sends one datagram; rejects with `ERR_SKNOCK_SEND_FAILED`. */
  send(located: Located, knockPort: number, datagram: Uint8Array, attempts: number): Promise<void>;
}

export interface FlightTarget extends NormalizedTarget {
  /** ms to wait for a port that may be open before knocking; 0 knocks at once. */
  readonly knockAfter: number;
}

export interface JoinOptions {
  /** `performance.now()` of the caller's call. */
  readonly started: number;
  /** `performance.now()` time by which the caller gives up. */
  readonly deadline: number;
  /** `connect()`: the caller takes a connection of its own. */
  readonly wantsSocket: boolean;
  /** `knock()`: a datagram goes out even if the port already answers. */
  readonly forceKnock: boolean;
  readonly signal: AbortSignal | undefined;
}

export interface FlightOutcome extends KnockResult {
  readonly socket: Socket | undefined;
}

interface Waiter extends JoinOptions {
  readonly resolve: (outcome: FlightOutcome) => void;
  readonly reject: (error: SknockClientError) => void;
  timer: NodeJS.Timeout | undefined;
  onAbort: (() => void) | undefined;
}

type Settlement = readonly [Waiter, FlightOutcome | SknockClientError];

export class PortFlight implements AttemptEvents {
  readonly #waiters = new Set<Waiter>();
  readonly #tries: number;
  readonly #checking: boolean;
  readonly #deadline: number;
  readonly #resets = new Set<Promise<void>>();
  #running = false;
  #ended = false;
  #located: Located | undefined;
  #attempts: ConnectionAttempts | undefined;
  #knocks = 0;
  #sending = false;
  #lastKnockAt: number | undefined;
  #knockTimer: NodeJS.Timeout | undefined;
  #deadlineTimer: NodeJS.Timeout | undefined;
  #open = false;

  constructor(
    private readonly host: FlightHost,
    private readonly target: FlightTarget,
    /** The grant memory's key for this target. */
    private readonly grantKey: string,
    leader: JoinOptions,
    private readonly onEnd: () => void,
  ) {
    this.#checking = target.protocol === 'tcp' && target.verify;
    this.#tries = this.#checking ? target.retries + 1 : 1;
    this.#deadline = leader.deadline;
  }

  join(options: JoinOptions): Promise<FlightOutcome> {
    return new Promise<FlightOutcome>((resolve, reject) => {
      if (options.signal?.aborted) {
        reject(aborted(options.signal, this.#knocks));
        if (!this.#running && !this.#ended) {
          this.#ended = true;
          this.onEnd();
        }
        return;
      }
      const waiter: Waiter = { ...options, resolve, reject, timer: undefined, onAbort: undefined };
      if (options.deadline < this.#deadline) {
        waiter.timer = setTimeout(() => this.#settle([[waiter, this.#notOpened(waiter)]]), Math.max(0, options.deadline - performance.now()));
      }
      if (options.signal !== undefined) {
        const signal = options.signal;
        waiter.onAbort = () => this.#settle([[waiter, aborted(signal, this.#knocks)]]);
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#waiters.add(waiter);
      if (!this.#running) {
        this.#running = true;
        void this.#run();
      } else if (this.#attempts !== undefined) {
        if (options.forceKnock && this.#knocks === 0) void this.#knock();
        else if (this.#open && !options.wantsSocket) this.#settle([[waiter, this.#outcome(waiter, undefined)]]);
        else if (this.#open) this.#attempts.demand(this.#socketWaiters());
      }
    });
  }

  async #run(): Promise<void> {
    const target = this.target;
    try {
      this.host.checkUsable(target);
      // The flight's own steps are not cancelled by one caller's signal: callers leave by theirs.
      this.#located = await this.host.locate({ ...target, signal: undefined }, this.#deadline);
    } catch (err) {
      this.#failAll(err);
      return;
    }
    if (this.#ended) return;
    if (!this.#checking) {
      if (await this.#knock()) this.#settle([...this.#waiters].map((w) => [w, this.#outcome(w, undefined, false)] as const));
      return;
    }
    this.#attempts = new ConnectionAttempts({ ...this.#located, port: target.port }, this, this.host.memory.rtt(this.#located.address));
    this.#deadlineTimer = setTimeout(() => this.#settle([...this.#waiters].map((w) => [w, this.#notOpened(w)] as const)), Math.max(0, this.#deadline - performance.now()));
    const forced = [...this.#waiters].some((w) => w.forceKnock);
    if (forced || target.knockAfter === 0 || this.host.memory.state(this.grantKey, Date.now(), target.grantSeconds) === 'closed') {
      void this.#knock();
      return;
    }
    // A grant may be running: try the port first, and knock when it does not answer in time
    // (at the latest halfway to the deadline, so that a knock always gets its turn).
    this.#attempts.pace(false);
    const wait = Math.min(target.knockAfter, Math.max(0, this.#deadline - performance.now()) / 2);
    this.#knockTimer = setTimeout(() => {
      this.host.memory.closed(this.grantKey, Date.now());
      void this.#knock();
    }, wait);
  }

  /** Sends the next knock (if any is left); true when it went out. */
  async #knock(): Promise<boolean> {
    const located = this.#located;
    if (located === undefined || this.#sending || this.#ended || this.#knocks >= this.#tries) return false;
    clearTimeout(this.#knockTimer);
    this.#knockTimer = undefined;
    this.#sending = true;
    const target = this.target;
    const i = this.#knocks;
    if (i > 0) {
      publishRetry({
        host: target.host,
        address: located.address,
        port: target.port,
        attempt: i + 1,
        elapsedMs: performance.now() - this.#leaderStarted(),
        lastProbeError: this.#attempts?.lastError ?? 'no answer',
      });
    }
    const knockPort = target.knockPort ?? randomKnockPort();
    try {
      const datagram = this.host.packet(target, located.sourceAddress);
      await this.host.send(located, knockPort, datagram, i);
      this.#knocks++;
      const sentAt = performance.now();
      this.#lastKnockAt = sentAt;
      this.host.memory.knocked(this.grantKey, Date.now());
      publishKnockSent({
        host: target.host,
        address: located.address,
        port: target.port,
        protocol: target.protocol,
        knockPort,
        sourceAddress: located.sourceAddress,
        attempt: this.#knocks,
        bytes: datagram.length,
        elapsedMs: sentAt - this.#leaderStarted(),
      });
    } catch (err) {
      this.#failAll(err);
      return false;
    } finally {
      this.#sending = false;
    }
    if (this.#ended || !this.#checking) return true;
    if (this.#open) {
      // A knock() that joined while the port answered: it wanted its datagram, it has it.
      this.#settle([...this.#waiters].filter((w) => !w.wantsSocket).map((w) => [w, this.#outcome(w, undefined)] as const));
      return true;
    }
    this.#attempts?.pace(true);
    if (this.#knocks < this.#tries) {
      const sentAt = this.#lastKnockAt as number;
      const share = Math.max(0, this.#deadline - sentAt) / (this.#tries - i);
      this.#knockTimer = setTimeout(() => void this.#knock(), share);
    }
    return true;
  }

  // --- AttemptEvents

  connected(socket: Socket, rttMs: number): number {
    const memory = this.host.memory;
    memory.recordRtt(this.#located?.address as string, rttMs);
    memory.opened(this.grantKey, Date.now());
    if (!this.#open) {
      this.#open = true;
      clearTimeout(this.#knockTimer);
      this.#knockTimer = undefined;
      const now = performance.now();
      publishPortOpen({
        host: this.target.host,
        address: this.#located?.address as string,
        port: this.target.port,
        attempt: this.#knocks,
        elapsedMs: now - this.#leaderStarted(),
        sinceKnockMs: this.#lastKnockAt === undefined ? 0 : now - this.#lastKnockAt,
        probes: this.#attempts?.started ?? 0,
      });
    }
    const settlements: Settlement[] = [];
    const taker = [...this.#waiters].find((w) => w.wantsSocket);
    if (taker !== undefined) {
      settlements.push([taker, this.#outcome(taker, socket)]);
    } else {
      // Nobody takes it (a bare knock() only needed to know): reset, so no data ever flows.
      this.#resets.add(new Promise<void>((resolve) => socket.once('close', () => resolve())));
      socket.resetAndDestroy();
    }
    for (const w of this.#waiters) {
      if (!w.wantsSocket && (!w.forceKnock || this.#knocks > 0)) settlements.push([w, this.#outcome(w, undefined)]);
    }
    this.#settle(settlements);
    return this.#ended ? 0 : this.#socketWaiters();
  }

  failed(code: string): void {
    this.#closedAgain(code);
  }

  unanswered(): void {
    this.#closedAgain('no answer');
  }

  /** An attempt found the port closed: before any knock (try first), or once it was open. */
  #closedAgain(_code: string): void {
    if (this.#ended) return;
    if (this.#open) {
      // The grant ran out while connections were still wanted: knock again.
      this.#open = false;
      this.host.memory.closed(this.grantKey, Date.now());
      this.#attempts?.pace(false);
      void this.#knock();
    } else if (this.#knocks === 0 && this.#knockTimer !== undefined) {
      // Tried first and refused (policy reject): no grant runs, knock now.
      this.host.memory.closed(this.grantKey, Date.now());
      void this.#knock();
    }
  }

  // --- settling

  #socketWaiters(): number {
    let n = 0;
    for (const w of this.#waiters) if (w.wantsSocket) n++;
    return n;
  }

  #leaderStarted(): number {
    let first = Infinity;
    for (const w of this.#waiters) first = Math.min(first, w.started);
    return first === Infinity ? performance.now() : first;
  }

  #outcome(w: Waiter, socket: Socket | undefined, verified = true): FlightOutcome {
    const located = this.#located as Located;
    const memory = this.host.memory;
    return {
      address: located.address,
      port: this.target.port,
      protocol: this.target.protocol,
      attempts: this.#knocks,
      elapsedMs: performance.now() - w.started,
      verified,
      sourceAddress: located.sourceAddress,
      grantSeconds: memory.grantSeconds(this.grantKey, this.target.grantSeconds),
      grantExpiresAt: memory.grantExpiresAt(this.grantKey, this.target.grantSeconds),
      socket,
    };
  }

  #notOpened(w: Waiter): SknockClientError {
    const { host, port } = this.target;
    const address = this.#located?.address ?? host;
    const where = host === address ? address : `${host} (${address})`;
    const ms = Math.round(performance.now() - w.started);
    const last = this.#attempts?.lastError ?? 'no answer';
    const message =
      this.#knocks === 0
        ? `tcp/${port} on ${where} did not answer in ${ms} ms and no knock went out yet (last attempt: ${last})`
        : `tcp/${port} on ${where} did not open after ${plural(this.#knocks, 'knock')} in ${ms} ms (last probe: ${last})`;
    return new SknockClientError('ERR_SKNOCK_PORT_NOT_OPENED', message, { attempts: this.#knocks });
  }

  #failAll(err: unknown): void {
    const error = toClientError(err);
    this.#settle([...this.#waiters].map((w) => [w, error] as const));
  }

  /**
   * Resolves or rejects waiters. When that leaves none, the flight ends first: every
   * attempt is destroyed and closed before the last callers hear back.
   */
  #settle(settlements: readonly Settlement[]): void {
    const mine = settlements.filter(([w]) => this.#waiters.delete(w));
    for (const [w] of mine) {
      clearTimeout(w.timer);
      if (w.onAbort !== undefined) w.signal?.removeEventListener('abort', w.onAbort);
    }
    const deliver = (): void => {
      for (const [w, value] of mine) {
        if (value instanceof SknockClientError) w.reject(value);
        else w.resolve(value);
      }
    };
    if (this.#waiters.size > 0 || this.#ended) {
      deliver();
      return;
    }
    void this.#end().then(deliver);
  }

  async #end(): Promise<void> {
    this.#ended = true;
    clearTimeout(this.#knockTimer);
    clearTimeout(this.#deadlineTimer);
    this.onEnd();
    await this.#attempts?.stop();
    await Promise.all(this.#resets);
  }
}

function aborted(signal: AbortSignal, attempts: number): SknockClientError {
  return new SknockClientError('ERR_SKNOCK_ABORTED', `knock aborted${attempts > 0 ? ` after ${plural(attempts, 'knock')}` : ''}`, {
    cause: signal.reason,
    attempts,
  });
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function randomKnockPort(): number {
  return randomInt(RANDOM_KNOCK_PORT_MIN, RANDOM_KNOCK_PORT_MAX + 1);
}
