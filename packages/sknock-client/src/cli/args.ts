import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import type { KnockOptions } from '../options.js';
import { passphraseFromSources, promptPassphrase } from './passphrase.js';
import { UsageError } from './usage.js';

/**
 * The knock options shared by `sknock knock` and `sknock connect`, as `util.parseArgs`
 * definitions, and their translation into SDK options.
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
  try {
    const parsed = parseArgs({ args: [...args], options: KNOCK_ARG_OPTIONS, allowPositionals: true, strict: true });
    return { values: parsed.values as KnockArgValues, positionals: parsed.positionals };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function parsePortArg(text: string | undefined, flag: string): number {
  if (text === undefined) throw new UsageError(`${flag} is required`);
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) throw new UsageError(`${flag}: not a port number from 1 to 65535: ${text}`);
  return Number(text);
}

function parseCount(text: string, flag: string, max: number): number {
  if (!/^[0-9]+$/.test(text) || Number(text) > max) throw new UsageError(`${flag}: not a whole number from 0 to ${max}: ${text}`);
  return Number(text);
}

function parseSeconds(text: string, flag: string): number {
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds <= 0 || seconds > 2_000_000) throw new UsageError(`${flag}: not a number of seconds: ${text}`);
  return Math.max(1, Math.round(seconds * 1000));
}

/**
 * SDK options from parsed flags. Asks for a password only when one is needed and no file
 * or variable gives it.
 */
export async function knockOptionsFromArgs(host: string, port: number, v: KnockArgValues): Promise<KnockOptions> {
  if (v.ipv4 === true && v.ipv6 === true) throw new UsageError('give -4 or -6, not both');
  if (v['server-cert'] === undefined) throw new UsageError('--server-cert is required');
  const credentialFlags = [v.pfx !== undefined && '--pfx', (v.key !== undefined || v.cert !== undefined) && '--key/--cert'].filter(Boolean);
  if (credentialFlags.length === 0) throw new UsageError('give --pfx FILE, or --key FILE --cert FILE');
  if (credentialFlags.length > 1) throw new UsageError('give --pfx, or --key and --cert, not both');
  if (v.key !== undefined && v.cert === undefined) throw new UsageError('--key needs --cert');
  if (v.cert !== undefined && v.key === undefined) throw new UsageError('--cert needs --key');
  if (v['source-address'] !== undefined && isIP(v['source-address']) === 0) throw new UsageError(`--source-address: not an IP address: ${v['source-address']}`);

  const options: Record<string, unknown> = {
    host,
    port,
    protocol: v.udp === true ? 'udp' : 'tcp',
    serverCertificate: v['server-cert'],
  };
  if (v.ipv4 === true) options['family'] = 4;
  if (v.ipv6 === true) options['family'] = 6;
  if (v['source-address'] !== undefined) options['sourceAddress'] = v['source-address'];
  if (v['knock-port'] !== undefined) options['knockPort'] = parsePortArg(v['knock-port'], '--knock-port');
  if (v['no-verify'] === true) options['verify'] = false;
  if (v.timeout !== undefined) options['timeout'] = parseSeconds(v.timeout, '--timeout');
  if (v.retries !== undefined) options['retries'] = parseCount(v.retries, '--retries', 100);

  let passphrase = await passphraseFromSources({ file: v['passphrase-file'], env: v['passphrase-env'] });
  if (v.pfx !== undefined) {
    options['pfx'] = v.pfx;
    passphrase ??= await promptPassphrase(`Password for ${v.pfx}: `);
    if (passphrase === undefined) throw new UsageError('--pfx needs a password: --passphrase-file FILE, --passphrase-env VAR, or a terminal to type it on');
  } else {
    options['key'] = v.key;
    options['certificate'] = v.cert;
    if (passphrase === undefined && (await isEncryptedKey(v.key as string))) {
      passphrase = await promptPassphrase(`Password for ${v.key}: `);
      if (passphrase === undefined) throw new UsageError('--key is encrypted: give --passphrase-file FILE, --passphrase-env VAR, or run on a terminal');
    }
  }
  if (passphrase !== undefined) options['passphrase'] = passphrase;
  return options as unknown as KnockOptions;
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
