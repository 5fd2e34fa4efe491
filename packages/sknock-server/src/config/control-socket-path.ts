import { readFile } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import { DEFAULT_CONTROL_SOCKET } from './defaults.js';
import { SknockConfigError, where } from './errors.js';
import { parseIniDetailed } from './ini.js';
import { socketPath, ValueProblem } from './values.js';

/**
 * The control socket an admin command talks to: the `controlSocket` key of the config file
 * the daemon runs with (`--config`), read alone, so that a user who may not read the server's
 * key files (a member of the sknock group) can still find it. Undefined when it is off
 * (`controlSocket = none`). Throws `SknockConfigError` for an unreadable file or a bad value.
 */
export async function controlSocketOf(configFile: string): Promise<string | undefined> {
  const file = resolvePath(configFile);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable (permission denied)' : (err as Error).message;
    throw new SknockConfigError([{ file, message: `config file ${file} ${why}` }]);
  }
  const entry = parseIniDetailed(text, file).entries.get('controlsocket');
  if (entry === undefined) return DEFAULT_CONTROL_SOCKET;
  try {
    const path = socketPath(entry.value);
    return path === undefined ? undefined : resolvePath(dirname(file), path);
  } catch (err) {
    if (!(err instanceof ValueProblem)) throw err;
    throw new SknockConfigError([{ key: entry.key, file, line: entry.line, message: `bad value for ${entry.key}${where(file, entry.line)}: '${entry.value}' ${err.message}` }]);
  }
}
