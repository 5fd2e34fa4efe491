import { readFile } from 'node:fs/promises';
import { canPrompt, readHiddenLine } from '@sknock/protocol/cli';
import { SknockCaError } from '../errors.js';
import { UsageError } from '@sknock/protocol/cli';

/**
 * Passphrases, of the PKCS#12 files `sknock-ca` writes (`--passphrase-file`,
 * `--passphrase-env`) and of the CA key (`--ca-passphrase-file`, `--ca-passphrase-env`):
 * from a file (first line), an environment variable or a prompt on the terminal (no echo;
 * a new passphrase is asked twice). Never from the command line itself, where other users
 * can read it in the process list. One prompt serves both.
 */

export interface PassphraseIo {
  readonly input: NodeJS.ReadStream;
  readonly output: NodeJS.WriteStream;
  readonly env: NodeJS.ProcessEnv;
}

/** Reads one line from the terminal without echo (`@sknock/protocol/cli`). Ctrl-C and Ctrl-D end the command. */
async function promptHidden(io: PassphraseIo, prompt: string): Promise<string> {
  const line = await readHiddenLine(io, prompt);
  if (line.end !== 'enter') throw new SknockCaError('ERR_SKNOCK_CA_PASSPHRASE', 'no passphrase entered (cancelled)');
  return line.text;
}

/** Option names of one passphrase: the PKCS#12 files written, or the CA key. */
export interface PassphraseFlags {
  readonly file: string;
  readonly env: string;
}

/** `--passphrase-file` / `--passphrase-env`: the passphrase of the PKCS#12 file a command writes. */
export const PKCS12_PASSPHRASE_FLAGS: PassphraseFlags = { file: 'passphrase-file', env: 'passphrase-env' };
/** `--ca-passphrase-file` / `--ca-passphrase-env`: the passphrase of the CA key (ca.key). */
export const CA_PASSPHRASE_FLAGS: PassphraseFlags = { file: 'ca-passphrase-file', env: 'ca-passphrase-env' };

/** A passphrase to be read (or asked for) once the command is ready to use it. */
export interface PassphraseSource {
  /** Where it comes from, for messages: `--ca-passphrase-file pw.txt`, `the terminal`. */
  readonly origin: string;
  /** Reads it; on a terminal, `prompt` is asked (twice when the source confirms). */
  read(prompt: string): Promise<string>;
}

export interface PassphraseSpec {
  readonly flags: PassphraseFlags;
  /** The command, for usage errors. */
  readonly command: string;
  /** What the passphrase protects, for messages: `the PKCS#12 file`, `the CA key`. */
  readonly what: string;
  /** Ask twice on a terminal (a new passphrase). */
  readonly confirm: boolean;
  /**
   * True: without an option and a terminal the command cannot run (a usage error now).
   * False: the passphrase may not be needed (an unencrypted CA key), so that usage error
   * comes only if it is read.
   */
  readonly required: boolean;
  /** More ways out, for the usage error (e.g. `, or --no-passphrase for a test CA`). */
  readonly otherwise?: string;
}

function flagValue(values: PassphraseOptionValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

type PassphraseOptionValues = Readonly<Record<string, unknown>>;

/** Reads the first line of `file` as a passphrase. */
async function fromFile(file: string, flag: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new SknockCaError('ERR_SKNOCK_CA_IO', `could not read the passphrase file ${file} (${flag}): ${(cause as NodeJS.ErrnoException).code ?? cause}`, { cause });
  }
  const passphrase = text.split(/\r?\n/, 1)[0] ?? '';
  if (passphrase === '') throw new SknockCaError('ERR_SKNOCK_CA_PASSPHRASE', `the first line of the passphrase file ${file} (${flag}) is empty`);
  return passphrase;
}

/**
 * Where a passphrase will come from, checked before any work is done (bad usage is
 * `UsageError`): `--…-file`, `--…-env` or, on a terminal, a prompt without echo.
 */
export function passphraseSource(values: PassphraseOptionValues, spec: PassphraseSpec, io: PassphraseIo): PassphraseSource {
  const fileFlag = `--${spec.flags.file}`;
  const envFlag = `--${spec.flags.env}`;
  const file = flagValue(values, spec.flags.file);
  const variable = flagValue(values, spec.flags.env);
  if (file !== undefined && variable !== undefined) throw new UsageError(`give ${fileFlag} or ${envFlag}, not both`, spec.command);
  if (file !== undefined) return { origin: `${fileFlag} ${file}`, read: () => fromFile(file, fileFlag) };
  if (variable !== undefined) {
    return {
      origin: `${envFlag} ${variable}`,
      read: async () => {
        const value = io.env[variable];
        if (value === undefined || value === '') {
          throw new SknockCaError('ERR_SKNOCK_CA_PASSPHRASE', `the environment variable ${variable} (from ${envFlag}) is not set or empty`);
        }
        return value;
      },
    };
  }
  if (canPrompt(io.input)) {
    return {
      origin: 'the terminal',
      read: async (prompt) => {
        const passphrase = await promptHidden(io, prompt);
        if (passphrase === '') throw new SknockCaError('ERR_SKNOCK_CA_PASSPHRASE', 'the passphrase is empty');
        if (!spec.confirm) return passphrase;
        const again = await promptHidden(io, 'Same passphrase again: ');
        if (again !== passphrase) throw new SknockCaError('ERR_SKNOCK_CA_PASSPHRASE', 'the two passphrases differ');
        return passphrase;
      },
    };
  }
  const usage = new UsageError(
    `a passphrase is needed for ${spec.what} and standard input is not a terminal to ask for one: ` +
      `give ${fileFlag} FILE or ${envFlag} VARIABLE${spec.otherwise ?? ''} (passphrases are never taken from the command line)`,
    spec.command,
  );
  if (spec.required) throw usage;
  return {
    origin: 'nowhere',
    read: () => Promise.reject(usage),
  };
}
