/**
 * Bad usage of a command line (an unknown flag, a missing argument, two flags that exclude
 * each other): the command prints the message, points at `--help` and exits with
 * `EXIT_USAGE` (2). Its code for `--json` output is `ERR_SKNOCK_USAGE`.
 */
export class UsageError extends Error {
  readonly code = 'ERR_SKNOCK_USAGE';
  /** The subcommand whose `--help` to point at, if any. */
  readonly command: string | undefined;

  constructor(message: string, command?: string) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}
