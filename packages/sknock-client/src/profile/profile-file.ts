import { scanIni } from '@sknock/protocol/ini';
import { closestName } from '@sknock/protocol/suggest';
import { SknockClientError } from '../errors.js';
import { PROFILE_KEY_NAMES, parseProfileValue, profileKey, type ProfileSettings } from './keys.js';
import { resolveProfilePath } from './paths.js';

/**
 * The profile file: INI (the line grammar of `@sknock/protocol/ini`, as the server's
 * config.ini), one section per host pattern or profile name, the keys of keys.ts. Keys are
 * case-insensitive; a value runs to the end of its line (no inline comments); paths are
 * resolved against the file's folder with `~` expanded. The first mistake ends the read with
 * ERR_SKNOCK_PROFILE_INVALID naming the file, the line and the key.
 */

export interface ProfileSection {
  /** As written between the brackets. */
  readonly name: string;
  /** Line of the `[name]` header. */
  readonly line: number;
  /** Values as typed; paths absolute. */
  readonly settings: ProfileSettings;
  /** The value of each key set here as written in the file (for `sknock profile list`), by key name. */
  readonly written: Readonly<Record<string, string>>;
  /** The line of each key set here, by key name. */
  readonly keyLines: Readonly<Record<string, number>>;
}

export interface ProfileFile {
  readonly path: string;
  readonly sections: readonly ProfileSection[];
}

/** Characters of a section name: a host name or IP address, `*` wildcards, or a profile name. */
const SECTION_NAME = /^[A-Za-z0-9._:*-]+$/;

export function profileError(path: string, line: number | undefined, key: string | undefined, message: string): SknockClientError {
  const where = line === undefined ? path : `${path} line ${line}`;
  return new SknockClientError('ERR_SKNOCK_PROFILE_INVALID', `${where}: ${message}`, { option: 'profile', path, ...(line === undefined ? {} : { line }), ...(key === undefined ? {} : { key }) });
}

export function parseProfileFile(text: string, path: string): ProfileFile {
  const sections: { name: string; line: number; settings: Record<string, unknown>; written: Record<string, string>; lines: Map<string, number> }[] = [];
  for (const scanned of scanIni(text)) {
    const { line } = scanned;
    const current = sections[sections.length - 1];
    switch (scanned.kind) {
      case 'blank':
      case 'comment':
        break;
      case 'indented':
        throw profileError(path, line, undefined, 'indented line: remove the leading spaces (a value cannot go on over several lines)');
      case 'invalid':
        throw profileError(path, line, undefined, 'expected "key = value", a [host] section header or a # comment');
      case 'section': {
        const name = scanned.name;
        if (name === '') throw profileError(path, line, undefined, 'empty section name []: give a host, a pattern such as *.example.com, or a profile name');
        if (name.toUpperCase() === 'DEFAULT') {
          throw profileError(path, line, undefined, `[${name}] is not special here: one section applies to a host; write [*] for the settings of every host no other section matches`);
        }
        if (!SECTION_NAME.test(name)) throw profileError(path, line, undefined, `[${name}]: a section name holds letters, digits and . - _ : * only (a host, a pattern or a profile name)`);
        const twin = sections.find((s) => s.name.toLowerCase() === name.toLowerCase());
        if (twin !== undefined) throw profileError(path, line, undefined, `section [${name}] is given twice (first on line ${twin.line}); keep one`);
        sections.push({ name, line, settings: {}, written: {}, lines: new Map() });
        break;
      }
      case 'entry': {
        const { key, value } = scanned;
        if (current === undefined) throw profileError(path, line, key, `'${key}' is outside any section: put it under a [host] header`);
        const info = profileKey(key);
        if (info === undefined) {
          const near = closestName(key, PROFILE_KEY_NAMES);
          throw profileError(path, line, key, `unknown key '${key}' in [${current.name}]${near === undefined ? '' : `; did you mean '${near}'?`} (keys: ${PROFILE_KEY_NAMES.join(', ')})`);
        }
        const earlier = current.lines.get(info.name);
        if (earlier !== undefined) throw profileError(path, line, key, `'${key}' is given twice in [${current.name}] (first on line ${earlier}); keep one`);
        const parsed = parseProfileValue(info.kind, value);
        if (typeof parsed === 'object') throw profileError(path, line, key, `${info.name} ${parsed.error}`);
        if (info.kind === 'path' && /^~[^/]/.test(value)) throw profileError(path, line, key, `${info.name}: only ~ and ~/ are expanded, not ${value.split('/')[0]}; write the full path`);
        current.lines.set(info.name, line);
        current.written[info.name] = value;
        current.settings[info.name] = info.kind === 'path' ? resolveProfilePath(path, parsed as string) : parsed;
        break;
      }
    }
  }
  for (const s of sections) {
    const has = (k: string): boolean => s.settings[k] !== undefined;
    const at = (k: string): number | undefined => s.lines.get(k);
    if (has('pfx') && (has('key') || has('certificate'))) {
      throw profileError(path, at(has('key') ? 'key' : 'certificate'), has('key') ? 'key' : 'certificate', `[${s.name}] gives pfx and key/certificate: keep one`);
    }
    if (has('key') !== has('certificate')) {
      const given = has('key') ? 'key' : 'certificate';
      throw profileError(path, at(given), given, `[${s.name}] gives ${given} without ${given === 'key' ? 'certificate' : 'key'}`);
    }
  }
  return {
    path,
    sections: sections.map((s) =>
      Object.freeze({
        name: s.name,
        line: s.line,
        settings: Object.freeze(s.settings as ProfileSettings),
        written: Object.freeze(s.written),
        keyLines: Object.freeze(Object.fromEntries(s.lines)),
      }),
    ),
  };
}
