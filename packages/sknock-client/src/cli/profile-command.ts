import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { SknockClientError } from '../errors.js';
import { readPassphraseFile } from '../passphrase-file.js';
import { setSection } from '../profile/edit-profile.js';
import { PROFILE_KEYS, parseProfileValue, type ProfileKey } from '../profile/keys.js';
import { parseProfileFile, type ProfileSection } from '../profile/profile-file.js';
import { selectSection } from '../profile/select.js';
import { writeProfileFile } from '../profile/write-profile.js';
import { describeError } from './errors.js';
import { parseFlags } from './parse-flags.js';
import { cliProfileLocation, readCliProfileFile } from './profile-args.js';
import { EXIT_FAILED, EXIT_OK, PROFILE_USAGE, UsageError } from './usage.js';

/**
 * `sknock profile add <section> [settings]`, `sknock profile list`, `sknock profile show <host>`.
 * The profile file holds paths and settings, never a password (only `passphraseFile`, the
 * path of a file holding one), so `list` shows everything as written.
 */

const OPTIONS = {
  pfx: { type: 'string' },
  key: { type: 'string' },
  cert: { type: 'string' },
  'server-cert': { type: 'string' },
  'passphrase-file': { type: 'string' },
  'passphrase-env': { type: 'string' },
  'knock-port': { type: 'string' },
  'source-address': { type: 'string' },
  'local-address': { type: 'string' },
  'stun-server': { type: 'string' },
  'grant-seconds': { type: 'string' },
  ipv4: { type: 'boolean', short: '4' },
  ipv6: { type: 'boolean', short: '6' },
  force: { type: 'boolean' },
  config: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Flag → profile key, in the order `add` writes them. */
const FLAG_KEYS: readonly (readonly [keyof typeof OPTIONS, ProfileKey])[] = [
  ['pfx', 'pfx'],
  ['key', 'key'],
  ['cert', 'certificate'],
  ['server-cert', 'serverCertificate'],
  ['passphrase-file', 'passphraseFile'],
  ['knock-port', 'knockPort'],
  ['source-address', 'sourceAddress'],
  ['stun-server', 'stunServer'],
  ['local-address', 'localAddress'],
  ['grant-seconds', 'grantSeconds'],
];

type Values = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

export async function profileCommand(args: readonly string[]): Promise<number> {
  let json = args.includes('--json');
  try {
    const parsed = parseFlags(args, OPTIONS, true);
    const v = parsed.values as Values;
    json = v.json === true;
    const [sub, ...rest] = parsed.positionals;
    if (v.help === true || sub === 'help') {
      process.stdout.write(`${PROFILE_USAGE}\n`);
      return EXIT_OK;
    }
    switch (sub) {
      case 'add':
        return await add(rest, v, json);
      case 'list':
        if (rest.length > 0) throw new UsageError(`profile list: takes no arguments (got ${rest.join(' ')})`);
        onlyFlags(v, 'list', ['config', 'json']);
        return await list(v, json);
      case 'show':
        if (rest.length !== 1) throw new UsageError('profile show: give one host or section name');
        onlyFlags(v, 'show', ['config', 'json']);
        return await show(rest[0] as string, v, json);
      case undefined:
        throw new UsageError('profile: give add, list or show');
      default:
        throw new UsageError(`profile: unknown subcommand ${JSON.stringify(sub)} (add, list, show)`);
    }
  } catch (err) {
    const d = describeError(err);
    if (json) process.stdout.write(`${JSON.stringify({ ok: false, error: { code: d.code, message: d.message } })}\n`);
    else {
      process.stderr.write(`sknock: ${d.message}\n`);
      if (d.code === 'ERR_SKNOCK_USAGE') process.stderr.write(`Try 'sknock profile --help'.\n`);
    }
    return d.exitCode;
  }
}

function onlyFlags(v: Values, sub: string, allowed: readonly string[]): void {
  for (const [flag, value] of Object.entries(v)) {
    if (value !== undefined && !allowed.includes(flag)) throw new UsageError(`profile ${sub}: --${flag} is for profile add`);
  }
}

async function add(rest: readonly string[], v: Values, json: boolean): Promise<number> {
  if (rest.length !== 1) throw new UsageError('profile add: give one section name: a host (db.example.com), a pattern (*.example.com) or a profile name');
  const name = rest[0] as string;
  try {
    parseProfileFile(`[${name}]\n`, 'the section name');
  } catch (err) {
    if (err instanceof SknockClientError) throw new UsageError(`profile add: ${err.message.replace(/^the section name line 1: /, '')}`);
    throw err;
  }
  if (v['passphrase-env'] !== undefined) {
    throw new UsageError('profile add: a profile keeps no password and no variable name; give --passphrase-file FILE, or --passphrase-env VAR when you knock');
  }
  if (v.ipv4 === true && v.ipv6 === true) throw new UsageError('profile add: give -4 or -6, not both');
  if (v.pfx !== undefined && (v.key !== undefined || v.cert !== undefined)) throw new UsageError('profile add: give --pfx, or --key and --cert, not both');
  if ((v.key === undefined) !== (v.cert === undefined)) throw new UsageError(v.key === undefined ? 'profile add: --cert needs --key' : 'profile add: --key needs --cert');

  const warnings: string[] = [];
  const entries: [string, string][] = [];
  for (const [flag, key] of FLAG_KEYS) {
    const given = v[flag];
    if (typeof given !== 'string') continue;
    const info = PROFILE_KEYS.find((k) => k.name === key);
    if (info === undefined) continue;
    if (/[\r\n]/.test(given) || given !== given.trim()) throw new UsageError(`--${flag}: a value in the profile file cannot start or end with spaces or hold a line break`);
    let value = given;
    if (info.kind === 'path') {
      value = resolve(given);
      await mustBeAFile(`--${flag}`, value);
      if (key === 'passphraseFile') {
        const read = await readPassphraseFile('passphraseFile', value);
        if (read.looseModeWarning !== undefined) warnings.push(read.looseModeWarning);
      }
    }
    const parsed = parseProfileValue(info.kind, value);
    if (typeof parsed === 'object') throw new UsageError(`--${flag}: ${parsed.error}`);
    entries.push([key, value]);
  }
  if (v.ipv4 === true || v.ipv6 === true) entries.push(['family', v.ipv4 === true ? '4' : '6']);
  if (entries.length === 0) throw new UsageError('profile add: give at least one setting (--pfx, --server-cert, --knock-port, …)');

  const location = cliProfileLocation(v);
  let before = '';
  try {
    before = await readFile(location.path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new UsageError(`profile add: cannot read ${location.path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  // A file the reader refuses is not edited: fix it first (the error names the line).
  parseProfileFile(before, location.path);
  const edited = setSection(before, name, entries, v.force === true);
  if (edited.existingLine !== undefined && v.force !== true) {
    throw new UsageError(`profile add: [${name}] is in ${location.path} already (line ${edited.existingLine}); --force replaces its settings`);
  }
  // Never write what the reader would refuse.
  parseProfileFile(edited.text, location.path);
  const written = await writeProfileFile(location.path, edited.text);
  for (const w of warnings) process.stderr.write(`sknock: warning: ${w}\n`);
  const replaced = edited.existingLine !== undefined;
  process.stdout.write(
    json
      ? `${JSON.stringify({ ok: true, section: name, path: written, replaced, settings: Object.fromEntries(entries) })}\n`
      : `sknock: ${replaced ? 'replaced' : 'wrote'} [${name}] in ${written} (mode 0600)\n`,
  );
  return EXIT_OK;
}

async function mustBeAFile(flag: string, path: string): Promise<void> {
  try {
    if (!(await stat(path)).isFile()) throw new UsageError(`${flag}: ${path} is not a file`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`${flag}: ${code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? String(err)})`}: ${path}`);
  }
}

function sectionJson(s: ProfileSection): Record<string, unknown> {
  return { name: s.name, line: s.line, settings: { ...s.written } };
}

function sectionText(s: ProfileSection): string {
  const lines = Object.entries(s.written).map(([k, value]) => `  ${k} = ${value}`);
  return `[${s.name}] (line ${s.line})\n${lines.join('\n')}${lines.length > 0 ? '\n' : ''}`;
}

async function list(v: Values, json: boolean): Promise<number> {
  const location = cliProfileLocation(v);
  const file = await readCliProfileFile(v, false);
  const sections = file?.sections ?? [];
  if (json) process.stdout.write(`${JSON.stringify({ ok: true, path: location.path, exists: file !== undefined, sections: sections.map(sectionJson) })}\n`);
  else if (file === undefined) process.stdout.write(`sknock: no profile file at ${location.path} (sknock profile add … writes one)\n`);
  else process.stdout.write(`# ${file.path}\n${sections.map(sectionText).join('\n')}`);
  return EXIT_OK;
}

async function show(host: string, v: Values, json: boolean): Promise<number> {
  const location = cliProfileLocation(v);
  const file = await readCliProfileFile(v, true);
  const section = file === undefined ? undefined : selectSection(file, { host });
  if (section === undefined) {
    const message = `no section of ${location.path} applies to ${host}`;
    if (json) process.stdout.write(`${JSON.stringify({ ok: false, error: { code: 'ERR_SKNOCK_PROFILE_NOT_FOUND', message } })}\n`);
    else process.stderr.write(`sknock: ${message}\n`);
    return EXIT_FAILED;
  }
  if (json) process.stdout.write(`${JSON.stringify({ ok: true, host, path: location.path, section: section.name, line: section.line, settings: section.settings })}\n`);
  else {
    const lines = Object.entries(section.settings).map(([k, value]) => `  ${k} = ${String(value)}`);
    process.stdout.write(`${host}: [${section.name}] of ${location.path} line ${section.line}\n${lines.join('\n')}\n`);
  }
  return EXIT_OK;
}
