import type { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';

/**
 * What `sknock`, `sknock-server` and `sknock-ca` do when their output is closed under them
 * (`sknock-ca list | head -1`, a reader that exits): Node ignores SIGPIPE, so a write to a
 * closed pipe is an `EPIPE` error on the stream, which would otherwise end the process with
 * an unhandled-error stack trace. Here any error on standard output or standard error means
 * the reader is gone: nothing more is written there, the command finishes what it was doing
 * (files it writes are completed; the daemon stops as on SIGTERM, removing its firewall
 * rules) and the process exits with status 141, what a shell reports for a command ended by
 * SIGPIPE (128 + 13), so that `set -o pipefail` sees the same as for any Unix tool.
 */

/** 128 + SIGPIPE. */
export const EXIT_OUTPUT_CLOSED = 141;

export interface OutputGuard {
  /** True once a reader went away. */
  readonly closed: boolean;
  /** `code`, or `EXIT_OUTPUT_CLOSED` once the output was closed. */
  exitCode(code: number): number;
  /**
   * Ends the process with `exitCode(code)` once what was written has gone out or failed
   * (an EPIPE is reported a tick after the write that met it, so the status waits for it).
   */
  exit(code: number): Promise<never>;
  /** Calls `listener` once when the output is closed (at once if it is already). */
  onClosed(listener: () => void): void;
}

/** Resolves once `stream` has written everything given it so far (or failed to). */
function settled(stream: EventEmitter): Promise<void> {
  // Node streams only (a pino destination writes synchronously and takes no callback).
  if (!(stream instanceof Writable) || stream.destroyed || !stream.writable) return Promise.resolve();
  return new Promise((resolve) => {
    try {
      stream.write('', () => resolve());
    } catch {
      resolve();
    }
  });
}

/** Watches `streams` (default standard output and error) for a reader that went away. */
export function guardOutput(streams: readonly EventEmitter[] = [process.stdout, process.stderr]): OutputGuard {
  let closed = false;
  const failed = new Set<EventEmitter>();
  const listeners: (() => void)[] = [];
  const onError = (stream: EventEmitter): void => {
    failed.add(stream);
    if (closed) return;
    closed = true;
    for (const listener of listeners.splice(0)) listener();
  };
  for (const stream of streams) stream.on('error', () => onError(stream));
  return {
    get closed() {
      return closed;
    },
    exitCode: (code) => (closed ? EXIT_OUTPUT_CLOSED : code),
    async exit(code) {
      // A stream that failed is left alone: after an EPIPE, process.stdout never calls a write back.
      await Promise.all(streams.filter((s) => !failed.has(s)).map(settled));
      await new Promise((resolve) => setImmediate(resolve));
      process.exit(closed ? EXIT_OUTPUT_CLOSED : code);
    },
    onClosed(listener) {
      if (closed) listener();
      else listeners.push(listener);
    },
  };
}
