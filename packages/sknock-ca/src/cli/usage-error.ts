import { SknockError } from '@sknock/protocol/errors';

/** Bad usage of the command line (code `ERR_SKNOCK_USAGE`): the command prints the message and exits with 2. */
export class UsageError extends SknockError {
  declare readonly code: 'ERR_SKNOCK_USAGE';
  /** The command whose `--help` to point at, if any. */
  readonly command: string | undefined;

  constructor(message: string, command?: string) {
    super('ERR_SKNOCK_USAGE', message);
    this.name = 'UsageError';
    this.command = command;
  }
}
