import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { IpFamily } from '@sknock/protocol';
import { ATTEMPT_MAX_WAIT_MS, ATTEMPT_RAMP_MS, ATTEMPT_SPACING_MS } from './constants.js';

/**
 * TCP connection attempts to one address and port, started so that the service sees only
 * the connections somebody wants (constants.ts, `ATTEMPT_SPACING_MS`, has the reasoning):
 *
 * - paced: while the port is not known to be open, one attempt every 20 ms (shorter gaps right
 *   after a knock when the round trip is known to be short); each waits up to 900 ms (less
 *   with a known round trip) and is then destroyed unanswered;
 * - on demand: once it is open, exactly as many attempts wait as connections are wanted.
 *
 * When an attempt connects, every older waiting attempt is destroyed at once (their SYNs were
 * dropped, or they would have answered first), and so is every younger one beyond the
 * connections still wanted. A destroyed attempt's late SYN-ACK meets a closed socket: the
 * kernel answers with a RST and the service's accept() never sees it. New attempts start
 * from `setImmediate`, after the event loop has handled pending connection events, so an
 * answer that already arrived is always taken before another SYN goes out.
 */

export interface AttemptTarget {
  readonly address: string;
  readonly port: number;
  readonly family: IpFamily;
}

export interface AttemptEvents {
  /**
   * An attempt connected; the socket is the listener's now. Returns how many more
   * connections are wanted (0 stops every attempt).
   */
  connected(socket: Socket, rttMs: number): number;
  /** An attempt failed: refused (RST, ICMP port unreachable) or a local error; `code` says which. */
  failed(code: string, rttMs: number): void;
  /** An attempt waited its whole time without any answer (a firewall dropping the SYN). */
  unanswered(): void;
}

interface Pending {
  readonly startedAt: number;
  readonly timer: NodeJS.Timeout;
}

export class ConnectionAttempts {
  /** Attempts started so far. */
  started = 0;
  /** The last attempt's error code, or `'no answer'`. */
  lastError = 'no answer';
  #mode: 'idle' | 'paced' | 'demand' = 'idle';
  #wanted = 0;
  #ramp = 0;
  #nextTimer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  readonly #pending = new Map<Socket, Pending>();
  /** Attempt sockets not yet closed (a handed-over socket is not ours to wait for). */
  readonly #closing = new Map<Socket, Promise<void>>();

  constructor(
    private readonly target: AttemptTarget,
    private readonly events: AttemptEvents,
    /** Round trip to the address, ms, when known; updated as attempts answer. */
    private rttMs: number | undefined,
  ) {}

  /** Attempts waiting for an answer. */
  get waiting(): number {
    return this.#pending.size;
  }

