import { closeSync, openSync } from 'node:fs';
import { ReadStream, WriteStream } from 'node:tty';
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

/** Asks on the controlling terminal without echo; `undefined` when there is no terminal. */
export async function promptPassphrase(prompt: string): Promise<string | undefined> {
  let inFd: number;
  let outFd: number;
  try {
    inFd = openSync('/dev/tty', 'r');
  } catch {
    return undefined;
  }
  try {
    outFd = openSync('/dev/tty', 'w');
  } catch {
    closeSync(inFd);
    return undefined;
  }
  const input = new ReadStream(inFd);
  const output = new WriteStream(outFd);
  input.setRawMode(true); // before the prompt: whatever is typed after it is not echoed
  output.write(prompt);
  try {
    return await new Promise<string>((resolve, reject) => {
      let typed = '';
      input.on('data', (chunk: Buffer) => {
        for (const ch of chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n' || ch === '\u0004') return resolve(typed);
          if (ch === '\u0003') return reject(new InterruptedError());
          if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
          else typed += ch;
        }
      });
      input.on('error', reject);
    });
  } finally {
    input.setRawMode(false);
    output.write('\n');
    input.destroy();
    output.destroy();
  }
}
