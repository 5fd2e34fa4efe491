import { readFile } from 'node:fs/promises';
import { SknockCaError } from '../errors.js';
import { UsageError } from './usage-error.js';

/**
 * PKCS#12 passphrases: from a file (`--passphrase-file`, first line), an environment
 * variable (`--passphrase-env VAR`) or a prompt on the terminal (no echo, asked twice).
 * Never from the command line itself, where other users can read it in the process list.
 */

export interface PassphraseOptions {
  readonly 'passphrase-file'?: string;
  readonly 'passphrase-env'?: string;
}

export interface PassphraseIo {
  readonly input: NodeJS.ReadStream;
  readonly output: NodeJS.WriteStream;
  readonly env: NodeJS.ProcessEnv;
}

/** Reads one line from a terminal without echo. Ctrl-C and Ctrl-D end the command. */
function promptHidden(io: PassphraseIo, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const { input, output } = io;
    let text = '';
    input.setRawMode(true); // before the prompt: whatever is typed after it is not echoed
    output.write(prompt);
    input.resume();
    input.setEncoding('utf8');
    const done = (error: Error | undefined): void => {
      input.setRawMode(false);
      input.pause();
      input.removeListener('data', onData);
      output.write('\n');
      if (error === undefined) resolve(text);
      else reject(error);
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done(undefined);
        if (ch === '\u0003' || ch === '\u0004') {
          return done(new SknockCaError('ERR_SKNOCK_CA_PASSPHRASE', 'no passphrase entered (cancelled)'));
        }
        if (ch === '\u007f' || ch === '\b') text = [...text].slice(0, -1).join('');
        else if (ch >= ' ') text += ch;
      }
    };
    input.on('data', onData);
  });
}

/** Asks for (or reads) the passphrase once the command is ready to use it. */
export type PassphraseSource = (what: string) => Promise<string>;

/**
 * Where the passphrase for a new PKCS#12 file will come from, checked before any work is
 * done (bad usage is `UsageError`); calling the result reads or asks for it.
 */
export function passphraseSource(options: PassphraseOptions, command: string, io: PassphraseIo): PassphraseSource {
  const file = options['passphrase-file'];
  const variable = options['passphrase-env'];
  if (file !== undefined && variable !== undefined) {
    throw new UsageError('give --passphrase-file or --passphrase-env, not both', command);
  }
  if (file !== undefined) {
    return async () => {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (cause) {
        throw new SknockCaError('ERR_SKNOCK_CA_IO', `could not read the passphrase file ${file}: ${(cause as NodeJS.ErrnoException).code ?? cause}`, { cause });
      }
      const passphrase = text.split(/\r?\n/, 1)[0] ?? '';
      if (passphrase === '') throw new SknockCaError('ERR_SKNOCK_CA_PASSPHRASE', `the first line of the passphrase file ${file} is empty`);
      return passphrase;
    };
  }
  if (variable !== undefined) {
    return async () => {
      const value = io.env[variable];
      if (value === undefined || value === '') {
        throw new SknockCaError('ERR_SKNOCK_CA_PASSPHRASE', `the environment variable ${variable} (from --passphrase-env) is not set or empty`);
      }
      return value;
    };
  }
  if (io.input.isTTY === true && typeof io.input.setRawMode === 'function') {
    return async (what) => {
      const passphrase = await promptHidden(io, `Passphrase for ${what}: `);
      if (passphrase === '') throw new SknockCaError('ERR_SKNOCK_CA_PASSPHRASE', 'the passphrase is empty');
      const again = await promptHidden(io, 'Same passphrase again: ');
      if (again !== passphrase) throw new SknockCaError('ERR_SKNOCK_CA_PASSPHRASE', 'the two passphrases differ');
      return passphrase;
    };
  }
  throw new UsageError(
    'a passphrase is needed for the PKCS#12 file and standard input is not a terminal to ask for one: ' +
      'give --passphrase-file FILE or --passphrase-env VARIABLE (passphrases are never taken from the command line)',
    command,
  );
}
