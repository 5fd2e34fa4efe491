import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { IpFamily } from '@sknock/protocol';
import { MAX_OUTSTANDING_PROBES, PROBE_FIRST_GAP_MS, PROBE_GAP_GROWTH, PROBE_MAX_GAP_MS } from './constants.js';

/**
 * Polls a TCP port until it answers: probe connections start at once, then after gaps
 * growing from 1 ms by half each time, capped at 100 ms (constants.ts). A refused connection (RST) or any other
 * connect error means "not open yet"; a probe whose SYN goes unanswered (a DROP firewall)
 * stays waiting beside the newer ones, up to `MAX_OUTSTANDING_PROBES`, the oldest dropped
 * first. Every probe socket is destroyed, and closed, before this resolves.
 */

export interface PollPortOptions {
  readonly address: string;
  readonly port: number;
  readonly family: IpFamily;
  /** `performance.now()` time at which the window ends. */
  readonly until: number;
  readonly signal?: AbortSignal | undefined;
  /** Hand the connected socket to the caller instead of closing it. */
  readonly keepSocket?: boolean;
  /** Bind every probe to this address (`localAddress`). */
  readonly localAddress?: string | undefined;
}

export type PollPortResult =
  | { readonly outcome: 'open'; readonly probes: number; readonly socket: Socket | undefined }
  | { readonly outcome: 'closed'; readonly probes: number; readonly lastError: string }
  | { readonly outcome: 'aborted'; readonly probes: number };

export function pollPort(options: PollPortOptions): Promise<PollPortResult> {
  const { address, port, family, until, signal, keepSocket = false, localAddress } = options;
  return new Promise<PollPortResult>((resolve) => {
    const live = new Set<Socket>();
    const closing = new Map<Socket, Promise<void>>();
    let probes = 0;
    let gap = PROBE_FIRST_GAP_MS;
    let lastError = 'no answer';
    let done = false;
    let nextTimer: NodeJS.Timeout | undefined;
    let endTimer: NodeJS.Timeout | undefined;

    const finish = (result: PollPortResult, winner?: Socket): void => {
      if (done) return;
      done = true;
      clearTimeout(nextTimer);
      clearTimeout(endTimer);
      signal?.removeEventListener('abort', onAbort);
      for (const s of live) s.destroy();
      live.clear();
      if (winner !== undefined) {
        winner.removeAllListeners('error');
        if (keepSocket) closing.delete(winner); // the caller owns it now
        else winner.destroy();
      }
      void Promise.all(closing.values()).then(() => resolve(result));
    };

    const launch = (): void => {
      if (done) return;
      if (live.size >= MAX_OUTSTANDING_PROBES) {
        const oldest = live.values().next().value as Socket;
        live.delete(oldest);
        oldest.destroy();
      }
      probes++;
      const socket = connect({ host: address, port, family, allowHalfOpen: true, noDelay: true, ...(localAddress === undefined ? {} : { localAddress }) });
      live.add(socket);
      closing.set(socket, new Promise<void>((r) => socket.once('close', () => r())));
      socket.once('connect', () => {
        live.delete(socket);
        finish({ outcome: 'open', probes, socket: keepSocket ? socket : undefined }, socket);
      });
      socket.on('error', (err: NodeJS.ErrnoException) => {
        lastError = err.code ?? err.message;
        live.delete(socket);
        socket.destroy();
      });
      nextTimer = setTimeout(launch, gap);
      gap = Math.min(gap * PROBE_GAP_GROWTH, PROBE_MAX_GAP_MS);
    };

    const onAbort = (): void => finish({ outcome: 'aborted', probes });
    if (signal?.aborted) {
      resolve({ outcome: 'aborted', probes: 0 });
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    endTimer = setTimeout(() => finish({ outcome: 'closed', probes, lastError }), Math.max(0, until - performance.now()));
    launch();
  });
}
