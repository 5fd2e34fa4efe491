import { resolve } from 'node:path';
import { SknockClientError } from '../errors.js';
import { findSection, readProfileFile } from '../profile/load-profile.js';
import { profileFileLocation, type ProfileFileLocation } from '../profile/paths.js';
import type { ProfileFile, ProfileSection } from '../profile/profile-file.js';
import { selectSection } from '../profile/select.js';
import { UsageError } from './usage.js';

/**
 * The profile the `sknock` commands use: the file of `--config FILE`, `$SKNOCK_CONFIG`, or the
 * default one (which may be absent: then there are no profiles); the section of
 * `--profile NAME`, or else the one for the host (none matching is fine: the flags must then
 * say everything).
 */

export interface CliProfile {
  readonly path: string;
  readonly section: ProfileSection;
  /** `pfx in [db] of ~/.config/sknock/config line 3`: for messages about a value the profile gave. */
  describeKey(key: string): string;
}

export interface ProfileFlags {
  readonly profile?: string | undefined;
  readonly config?: string | undefined;
}

/** Where the profile file is for these flags. */
export function cliProfileLocation(flags: ProfileFlags): ProfileFileLocation & { readonly named: string | undefined } {
  if (flags.config !== undefined) return { path: resolve(flags.config), explicit: true, named: '--config' };
  const location = profileFileLocation();
  return { ...location, named: location.explicit ? '$SKNOCK_CONFIG' : undefined };
}

/** The parsed profile file, or undefined when the default one does not exist. */
export async function readCliProfileFile(flags: ProfileFlags, needed: boolean): Promise<ProfileFile | undefined> {
  const location = cliProfileLocation(flags);
  try {
    return await readProfileFile('profile', location.path);
  } catch (err) {
    if (!(err instanceof SknockClientError) || err.code !== 'ERR_SKNOCK_FILE_NOT_FOUND') throw err;
    if (location.named !== undefined) throw new UsageError(`${location.named}: file not found: ${location.path}`);
    if (needed) throw new UsageError(`there is no profile file ${location.path} (sknock profile add … writes one, or give --config FILE)`);
    return undefined;
  }
}

export async function loadCliProfile(host: string, flags: ProfileFlags): Promise<CliProfile | undefined> {
  const file = await readCliProfileFile(flags, flags.profile !== undefined);
  if (file === undefined) return undefined;
  let section: ProfileSection | undefined;
  if (flags.profile !== undefined) {
    try {
      section = findSection(file, { name: flags.profile });
    } catch (err) {
      if (err instanceof SknockClientError) throw new UsageError(`--profile ${err.message.replace(/^profile: /, '')}`);
      throw err;
    }
  } else {
    section = selectSection(file, { host });
  }
  if (section === undefined) return undefined;
  const found = section;
  return {
    path: file.path,
    section: found,
    describeKey: (key) => {
      const line = found.keyLines[key];
      return `${key} in [${found.name}] of ${file.path}${line === undefined ? '' : ` line ${line}`}`;
    },
  };
}
