/**
 * The daemon's logging interface: the subset of pino's `Logger` the server uses, so that
 * pino (src/logging/create-logger.ts) or a recording fake in tests can stand behind it.
 *
 * Call it as pino does: `logger.warn({ key: value }, 'message')` or `logger.info('message')`.
 */
export type LogFn = (objOrMsg: object | string, msg?: string) => void;

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  /** A logger that adds `bindings` to every record (pino `child`). */
  child(bindings: object): Logger;
}
