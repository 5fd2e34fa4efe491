import { promptOnControllingTerminal } from '@sknock/protocol/cli';
import { SknockClientError } from '../errors.js';
import { readPassphraseFile } from '../passphrase-file.js';
import { InterruptedError, UsageError } from './usage.js';

/**
 * Passwords for the command: from a file, from an environment variable, or typed at the
 * terminal (`/dev/tty`, so that `connect` can prompt while stdin carries data). Never from
 * the command line, where other users can read it.
 */

export interface PassphraseSources {
  readonly file: string | undefined;
  readonly env: string | undefined;
}

/**
 * The password from --passphrase-file or --passphrase-env, or `undefined` when neither is
 * given. A passphrase file other users can read adds a line to `warnings`.
 */
export async function passphraseFromSources(sources: PassphraseSources, warnings: string[]): Promise<string | undefined> {
  if (sources.file !== undefined && sources.env !== undefined) throw new UsageError('give --passphrase-file or --passphrase-env, not both');
  if (sources.env !== undefined) {
    const value = process.env[sources.env];
    if (value === undefined) throw new UsageError(`--passphrase-env: the environment variable ${sources.env} is not set`);
    return value;
  }
  if (sources.file !== undefined) return readPassphraseFlagFile(sources.file, '--passphrase-file', warnings);
  return undefined;
}

/** The first line of the passphrase file `path`; `name` says where it was given (a flag, or a profile key). */
export async function readPassphraseFlagFile(path: string, name: string, warnings: string[]): Promise<string> {
  try {
    const read = await readPassphraseFile('passphraseFile', path);
    if (read.looseModeWarning !== undefined) warnings.push(read.looseModeWarning);
    return read.passphrase;
  } catch (err) {
    if (err instanceof SknockClientError) throw new UsageError(`${name}: ${err.message.replace(/^passphraseFile: /, '')}`);
    throw err;
  }
}

/**
 * Asks on the controlling terminal without echo (the commands' one prompt,
 * `@sknock/protocol/cli`); `undefined` when there is no terminal. Ctrl-C interrupts the
 * command; Ctrl-D ends the line like Enter.
 */
export async function promptPassphrase(prompt: string): Promise<string | undefined> {
  const line = await promptOnControllingTerminal(prompt);
  if (line === undefined) return undefined;
  if (line.end === 'interrupt') throw new InterruptedError();
  return line.text;
}
