import type { ParseArgsConfig } from 'node:util';
import type { PassphraseIo } from './passphrase.js';

/** What every `sknock-ca` subcommand looks like. */

export interface CliIo extends PassphraseIo {
  /** Normal output (results, paths). */
  readonly stdout: NodeJS.WritableStream;
  /** Messages for people (errors, notes). */
  readonly stderr: NodeJS.WritableStream;
}

export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface CommandContext {
  readonly values: OptionValues;
  readonly positionals: readonly string[];
  readonly io: CliIo;
  /** Writes a line to standard output. */
  print(line?: string): void;
  /** Writes a line to standard error. */
  note(line: string): void;
}

export interface Command {
  readonly name: string;
  /** One line for `sknock-ca --help`. */
  readonly summary: string;
  /** The whole `--help` text. */
  readonly help: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  /** Positional arguments: how many, at least and at most. */
  readonly positionals: readonly [min: number, max: number];
  run(context: CommandContext): Promise<void>;
}

/** Options every command takes. */
export const COMMON_OPTIONS = {
  dir: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Options of commands that sign with the CA key (and of `init`, which makes it). */
export const CA_PASSPHRASE_OPTIONS = {
  'ca-passphrase-file': { type: 'string' },
  'ca-passphrase-env': { type: 'string' },
} as const;

/** Options of commands that make certificates. */
export const AFTER_2049_OPTIONS = {
  'allow-after-2049': { type: 'boolean' },
} as const;

/** Options of commands that write PKCS#12. */
export const PASSPHRASE_OPTIONS = {
  'passphrase-file': { type: 'string' },
  'passphrase-env': { type: 'string' },
  legacy: { type: 'boolean' },
} as const;

export const CA_PASSPHRASE_HELP = [
  '  --ca-passphrase-file FILE',
  '                         the CA key\'s passphrase is the first line of FILE',
  '  --ca-passphrase-env VAR',
  '                         the CA key\'s passphrase is in the environment variable VAR',
  '                         (without either, it is asked for on the terminal when ca.key is encrypted;',
  '                         a CA made with --no-passphrase, or before keys were encrypted, needs none)',
].join('\n');

export const AFTER_2049_HELP = [
  '  --allow-after-2049     let the certificate be valid past 2049; X.509 writes such dates as',
  '                         GeneralizedTime, which sKnock 1.0.0 cannot read (a warning without',
  '                         this flag, a refusal with --legacy)',
].join('\n');

export const DIR_HELP = '  --dir DIR              the CA folder (default ./sknock-ca)';
export const PASSPHRASE_HELP = [
  '  --passphrase-file FILE the PKCS#12 passphrase is the first line of FILE',
  '  --passphrase-env VAR   the PKCS#12 passphrase is in the environment variable VAR',
  '                         (without either, it is asked for on the terminal, without echo)',
  '  --legacy               write the PKCS#12 file in the legacy form (RC2-40/3DES, SHA-1 MAC)',
  '                         that OpenSSL 1.x and sKnock 1.0.0 read; default PBES2 (AES-256, SHA-256)',
].join('\n');

/** The CA folder when `--dir` is not given. */
export const DEFAULT_CA_DIR = './sknock-ca';