  /**
   * One attempt now (after pending events), then one per gap. `afterKnock` restarts the
   * short gaps of a fresh knock.
   */
  pace(afterKnock: boolean): void {
    if (this.#mode === 'paced' && !afterKnock) return;
    this.#ramp = afterKnock ? 0 : ATTEMPT_RAMP_MS.length;
    this.#mode = 'paced';
    clearTimeout(this.#nextTimer);
    this.#nextTimer = undefined;
    this.#soon();
  }

  /** Keeps `wanted` attempts waiting, started at once: the port is known to be open. */
  demand(wanted: number): void {
    clearTimeout(this.#nextTimer);
    this.#nextTimer = undefined;
    this.#mode = wanted > 0 ? 'demand' : 'idle';
    this.#wanted = wanted;
    if (wanted === 0) this.#destroyAll();
    else this.#soon();
  }

  /** Stops: destroys every waiting attempt; resolves once each of their sockets has closed. */
  async stop(): Promise<void> {
    this.#mode = 'idle';
    clearTimeout(this.#nextTimer);
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#nextTimer = undefined;
    this.#immediate = undefined;
    this.#destroyAll();
    await Promise.all(this.#closing.values());
  }

  #soon(): void {
    if (this.#immediate !== undefined) return;
    this.#immediate = setImmediate(() => {
      this.#immediate = undefined;
      this.#tick();
    });
  }

  #tick(): void {
    if (this.#mode === 'paced') {
      this.#launch();
      this.#nextTimer = setTimeout(() => {
        this.#nextTimer = undefined;
        this.#soon();
      }, this.#gap());
    } else if (this.#mode === 'demand') {
      while (this.#pending.size < this.#wanted) this.#launch();
    }
  }

  /** The gap before the next paced attempt (constants.ts). */
  #gap(): number {
    const ramp = ATTEMPT_RAMP_MS[this.#ramp];
    if (ramp === undefined) return ATTEMPT_SPACING_MS;
    this.#ramp++;
    const floor = this.rttMs === undefined ? ATTEMPT_SPACING_MS : 1.5 * this.rttMs + 1;
    return Math.min(ATTEMPT_SPACING_MS, Math.max(ramp, floor));
  }

  #waitMs(): number {
    return this.rttMs === undefined ? ATTEMPT_MAX_WAIT_MS : Math.min(ATTEMPT_MAX_WAIT_MS, 4 * this.rttMs + 50);
  }

  #learn(rttMs: number): void {
    // Biased up: a slower answer counts at once, a faster one slowly.
    this.rttMs = this.rttMs === undefined || rttMs > this.rttMs ? rttMs : 0.875 * this.rttMs + 0.125 * rttMs;
  }

  #launch(): void {
    const { address, port, family } = this.target;
    const socket = connect({ host: address, port, family });
    const startedAt = performance.now();
    this.started++;
    const timer = setTimeout(() => {
      if (!this.#drop(socket)) return;
      this.lastError = 'no answer';
      this.events.unanswered();
    }, this.#waitMs());
    this.#pending.set(socket, { startedAt, timer });
    this.#closing.set(
      socket,
      new Promise<void>((resolve) => socket.once('close', () => resolve())).then(() => void this.#closing.delete(socket)),
    );
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!this.#drop(socket)) return;
      this.lastError = err.code ?? err.message;
      const rtt = performance.now() - startedAt;
      if (err.code === 'ECONNREFUSED') this.#learn(rtt);
      this.events.failed(this.lastError, rtt);
    });
    socket.once('connect', () => this.#connected(socket, startedAt));
  }

  #connected(socket: Socket, startedAt: number): void {
    const entry = this.#pending.get(socket);
    if (entry === undefined) return;
    const rtt = performance.now() - startedAt;
    this.#learn(rtt);
    clearTimeout(entry.timer);
    this.#pending.delete(socket);
    // Older attempts cannot answer any more (their SYN was dropped, or they would have won).
    for (const [other, p] of this.#pending) if (p.startedAt <= startedAt) this.#drop(other);
    socket.removeAllListeners('error');
    socket.removeAllListeners('connect');
    this.#closing.delete(socket); // the listener's now
    const wanted = this.events.connected(socket, rtt);
    if (this.#mode === 'idle') return; // stopped from the callback
    this.#wanted = wanted;
    this.#mode = wanted > 0 ? 'demand' : 'idle';
    clearTimeout(this.#nextTimer);
    this.#nextTimer = undefined;
    // Younger attempts passed the firewall too: keep as many as are wanted.
    let keep = wanted;
    for (const other of [...this.#pending.keys()]) {
      if (keep > 0) keep--;
      else this.#drop(other);
    }
    if (wanted > 0) this.#soon();
  }

  /** Destroys a waiting attempt; false when it was no longer waiting. */
  #drop(socket: Socket): boolean {
    const entry = this.#pending.get(socket);
    if (entry === undefined) return false;
    clearTimeout(entry.timer);
    this.#pending.delete(socket);
    socket.destroy();
    return true;
  }

  #destroyAll(): void {
    for (const socket of [...this.#pending.keys()]) this.#drop(socket);
  }
}
