/**
 * The configuration's one error class. `code` is always `ERR_SKNOCK_CONFIG`; `key` names the
 * config key at fault (when one is), `file` and `line` where it was read. `problems` lists every
 * problem found, the first of which is the message.
 */

import { SknockError } from '@sknock/protocol/errors';

export type SknockConfigErrorCode = 'ERR_SKNOCK_CONFIG';

/** One thing wrong with a configuration. */
export interface ConfigProblem {
  /** The key as the user spelt it (INI key or option name), if the problem is about one key. */
  readonly key?: string;
  /** The config file, if the configuration came from one. */
  readonly file?: string;
  /** 1-based line in `file`. */
  readonly line?: number;
  /** Full sentence naming the key, the file and the line. */
  readonly message: string;
}

export class SknockConfigError extends SknockError {
  declare readonly code: SknockConfigErrorCode;
  readonly key: string | undefined;
  readonly file: string | undefined;
  readonly line: number | undefined;
  /** Every problem found (at least one). */
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[], options?: { cause?: unknown }) {
    const first = problems[0] ?? { message: 'invalid configuration' };
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''}: run \`sknock-server check-config\`)` : '';
    super('ERR_SKNOCK_CONFIG', first.message + more, options);
    this.name = 'SknockConfigError';
    this.key = first.key;
    this.file = first.file;
    this.line = first.line;
    this.problems = problems.length > 0 ? [...problems] : [first];
  }
}

export function isSknockConfigError(err: unknown): err is SknockConfigError {
  return err instanceof SknockConfigError;
}

/** " in FILE line N" / " in FILE" / "" — the place part of a message. */
export function where(file: string | undefined, line: number | undefined): string {
  if (file === undefined) return '';
  return line === undefined ? ` in ${file}` : ` in ${file} line ${line}`;
}
