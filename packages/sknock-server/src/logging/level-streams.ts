import { fstatSync } from 'node:fs';
import type { DestinationStream } from 'pino';

/**
 * Where the daemon's log lines go by level, so that journald and log pipelines can tell a
 * warning from routine lines:
 *
 * - `warn`, `error` and `fatal` to standard error, `info` and below to standard output;
 * - when an output is connected to journald (systemd sets `JOURNAL_STREAM=<dev>:<inode>` of
 *   that stream, and the file descriptor still has them), each line written to it starts
 *   with the kernel-style priority prefix `<N>` that journald takes as the entry's priority
 *   and strips (`SyslogLevelPrefix=yes`, systemd's default): fatal `<2>` (crit), error `<3>`,
 *   warn `<4>`, info `<6>`, debug and trace `<7>`. `journalctl -p warning -u sknock-server`
 *   then shows exactly the warn+ lines, and the MESSAGE of each entry is the JSON line.
 *   Elsewhere (a terminal, a pipe, a file) lines are plain JSON.
 *
 * pino tells a destination each line's level when it asks for metadata
 * (`Symbol.for('pino.metadata')`): the level is `lastLevel` when `write()` is called.
 */

/** pino's numeric levels. */
const WARN = 40;

/** The syslog priority journald gets for a pino level. */
export function syslogPriority(level: number): number {
  if (level >= 60) return 2;
  if (level >= 50) return 3;
  if (level >= 40) return 4;
  if (level >= 30) return 6;
  return 7;
}

/** True when file descriptor `fd` is the journald stream named by `journalStream` (`JOURNAL_STREAM`). */
export function isJournalStream(fd: number, journalStream: string | undefined = process.env['JOURNAL_STREAM']): boolean {
  if (journalStream === undefined) return false;
  const m = /^(\d+):(\d+)$/.exec(journalStream);
  if (m === null) return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return st.dev === BigInt(m[1] as string) && st.ino === BigInt(m[2] as string);
  } catch {
    return false;
  }
}

export interface LevelStreamsOptions {
  /** Where lines below warn go. */
  readonly low: DestinationStream;
  /** Where warn and above go. */
  readonly high: DestinationStream;
  /** Prefix lines to `low` / `high` with `<N>` (journald). */
  readonly prefixLow?: boolean;
  readonly prefixHigh?: boolean;
}

/** A pino destination that sends each line by its level (see above). */
export function levelStreams(options: LevelStreamsOptions): DestinationStream {
  const { low, high } = options;
  const prefixLow = options.prefixLow === true;
  const prefixHigh = options.prefixHigh === true;
  const destination = {
    [Symbol.for('pino.metadata')]: true,
    lastLevel: 30,
    write(line: string): void {
      const level = destination.lastLevel;
      if (level >= WARN) high.write(prefixHigh ? `<${syslogPriority(level)}>${line}` : line);
      else low.write(prefixLow ? `<${syslogPriority(level)}>${line}` : line);
    },
  };
  return destination;
}
