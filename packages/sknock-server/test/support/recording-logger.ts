import type { Logger } from '../../src/logging/logger-type.js';

/** A Logger that keeps every record, for tests that check what was logged. */
export interface LogRecord {
  readonly level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  readonly msg: string | undefined;
  readonly fields: Record<string, unknown>;
}

export interface RecordingLogger extends Logger {
  readonly records: LogRecord[];
}

export function recordingLogger(bindings: Record<string, unknown> = {}, records: LogRecord[] = []): RecordingLogger {
  const log =
    (level: LogRecord['level']) =>
    (objOrMsg: object | string, msg?: string): void => {
      if (typeof objOrMsg === 'string') records.push({ level, msg: objOrMsg, fields: { ...bindings } });
      else records.push({ level, msg, fields: { ...bindings, ...(objOrMsg as Record<string, unknown>) } });
    };
  return {
    records,
    trace: log('trace'),
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    fatal: log('fatal'),
    child: (more: object) => recordingLogger({ ...bindings, ...(more as Record<string, unknown>) }, records),
  };
}
