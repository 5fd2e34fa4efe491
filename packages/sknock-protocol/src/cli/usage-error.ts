import { SknockError } from '../errors/sknock-error.js';

/**
 * Bad usage of a command line (an unknown flag, a missing argument, two flags that exclude
 * each other) of `sknock`, `sknock-server` or `sknock-ca`: the command prints the message,
 * points at `--help` and exits with `EXIT_USAGE` (2); `--json` output shows the code.
 */
export class UsageError extends SknockError {
  declare readonly code: 'ERR_SKNOCK_USAGE';
  /** The subcommand whose `--help` to point at, if any. */
  readonly command: string | undefined;

  constructor(message: string, command?: string) {
    super('ERR_SKNOCK_USAGE', message);
    this.name = 'UsageError';
    this.command = command;
  }
}
