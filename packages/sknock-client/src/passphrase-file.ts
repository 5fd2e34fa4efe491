import { stat } from 'node:fs/promises';
import { readOptionFile } from './read-input.js';

/**
 * A password kept in a file (the profile key `passphraseFile`, `sknock --passphrase-file`):
 * the first line, without its line ending. The file's mode is looked at too: a password file
 * that other users can read or change is reported (the SDK publishes a warning on
 * `sknock:client:warning`, the command prints it), never refused, since a group-readable file
 * can be intended.
 */

export interface PassphraseFile {
  readonly passphrase: string;
  readonly path: string;
  /** Permission bits, e.g. 0o600. */
  readonly mode: number;
  /** Set when group or others have any permission on the file (not on Windows, where modes mean nothing). */
  readonly looseModeWarning: string | undefined;
}

/** Reads `path` for `option` (typed file errors name both). */
export async function readPassphraseFile(option: string, path: string): Promise<PassphraseFile> {
  const bytes = await readOptionFile(option, path);
  const text = Buffer.from(bytes).toString('utf8');
  const newline = text.search(/\r?\n/);
  const passphrase = newline === -1 ? text : text.slice(0, newline);
  let mode = 0o600;
  try {
    mode = (await stat(path)).mode & 0o777;
  } catch {
    // Read a moment ago: a pipe (/dev/fd/N) or a file removed since; nothing to warn about.
  }
  const loose = process.platform !== 'win32' && (mode & 0o077) !== 0;
  const how = (mode & 0o044) !== 0 ? 'read' : (mode & 0o022) !== 0 ? 'changed' : 'used';
  return {
    passphrase,
    path,
    mode,
    looseModeWarning: loose ? `the passphrase file ${path} can be ${how} by other users (mode ${mode.toString(8).padStart(4, '0')}); run: chmod 600 ${path}` : undefined,
  };
}
