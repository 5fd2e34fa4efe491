import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { KnockOptions } from '../options.js';
import { mergeProfile } from '../profile/merge.js';
import { passphraseFromSources, promptPassphrase, readPassphraseFlagFile } from './passphrase.js';
import { parseFlags } from './parse-flags.js';
import { loadCliProfile, type CliProfile } from './profile-args.js';
import { UsageError } from './usage.js';

/**
 * The knock options shared by `sknock knock` and `sknock connect`, as `util.parseArgs`
 * definitions, and their translation into SDK options: the profile section for the host
 * (or `--profile NAME`) first, the flags over it.
 */

export const KNOCK_ARG_OPTIONS = {
  port: { type: 'string', short: 'p' },
  udp: { type: 'boolean', short: 'u' },
  ipv4: { type: 'boolean', short: '4' },
  ipv6: { type: 'boolean', short: '6' },
  pfx: { type: 'string' },
  key: { type: 'string' },
  cert: { type: 'string' },
  'server-cert': { type: 'string' },
  'passphrase-file': { type: 'string' },
  'passphrase-env': { type: 'string' },
  'source-address': { type: 'string' },
  'local-address': { type: 'string' },
  'stun-server': { type: 'string' },
  'grant-seconds': { type: 'string' },
  profile: { type: 'string' },
  'no-profile': { type: 'boolean' },
  config: { type: 'string' },
  'knock-port': { type: 'string' },
  'no-verify': { type: 'boolean' },
  timeout: { type: 'string' },
  retries: { type: 'string' },
  json: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type KnockArgValues = { [K in keyof typeof KNOCK_ARG_OPTIONS]?: (typeof KNOCK_ARG_OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

/** The knock/connect command line: flag values and positionals; a parse failure is a UsageError. */
export function parseKnockArgs(args: readonly string[]): { values: KnockArgValues; positionals: string[] } {
  const parsed = parseFlags(args, KNOCK_ARG_OPTIONS, true);
  return { values: parsed.values as KnockArgValues, positionals: parsed.positionals };
}

export function parsePortArg(text: string | undefined, flag: string): number {
  if (text === undefined) throw new UsageError(`${flag} is required`);
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) throw new UsageError(`${flag}: not a port number from 1 to 65535: ${text}`);
  return Number(text);
}

function parseCount(text: string, flag: string, max: number, min = 0): number {
  if (!/^[0-9]+$/.test(text) || Number(text) > max || Number(text) < min) throw new UsageError(`${flag}: not a whole number from ${min} to ${max}: ${text}`);
  return Number(text);
}

function parseSeconds(text: string, flag: string): number {
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds <= 0 || seconds > 2_000_000) throw new UsageError(`${flag}: not a number of seconds: ${text}`);
  return Math.max(1, Math.round(seconds * 1000));
}

/** What the command line and the profile make of a knock. */
export interface KnockArgs {
  readonly options: KnockOptions;
  /** How to name each SDK option in messages: its flag, or where in the profile file it was set. */
  readonly names: Readonly<Record<string, string>>;
  /** The profile section used, if any. */
  readonly profile: CliProfile | undefined;
  /** Things to tell the user on stderr (a passphrase file others can read). */
  readonly warnings: readonly string[];
}

/** SDK option → the flag that sets it. */
export const OPTION_FLAGS: Readonly<Record<string, string>> = {
  pfx: '--pfx',
  key: '--key',
  certificate: '--cert',
  serverCertificate: '--server-cert',
  sourceAddress: '--source-address',
  localAddress: '--local-address',
  stunServer: '--stun-server',
  grantSeconds: '--grant-seconds',
  knockPort: '--knock-port',
  timeout: '--timeout',
  retries: '--retries',
  host: '<host>',
  port: '<port>',
  family: '-4/-6',
  passphrase: 'the password',
};

/**
 * SDK options from parsed flags and the profile file. Asks for a password only when one is
 * needed and no flag, variable or profile gives it.
 */
export async function knockOptionsFromArgs(host: string, port: number, v: KnockArgValues): Promise<KnockArgs> {
  if (v.ipv4 === true && v.ipv6 === true) throw new UsageError('give -4 or -6, not both');
  const credentialFlags = [v.pfx !== undefined && '--pfx', (v.key !== undefined || v.cert !== undefined) && '--key/--cert'].filter(Boolean);
  if (credentialFlags.length > 1) throw new UsageError('give --pfx, or --key and --cert, not both');
  if (v.key !== undefined && v.cert === undefined) throw new UsageError('--key needs --cert');
  if (v.cert !== undefined && v.key === undefined) throw new UsageError('--cert needs --key');
  const source = v['source-address'];
  if (source !== undefined && source !== 'auto' && isIP(source) === 0) throw new UsageError(`--source-address: not an IP address, nor auto: ${source}`);
  if (v['local-address'] !== undefined && isIP(v['local-address']) === 0) throw new UsageError(`--local-address: not an IP address: ${v['local-address']}`);
  if (v['no-profile'] === true && (v.profile !== undefined || v.config !== undefined)) throw new UsageError('--no-profile: give it without --profile and --config');

  const explicit: Record<string, unknown> = { host, port, protocol: v.udp === true ? 'udp' : 'tcp' };
  if (v['server-cert'] !== undefined) explicit['serverCertificate'] = v['server-cert'];
  if (v.pfx !== undefined) explicit['pfx'] = v.pfx;
  if (v.key !== undefined) explicit['key'] = v.key;
  if (v.cert !== undefined) explicit['certificate'] = v.cert;
  if (v.ipv4 === true) explicit['family'] = 4;
  if (v.ipv6 === true) explicit['family'] = 6;
  if (source !== undefined) explicit['sourceAddress'] = source;
  if (v['local-address'] !== undefined) explicit['localAddress'] = v['local-address'];
  if (v['stun-server'] !== undefined) explicit['stunServer'] = v['stun-server'];
  if (v['grant-seconds'] !== undefined) explicit['grantSeconds'] = parseCount(v['grant-seconds'], '--grant-seconds', 86_400, 1);
  if (v['knock-port'] !== undefined) explicit['knockPort'] = parsePortArg(v['knock-port'], '--knock-port');
  if (v['no-verify'] === true) explicit['verify'] = false;
  if (v.timeout !== undefined) explicit['timeout'] = parseSeconds(v.timeout, '--timeout');
  if (v.retries !== undefined) explicit['retries'] = parseCount(v.retries, '--retries', 100);

  const warnings: string[] = [];
  const flagPassword = await passphraseFromSources({ file: v['passphrase-file'], env: v['passphrase-env'] }, warnings);
  if (flagPassword !== undefined) explicit['passphrase'] = flagPassword;

  const profile = v['no-profile'] === true ? undefined : await loadCliProfile(host, v);
  const names: Record<string, string> = { ...OPTION_FLAGS };
  let options = explicit;
  let passphraseFile: string | undefined;
  if (profile !== undefined) {
    const merged = mergeProfile(explicit, profile.section.settings);
    options = merged.options;
    passphraseFile = merged.passphraseFile;
    for (const key of Object.keys(profile.section.settings)) {
      if (explicit[key] === undefined && options[key] !== undefined) names[key] = profile.describeKey(key);
    }
  }
  const fromProfile = profile === undefined ? '' : ` (none in [${profile.section.name}] of ${profile.path})`;
  const noProfileHint = profile === undefined ? ', or a [host] section in the profile file (sknock profile add)' : '';
  if (options['serverCertificate'] === undefined) throw new UsageError(`--server-cert is required${fromProfile}${noProfileHint}`);
  if (options['pfx'] === undefined && options['key'] === undefined) throw new UsageError(`give --pfx FILE, or --key FILE --cert FILE${fromProfile}${noProfileHint}`);

  let passphrase = flagPassword;
  if (passphrase === undefined && passphraseFile !== undefined && profile !== undefined) {
    const read = await readPassphraseFlagFile(passphraseFile, profile.describeKey('passphraseFile'), warnings);
    passphrase = read;
  }
  if (options['pfx'] !== undefined) {
    const pfx = options['pfx'] as string;
    passphrase ??= await promptPassphrase(`Password for ${pfx}: `);
    if (passphrase === undefined) throw new UsageError(`${names['pfx']} needs a password: --passphrase-file FILE, --passphrase-env VAR, passphraseFile in a profile, or a terminal to type it on`);
  } else if (passphrase === undefined && (await isEncryptedKey(options['key'] as string))) {
    passphrase = await promptPassphrase(`Password for ${options['key'] as string}: `);
    if (passphrase === undefined) throw new UsageError(`${names['key']} is encrypted: give --passphrase-file FILE, --passphrase-env VAR, or run on a terminal`);
  }
  if (passphrase !== undefined) options['passphrase'] = passphrase;
  else delete options['passphrase'];
  return { options: options as unknown as KnockOptions, names, profile, warnings };
}

/** True for a PEM key file that says it is encrypted; unreadable files are left to the SDK's errors. */
async function isEncryptedKey(path: string): Promise<boolean> {
  try {
    const text = await readFile(path, 'latin1');
    return text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || /Proc-Type: 4,ENCRYPTED/.test(text);
  } catch {
    return false;
  }
}
