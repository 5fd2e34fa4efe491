import { parseArgs, type ParseArgsConfig } from 'node:util';
import { closestName } from '@sknock/protocol/suggest';
import { UsageError } from './usage.js';

/**
 * `util.parseArgs` with messages a person can act on: an unknown `--flag` gets "did you mean",
 * and a password flag (`--passphrase secret`, `--password …`) is refused with where a password
 * goes instead, since a command line is visible to every user of the machine (`ps`, shell
 * history).
 */

type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags people reach for to give a password on the command line. */
const PASSWORD_FLAGS = new Set(['passphrase', 'password', 'pass', 'passwd', 'pw', 'pin']);

export const PASSWORD_ON_COMMAND_LINE =
  'a password is never taken on the command line, where other users can read it (ps, shell history): ' +
  'give --passphrase-env VAR (the password in the environment variable VAR) or --passphrase-file FILE (its first line), ' +
  'or leave both out to be asked on the terminal';

export function parseFlags<O extends Options>(args: readonly string[], options: O, allowPositionals: boolean): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  const loose = parseArgs({ args: [...args], options, allowPositionals: true, strict: false, tokens: true });
  for (const token of loose.tokens ?? []) {
    if (token.kind !== 'option' || token.name in options) continue;
    if (PASSWORD_FLAGS.has(token.name.toLowerCase())) throw new UsageError(`${token.rawName}: ${PASSWORD_ON_COMMAND_LINE}`);
    if (token.rawName.startsWith('--')) {
      const near = closestName(token.name, Object.keys(options));
      throw new UsageError(`unknown option ${token.rawName}${near === undefined ? '' : `; did you mean --${near}?`}`);
    }
    throw new UsageError(`unknown option ${token.rawName}`);
  }
  try {
    const parsed = parseArgs({ args: [...args], options, allowPositionals, strict: true });
    return { values: parsed.values as Record<string, string | boolean | undefined>, positionals: parsed.positionals };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
