import { pino, type DestinationStream, type LevelWithSilent } from 'pino';
import { isJournalStream, levelStreams } from './level-streams.js';
import type { Logger } from './logger-type.js';

/**
 * The daemon's logger: pino, JSON lines, `info` and below on stdout and `warn` and above on
 * stderr (with journald priority prefixes when those are connected to journald:
 * ./level-streams.ts), secrets redacted wherever they appear in a record (a config object
 * logged by mistake shows `[redacted]`, not the PKCS#12 password or a key).
 */

/** Field names whose values never reach a log line (top level or one level down). */
export const REDACTED_FIELDS: readonly string[] = [
  'pfxPassword',
  'PFXPasswd',
  'pfxpasswd',
  'password',
  'passphrase',
  'privateKey',
  'pfx',
  'credentials',
  'secret',
];

const REDACT_PATHS = REDACTED_FIELDS.flatMap((f) => [f, `*.${f}`]);

export interface CreateLoggerOptions {
  /** Level (default `info`); `silent` logs nothing. */
  readonly level?: LevelWithSilent;
  /** Where lines go (default: stdout and stderr by level, written synchronously so nothing is lost at exit). */
  readonly destination?: DestinationStream;
  /** Fields added to every line. */
  readonly base?: Record<string, unknown>;
}

let stdout: ReturnType<typeof pino.destination> | undefined;
let stderr: ReturnType<typeof pino.destination> | undefined;
let byLevel: DestinationStream | undefined;

/**
 * Standard output as every default logger of this process writes it (synchronously, so
 * nothing is lost at exit): one stream, so that `sknock-server` can see (its `error` event)
 * when the reader of its log goes away. pino itself stops writing to it then.
 */
export function stdoutDestination(): ReturnType<typeof pino.destination> {
  stdout ??= pino.destination({ dest: 1, sync: true });
  return stdout;
}

/** Standard error as the default loggers write it (warn and above), like `stdoutDestination()`. */
export function stderrDestination(): ReturnType<typeof pino.destination> {
  stderr ??= pino.destination({ dest: 2, sync: true });
  return stderr;
}

/** The default destination: stdout below warn, stderr from warn on, journald prefixes where connected. */
export function defaultDestination(): DestinationStream {
  byLevel ??= levelStreams({ low: stdoutDestination(), high: stderrDestination(), prefixLow: isJournalStream(1), prefixHigh: isJournalStream(2) });
  return byLevel;
}

export function createLogger(options: CreateLoggerOptions = {}): Logger & { level: string } {
  const destination = options.destination ?? defaultDestination();
  return pino(
    {
      level: options.level ?? 'info',
      base: { name: 'sknock-server', ...(options.base ?? {}) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** A logger that drops everything (the library's `logger: false`). */
export function silentLogger(): Logger {
  const noop = (): void => {};
  const logger: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, fatal: noop, child: () => logger };
  return logger;
}
