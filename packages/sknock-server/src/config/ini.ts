import { scanIni } from '@sknock/protocol/ini';
import { SknockConfigError, where } from './errors.js';
import type { ConfigProblem } from './errors.js';

/**
 * The original sKnock's `config.ini` form, as Python's ConfigParser read it (the line
 * grammar is `@sknock/protocol/ini`'s `scanIni`, shared with the client's profile file):
 *
 * - one `[DEFAULT]` section (keys before any section header count as `[DEFAULT]`; any other
 *   section is an error, the original read only `[DEFAULT]`);
 * - `key = value` or `key: value`, split at the first `=` or `:`; key and value trimmed;
 * - keys case-insensitive (ConfigParser lower-cases them);
 * - whole-line comments starting with `#` or `;`; blank lines ignored.
 *
 * Stricter than ConfigParser, so that a mistake is reported rather than guessed at: no inline
 * comments (a value runs to the end of its line, which keeps `#` and `;` usable in a password),
 * no indented continuation lines, no key given twice, no `%` interpolation.
 */

export interface IniEntry {
  /** The key as written. */
  readonly key: string;
  /** The value, trimmed (may be empty). */
  readonly value: string;
  /** 1-based line number. */
  readonly line: number;
}

export interface IniParseResult {
  /** Entries of `[DEFAULT]` by lower-cased key. */
  readonly entries: Map<string, IniEntry>;
  /** Structural problems (bad section, bad line, duplicate key). */
  readonly problems: ConfigProblem[];
}

/** Parses `text` collecting every problem instead of stopping at the first. */
export function parseIniDetailed(text: string, fileName?: string): IniParseResult {
  const entries = new Map<string, IniEntry>();
  const problems: ConfigProblem[] = [];
  let inDefault = true;
  for (const scanned of scanIni(text)) {
    const { line } = scanned;
    const at = where(fileName, line);
    switch (scanned.kind) {
      case 'blank':
      case 'comment':
        break;
      case 'indented':
        problems.push({
          file: fileName,
          line,
          message: `indented line${at}: the INI format reads it as a continuation of the previous value, which sKnock does not use; remove the leading spaces`,
        });
        break;
      case 'section': {
        const name = scanned.name;
        inDefault = name === 'DEFAULT';
        if (!inDefault) {
          const hint = name.toUpperCase() === 'DEFAULT' ? ' (section names are case-sensitive: write [DEFAULT])' : '';
          problems.push({
            file: fileName,
            line,
            message: `section [${name}]${at} is not read: sKnock reads its keys from the [DEFAULT] section only${hint}`,
          });
        }
        break;
      }
      case 'invalid':
        problems.push({ file: fileName, line, message: `cannot read line${at}: expected "key = value", a [DEFAULT] section header or a # comment` });
        break;
      case 'entry': {
        // Keys inside another section are not read (that section was reported once).
        if (!inDefault) break;
        const { key, value } = scanned;
        const lower = key.toLowerCase();
        const earlier = entries.get(lower);
        if (earlier) {
          problems.push({
            key,
            file: fileName,
            line,
            message: `key '${key}'${at} is given twice (first on line ${earlier.line}); keep one`,
          });
          break;
        }
        entries.set(lower, { key, value, line });
        break;
      }
    }
  }
  return { entries, problems };
}

/**
 * The `[DEFAULT]` section of an original-style `config.ini` as a map from lower-cased key to
 * `{ key, value, line }`. Throws `SknockConfigError` listing every structural problem.
 */
export function parseIni(text: string, fileName?: string): Map<string, IniEntry> {
  const { entries, problems } = parseIniDetailed(text, fileName);
  if (problems.length > 0) throw new SknockConfigError(problems);
  return entries;
}
