import { closestName } from '@sknock/protocol/suggest';
import { SknockClientError } from '../errors.js';
import { readOptionFile } from '../read-input.js';
import { parseProfileFile, type ProfileFile, type ProfileSection } from './profile-file.js';
import { selectSection, type ProfileSelector } from './select.js';

/** Reading the profile file and finding the section for a host or a name, with typed errors. */

/** Reads and parses the file at `path`; `option` names what pointed at it (file errors name it). */
export async function readProfileFile(option: string, path: string): Promise<ProfileFile> {
  const bytes = await readOptionFile(option, path);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new SknockClientError('ERR_SKNOCK_PROFILE_INVALID', `${path}: not UTF-8 text`, { option: 'profile', path, cause });
  }
  return parseProfileFile(text, path);
}

/** The section for `selector`, or ERR_SKNOCK_PROFILE_NOT_FOUND saying what there is. */
export function findSection(file: ProfileFile, selector: ProfileSelector): ProfileSection {
  const section = selectSection(file, selector);
  if (section !== undefined) return section;
  const names = file.sections.map((s) => s.name);
  const list = names.length === 0 ? 'it has no sections' : `its sections: ${names.map((n) => `[${n}]`).join(' ')}`;
  if ('name' in selector) {
    const near = closestName(selector.name, names);
    throw new SknockClientError(
      'ERR_SKNOCK_PROFILE_NOT_FOUND',
      `profile: ${file.path} has no section [${selector.name}]${near === undefined ? '' : `; did you mean [${near}]?`} (${list})`,
      { option: 'profile', path: file.path },
    );
  }
  throw new SknockClientError('ERR_SKNOCK_PROFILE_NOT_FOUND', `profile: no section of ${file.path} matches the host ${selector.host} (${list}; add [${selector.host}] or a pattern such as [*])`, {
    option: 'profile',
    path: file.path,
  });
}
