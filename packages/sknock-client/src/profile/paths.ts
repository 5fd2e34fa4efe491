import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';

/**
 * Where the profile file is, and how paths inside it are read.
 *
 * The file: `$SKNOCK_CONFIG` when set (and then it must exist), else
 * `$XDG_CONFIG_HOME/sknock/config` (an XDG_CONFIG_HOME that is not absolute is ignored, as
 * the XDG Base Directory spec says), else `~/.config/sknock/config`.
 */

export interface ProfileFileLocation {
  readonly path: string;
  /** Named by `$SKNOCK_CONFIG` (or by the caller): a missing file is then an error. */
  readonly explicit: boolean;
}

export function profileFileLocation(env: NodeJS.ProcessEnv = process.env): ProfileFileLocation {
  const named = env['SKNOCK_CONFIG'];
  if (named !== undefined && named !== '') return { path: resolve(expandHome(named)), explicit: true };
  const xdg = env['XDG_CONFIG_HOME'];
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(homedir(), '.config');
  return { path: join(base, 'sknock', 'config'), explicit: false };
}

/** `~` and `~/…` as the home folder; `~user` is not expanded (the reader refuses it). */
export function expandHome(path: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return join(homedir(), path.slice(2));
  return path;
}

/** A path from the file at `file`: `~` expanded, a relative one taken from the file's folder. */
export function resolveProfilePath(file: string, value: string): string {
  const expanded = expandHome(value);
  return isAbsolute(expanded) ? expanded : resolve(dirname(file), expanded);
}
