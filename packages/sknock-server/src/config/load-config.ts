import { readFile } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import { SknockConfigError, where } from './errors.js';
import type { ConfigProblem } from './errors.js';
import { parseIniDetailed } from './ini.js';
import { CONFIG_KEY_SPECS, SPEC_BY_INI_KEY } from './option-names.js';
import { validateConfig } from './resolve.js';
import type { GivenValue, ValidateResult } from './resolve.js';
import { closestName } from '@sknock/protocol/suggest';
import type { ServerConfig } from './types.js';

/** `config.ini` → ServerConfig: every problem collected (used by loadConfigFile and checkConfig). */
export async function readConfigFileDetailed(path: string): Promise<ValidateResult & { readonly file: string }> {
  const file = resolvePath(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable (permission denied)' : code === 'EISDIR' ? 'is a folder' : (err as Error).message;
    return { file, problems: [{ file, message: `config file ${file} ${why}` }], warnings: [], partial: {} };
  }
  const { entries, problems } = parseIniDetailed(text, file);
  const given = new Map<string, GivenValue>();
  const iniKeys = CONFIG_KEY_SPECS.map((s) => s.key);
  for (const [lower, entry] of entries) {
    const spec = SPEC_BY_INI_KEY.get(lower);
    if (spec === undefined) {
      const hint = closestName(entry.key, iniKeys);
      problems.push({
        key: entry.key,
        file,
        line: entry.line,
        message: `unknown key '${entry.key}'${where(file, entry.line)}${hint ? `; did you mean ${hint}?` : ''}`,
      });
      continue;
    }
    given.set(spec.option, { raw: entry.value, spelled: entry.key, line: entry.line });
  }
  const result = validateConfig({ given, file, baseDir: dirname(file), naming: 'ini' });
  const all: ConfigProblem[] = [...problems, ...result.problems].sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
  return all.length > 0 ? { file, problems: all, warnings: result.warnings, partial: result.partial } : { ...result, file };
}

/**
 * Reads an original-style sKnock `config.ini` (its `[DEFAULT]` section), validates every key,
 * resolves relative paths against the file's folder and reads `PFXPasswdFile`.
 * Throws `SknockConfigError` (naming key, file and line) listing every problem found.
 */
export async function loadConfigFile(path: string): Promise<ServerConfig> {
  const result = await readConfigFileDetailed(path);
  if (result.problems.length > 0 || result.config === undefined) throw new SknockConfigError(result.problems);
  return result.config;
}
