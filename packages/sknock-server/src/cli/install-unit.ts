/**
 * `sknock-server install-unit`: the package's one systemd unit (systemd/sknock-server.service)
 * with its command lines pointed at this installation, written to
 * /etc/systemd/system/sknock-server.service (or printed with `--output -`).
 *
 * Each `sknock-server …` command of the unit becomes `<node> <server-main.js> …`, both
 * resolved from the running command (`process.execPath` and this package's own file), so the
 * unit works whatever npm's prefix is and wherever node is (nvm, /usr/local, /usr), and the
 * shebang's `env node` is not looked up on systemd's fixed PATH. `--config FILE` replaces
 * /etc/sknock/config.ini. Run it again after moving node or the package.
 */
import { realpathSync } from 'node:fs';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SknockError } from '@sknock/protocol/errors';
import { DEFAULT_CONFIG_PATH } from '../constants.js';

/** Where `install-unit` writes by default. */
export const DEFAULT_UNIT_PATH = '/etc/systemd/system/sknock-server.service';

/** The unit as shipped, beside dist/ in the package. */
export const SHIPPED_UNIT_URL = new URL('../../../systemd/sknock-server.service', import.meta.url);

/** Folders that the unit's ProtectHome=yes hides from the service. */
const HOME_FOLDERS = ['/home/', '/root/', '/run/user/'];

/** `sknock-server install-unit` cannot write the unit (code `ERR_SKNOCK_INSTALL_UNIT`). */
export class InstallUnitError extends SknockError {
  declare readonly code: 'ERR_SKNOCK_INSTALL_UNIT';

  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_SKNOCK_INSTALL_UNIT', message, options);
    this.name = 'InstallUnitError';
  }
}

/** One word of an Exec line: quoted when it has blanks, `%` and `$` doubled (systemd.service(5) "Command lines"). */
function execWord(word: string): string {
  if (/["\\\n]/.test(word)) throw new InstallUnitError(`cannot write ${JSON.stringify(word)} into a unit file (a quote, backslash or newline in it)`);
  const escaped = word.replaceAll('%', '%%').replaceAll('$', '$$$$');
  return /\s/.test(escaped) ? `"${escaped}"` : escaped;
}

export interface UnitPaths {
  /** The node binary (default `process.execPath`). */
  readonly node: string;
  /** The daemon's main script (default: this package's dist/src/cli/server-main.js, symlinks resolved). */
  readonly script: string;
  /** The config file the unit's commands name (absolute). */
  readonly config: string;
}

export interface RenderedUnit {
  readonly text: string;
  /** Things the operator should know (e.g. node under a home folder). */
  readonly notes: string[];
}

/** The shipped unit's text with the commands and config path of `paths`. */
export function renderUnit(template: string, paths: UnitPaths): RenderedUnit {
  const notes: string[] = [];
  if (!isAbsolute(paths.config)) throw new InstallUnitError(`--config must be an absolute path in a unit file, got ${paths.config}`);
  const command = `${execWord(paths.node)} ${execWord(paths.script)}`;
  let text = template
    .split('\n')
    .map((line) => {
      const m = /^(ExecStartPre|ExecStart|ExecReload)=sknock-server( .*)?$/.exec(line);
      if (!m) return line;
      const rest = (m[2] ?? '').replaceAll(` --config ${DEFAULT_CONFIG_PATH}`, ` --config ${execWord(paths.config)}`);
      return `${m[1]}=${command}${rest}`;
    })
    .join('\n');
  // The README installed with this package (dist/src/cli/server-main.js → the package root).
  const readme = resolve(dirname(paths.script), '../../../README.md');
  text = text.replace(/^Documentation=file:\S*$/m, `Documentation=file:${readme.replaceAll('%', '%%')}`);
  if (!/^ExecStart=/m.test(text) || /^Exec[A-Za-z]*=sknock-server/m.test(text)) {
    throw new InstallUnitError('the shipped unit file does not have the expected ExecStart=sknock-server … lines');
  }
  const hidden = [paths.node, paths.script, paths.config].filter((p) => HOME_FOLDERS.some((h) => p.startsWith(h)));
  if (hidden.length > 0) {
    text = text.replace(/^ProtectHome=yes$/m, 'ProtectHome=read-only');
    notes.push(`${hidden.join(', ')} ${hidden.length === 1 ? 'is' : 'are'} under a home folder, which ProtectHome=yes would hide from the service: the unit says ProtectHome=read-only instead (install node and the package system-wide to keep ProtectHome=yes)`);
  }
  return { text, notes };
}

/** This package's daemon entry point, symlinks resolved. */
export function serverMainPath(): string {
  const here = fileURLToPath(new URL('./server-main.js', import.meta.url));
  try {
    return realpathSync(here);
  } catch {
    return here;
  }
}

export interface InstallUnitOptions {
  readonly config?: string;
  /** A file, or `-` for standard output (default /etc/systemd/system/sknock-server.service). */
  readonly output?: string;
  /** Replace an existing file that differs. */
  readonly force?: boolean;
  readonly node?: string;
  readonly script?: string;
}

/** Renders the unit and writes it (atomically) or returns it for printing. */
export async function installUnit(options: InstallUnitOptions = {}): Promise<{ text: string; notes: string[]; written?: string; unchanged?: boolean }> {
  const template = await readFile(SHIPPED_UNIT_URL, 'utf8');
  const { text, notes } = renderUnit(template, {
    node: options.node ?? process.execPath,
    script: options.script ?? serverMainPath(),
    config: resolve(options.config ?? DEFAULT_CONFIG_PATH),
  });
  const output = options.output ?? DEFAULT_UNIT_PATH;
  if (output === '-') return { text, notes };
  let existing: string | undefined;
  try {
    existing = await readFile(output, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new InstallUnitError(`cannot read ${output}: ${(err as Error).message}`);
  }
  if (existing === text) return { text, notes, written: output, unchanged: true };
  if (existing !== undefined && options.force !== true) {
    throw new InstallUnitError(`${output} exists and differs from the unit this installation would write: compare with \`sknock-server install-unit --output -\`, then add --force to replace it`);
  }
  try {
    await stat(dirname(output));
  } catch {
    throw new InstallUnitError(`the folder of ${output} does not exist (is systemd installed?)`);
  }
  const temporary = `${output}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, text, { mode: 0o644 });
    await rename(temporary, output);
  } catch (err) {
    throw new InstallUnitError(`cannot write ${output}: ${(err as Error).message}`);
  }
  return { text, notes, written: output };
}
