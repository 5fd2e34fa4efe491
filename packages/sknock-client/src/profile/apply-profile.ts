import { resolve } from 'node:path';
import { closestName } from '@sknock/protocol/suggest';
import { publishWarning } from '../diagnostics.js';
import { SknockClientError, invalidOption } from '../errors.js';
import { describe, type KnockerOptions, type KnockTargetOptions } from '../options.js';
import { readPassphraseFile } from '../passphrase-file.js';
import { findSection, readProfileFile } from './load-profile.js';
import { mergeKnockSettings, mergeProfile } from './merge.js';
import type { ProfileSection } from './profile-file.js';
import { profileFileLocation } from './paths.js';

/**
 * The SDK's `profile` option. The SDK reads the profile file only when the caller asks with
 * `profile: true` (the section for `host`) or `profile: 'name'` (that section); without it no
 * file is read, whatever the environment says. The section fills in what the caller left out
 * (merge.ts); its `passphraseFile` is read here, and one that other users can read is reported
 * on `sknock:client:warning`.
 *
 * Three uses: a call that loads credentials (`knock()`, `connect()`, `tlsConnect()`: the whole
 * section), `createKnocker()` (a section by name: its credentials now, its knock settings as
 * defaults of every call), and a knocker's own calls, `socket()` and the agents (`settings`:
 * only the section's knock settings; the credentials stay the knocker's). For a knocker's
 * calls the file is read at each call (each new connection of an agent), so an edit applies
 * to the next connection.
 */

/** What the profile adds to the options of `knock()`, `connect()`, `createKnocker()` and a knocker's calls. */
export interface ProfileOptions {
  /**
   * `true`: the section of the profile file that matches `host`; a string: the section of that
   * name. The file is `profileFile`, else `$SKNOCK_CONFIG`, `$XDG_CONFIG_HOME/sknock/config`,
   * `~/.config/sknock/config`.
   */
  readonly profile: true | string;
  /** The profile file to read instead of the default one. */
  readonly profileFile?: string;
}

/** `knock()` options taking credentials and settings from a profile: those the section gives may be left out. */
export interface ProfileKnockOptions extends ProfileOptions, Partial<KnockerOptions>, KnockTargetOptions {}

/** `createKnocker()` options from a profile (`profile` is a section name: a knocker has no host). */
export interface ProfileKnockerOptions extends Partial<KnockerOptions> {
  readonly profile: string;
  readonly profileFile?: string;
}

export interface AppliedProfile {
  /** The options with the section filled in, `profile` and `profileFile` removed. */
  readonly options: Record<string, unknown>;
  readonly section: ProfileSection | undefined;
}

/** `call`: a call that loads credentials; `knocker`: createKnocker (a name only); `settings`: a knocker's call (knock settings only). */
export type ProfileUse = 'call' | 'knocker' | 'settings';

/** The option names `profile` adds. */
export const PROFILE_KEYS: readonly string[] = ['profile', 'profileFile'];

/**
 * Checks `profile` and `profileFile` without reading anything (also for the defaults of
 * `knocker.socket()` and the agents, checked when they are made).
 */
export function checkProfileOptions(profile: unknown, profileFile: unknown, use: ProfileUse): void {
  if (profile === undefined) {
    if (profileFile !== undefined) throw invalidOption('profileFile', "is read only with profile: true or profile: 'name'");
    return;
  }
  const byName = use === 'knocker';
  if (byName ? typeof profile !== 'string' || profile.trim() === '' : profile !== true && (typeof profile !== 'string' || profile.trim() === '')) {
    throw invalidOption('profile', byName ? `must be the name of a section (createKnocker has no host to match), got ${describe(profile)}` : `must be true (the section for host) or a section name, got ${describe(profile)}`);
  }
  if (profileFile !== undefined && (typeof profileFile !== 'string' || profileFile === '')) throw invalidOption('profileFile', `must be a path, got ${describe(profileFile)}`);
}

/**
 * Fills `options` from the profile they ask for, or returns them as they are. `allowed` are
 * the option names of the call (checked here first, so a misspelt option fails before any
 * file is read); `use` says what the section may give (see above).
 */
export async function applyProfile(options: unknown, allowed: readonly string[], use: ProfileUse = 'call'): Promise<AppliedProfile> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) return { options: options as Record<string, unknown>, section: undefined };
  const { profile, profileFile, ...rest } = options as Record<string, unknown>;
  if (profile === undefined) {
    checkProfileOptions(profile, profileFile, use);
    return { options: options as Record<string, unknown>, section: undefined };
  }
  for (const key of Object.keys(rest)) {
    if (allowed.includes(key)) continue;
    const near = closestName(key, [...allowed, ...PROFILE_KEYS]);
    throw invalidOption(key, `unknown option${near === undefined ? '' : `; did you mean ${near}?`}`);
  }
  checkProfileOptions(profile, profileFile, use);

  let selector: { host: string } | { name: string };
  if (profile === true) {
    const host = rest['host'];
    if (typeof host !== 'string' || host.trim() === '') throw invalidOption('host', `is needed to find the profile section (profile: true), got ${describe(host)}`);
    selector = { host };
  } else {
    selector = { name: (profile as string).trim() };
  }
  const path = profileFile === undefined ? profileFileLocation().path : resolve(profileFile as string);
  const file = await readProfileFile(profileFile === undefined ? 'profile' : 'profileFile', path);
  const section = findSection(file, selector);
  if (use === 'settings') return { options: mergeKnockSettings(rest, section.settings), section };
  const merged = mergeProfile(rest, section.settings);
  if (merged.passphraseFile !== undefined) {
    const read = await withProfileContext(readPassphraseFile('passphraseFile', merged.passphraseFile), section, path);
    if (read.looseModeWarning !== undefined) publishWarning({ warning: 'passphrase-file-mode', path: read.path, mode: read.mode, message: read.looseModeWarning });
    merged.options['passphrase'] = read.passphrase;
  }
  return { options: merged.options, section };
}

/** A file error for a path from the profile says where that path was written. */
async function withProfileContext<T>(step: Promise<T>, section: ProfileSection, path: string): Promise<T> {
  try {
    return await step;
  } catch (err) {
    if (!(err instanceof SknockClientError) || err.option === undefined) throw err;
    const line = section.keyLines[err.option];
    throw new SknockClientError(err.code, `${err.message} (${err.option} of [${section.name}] in ${path}${line === undefined ? '' : ` line ${line}`})`, {
      cause: err.cause,
      option: err.option,
      ...(err.path === undefined ? {} : { path: err.path }),
    });
  }
}
