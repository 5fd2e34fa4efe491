import { accessSync, constants as fsConstants, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import type { Credentials } from '@sknock/protocol';
import { FRAME_OVERHEAD_IPV6 } from '@sknock/protocol';
import { SknockConfigError, where } from './errors.js';
import type { ConfigProblem } from './errors.js';
import { CONFIG_KEY_SPECS, SPEC_BY_OPTION } from './option-names.js';
import type { ConfigKeySpec } from './option-names.js';
import { closestName } from '@sknock/protocol/suggest';
import { MAX_UNIX_SOCKET_PATH } from './defaults.js';
import { ValueProblem } from './values.js';
import type { ServerConfig } from './types.js';

/**
 * Validation shared by `config.ini` and library options: every key read and range-checked,
 * defaults filled in, paths made absolute, PFXPasswdFile read, files checked readable, and the
 * keys checked against each other. Every problem is collected, not just the first.
 */

/** Library options: the `ServerConfig` fields, all optional, plus `pfxPasswordFile`. */
export interface ServerConfigInput {
  readonly knockPacketMinLength?: number;
  readonly portOpenDurationSeconds?: number;
  readonly timestampThresholdSeconds?: number;
  readonly crlUpdateIntervalMinutes?: number;
  readonly signatureSize?: number;
  readonly recvBuffer?: number;
  /** One path or several (an array, or text separated by commas). */
  readonly crlFile?: string | readonly string[];
  /** One URL or several (an array, or text separated by commas or spaces). */
  readonly crlUrl?: string | readonly string[];
  readonly requireCrl?: boolean;
  /** PKCS#12 file of the server; give this (with a password) or `credentials`. */
  readonly serverPfxFile?: string;
  readonly pfxPassword?: string;
  /** File holding the PKCS#12 password (one trailing newline stripped). */
  readonly pfxPasswordFile?: string;
  /** In-memory server credentials instead of `serverPfxFile`. */
  readonly credentials?: Credentials;
  readonly caFile?: string;
  readonly firewallPolicy?: ServerConfig['firewallPolicy'];
  readonly firewallBackend?: ServerConfig['firewallBackend'];
  readonly knockPort?: number;
  readonly listenAddress?: string;
  readonly anyPortKnocks?: boolean;
  readonly firewallCheckIntervalSeconds?: number;
  readonly emergencyAccessPorts?: ServerConfig['emergencyAccessPorts'] | string;
  readonly logLevel?: ServerConfig['logLevel'];
  /** A path, or '' / 'none' for no control socket. */
  readonly controlSocket?: string;
  /** `127.0.0.1:9464`, `[::1]:9464` or `{ host, port }`; '' / 'none' for off. */
  readonly metricsAddress?: string | { readonly host: string; readonly port: number };
  readonly execOpenCommand?: string | readonly string[];
  readonly execCloseCommand?: string | readonly string[];
  readonly execSetupCommand?: string | readonly string[];
  readonly execTeardownCommand?: string | readonly string[];
  readonly execCommandTimeoutSeconds?: number;
}

/** One value as given: raw text (INI) or typed value (library), with how the user spelt its key. */
export interface GivenValue {
  readonly raw: unknown;
  readonly spelled: string;
  readonly line?: number;
}

export interface ValidateContext {
  /** Values by option name (`ConfigKeySpec.option`). */
  readonly given: ReadonlyMap<string, GivenValue>;
  /** The config file, for messages (undefined for library options). */
  readonly file?: string;
  /** Folder relative paths are resolved against. */
  readonly baseDir: string;
  /** 'ini' names keys by their INI spelling in cross-key messages, 'options' by option name. */
  readonly naming: 'ini' | 'options';
  readonly credentials?: Credentials;
}

export interface ValidateResult {
  readonly config?: ServerConfig;
  /** Every value that read well (by option name), also when other keys have problems. */
  readonly partial: Readonly<Partial<Record<keyof ServerConfig, unknown>>>;
  readonly problems: ConfigProblem[];
  /** Not errors, but worth telling an operator (e.g. no CRL file yet). */
  readonly warnings: string[];
}

export function validateConfig(ctx: ValidateContext): ValidateResult {
  const problems: ConfigProblem[] = [];
  const warnings: string[] = [];
  const values = new Map<string, unknown>();
  const name = (spec: ConfigKeySpec): string => ctx.given.get(spec.option)?.spelled ?? (ctx.naming === 'ini' ? spec.key : spec.option);
  const at = (spec: ConfigKeySpec): string => where(ctx.file, ctx.given.get(spec.option)?.line);
  const problem = (spec: ConfigKeySpec, message: string): void => {
    problems.push({ key: name(spec), file: ctx.file, line: ctx.given.get(spec.option)?.line, message });
  };
  const spec = (option: string): ConfigKeySpec => SPEC_BY_OPTION.get(option) as ConfigKeySpec;

  for (const s of CONFIG_KEY_SPECS) {
    const given = ctx.given.get(s.option);
    if (given === undefined) {
      if (s.defaultValue !== undefined) values.set(s.option, s.defaultValue);
      continue;
    }
    try {
      let value = s.read(given.raw);
      if (value !== undefined && s.isPath) {
        value = Array.isArray(value) ? Object.freeze(value.map((p: string) => resolvePath(ctx.baseDir, p))) : resolvePath(ctx.baseDir, value as string);
      }
      if (value !== undefined) values.set(s.option, value);
    } catch (err) {
      if (!(err instanceof ValueProblem)) throw err;
      const shown = s.secret ? 'its value' : typeof given.raw === 'string' ? `'${given.raw}'` : JSON.stringify(given.raw) ?? String(given.raw);
      problem(s, `bad value for ${given.spelled}${where(ctx.file, given.line)}: ${shown} ${err.message}`);
    }
  }

  // --- server credentials: PKCS#12 file + password, or in-memory credentials ---
  const pfxFile = values.get('serverPfxFile') as string | undefined;
  const hasPasswd = ctx.given.has('pfxPassword');
  const passwdFile = values.get('pfxPasswordFile') as string | undefined;
  if (ctx.credentials !== undefined) {
    if (ctx.given.has('serverPfxFile')) problem(spec('serverPfxFile'), `${name(spec('serverPfxFile'))}${at(spec('serverPfxFile'))} and credentials are both given; give one`);
  } else if (pfxFile === undefined) {
    const givenPfx = ctx.given.get('serverPfxFile');
    if (givenPfx === undefined || givenPfx.raw === '') {
      problems.push({
        key: name(spec('serverPfxFile')),
        file: ctx.file,
        line: givenPfx?.line,
        message: `${name(spec('serverPfxFile'))} is required${where(ctx.file, givenPfx?.line)}: the server's PKCS#12 file (key, certificate and CA certificate)`,
      });
    }
  } else {
    checkReadableFile(pfxFile, spec('serverPfxFile'));
  }
  if (hasPasswd && ctx.given.has('pfxPasswordFile')) {
    problem(
      spec('pfxPasswordFile'),
      `${name(spec('pfxPassword'))}${at(spec('pfxPassword'))} and ${name(spec('pfxPasswordFile'))}${at(spec('pfxPasswordFile'))} are both given; give the password one way only`,
    );
  } else if (passwdFile !== undefined) {
    if (checkReadableFile(passwdFile, spec('pfxPasswordFile'))) {
      try {
        values.set('pfxPassword', readFileSync(passwdFile, 'utf8').replace(/\r?\n$/, ''));
      } catch (err) {
        problem(spec('pfxPasswordFile'), `cannot read ${name(spec('pfxPasswordFile'))} ${passwdFile}${at(spec('pfxPasswordFile'))}: ${(err as Error).message}`);
      }
    }
  } else if (!hasPasswd && ctx.credentials === undefined && pfxFile !== undefined) {
    problems.push({
      key: name(spec('pfxPassword')),
      file: ctx.file,
      message: `${name(spec('pfxPassword'))} or ${name(spec('pfxPasswordFile'))} is required${where(ctx.file, undefined)} with ${name(spec('serverPfxFile'))} (write "${name(spec('pfxPassword'))} =" for a PKCS#12 file without a password)`,
    });
  }

  // --- other files ---
  const caFile = values.get('caFile') as string | undefined;
  if (caFile !== undefined) checkReadableFile(caFile, spec('caFile'));
  const crlFiles = (values.get('crlFile') as readonly string[] | undefined) ?? [];
  const crlUrls = (values.get('crlUrl') as readonly string[] | undefined) ?? [];
  crlFiles.forEach((crlFile, i) => {
    const state = fileState(crlFile);
    if (state === 'file') {
      checkReadableFile(crlFile, spec('crlFile'), true);
    } else if (state === 'missing') {
      warnings.push(
        crlUrls.length === 0
          ? `${name(spec('crlFile'))} ${crlFile} does not exist and no ${name(spec('crlUrl'))} is set: revocation cannot be checked`
          : i > 0
            ? `${name(spec('crlFile'))} ${crlFile} does not exist: the CRLs it should hold are missing`
            : `${name(spec('crlFile'))} ${crlFile} does not exist yet; it will be written when ${name(spec('crlUrl'))} is fetched`,
      );
    } else {
      problem(spec('crlFile'), `${name(spec('crlFile'))} ${crlFile}${at(spec('crlFile'))} ${state}`);
    }
  });
  const saveFile = crlFiles[0];
  if (saveFile !== undefined && crlUrls.length > 0) {
    // The daemon saves what it fetches in the first crlFile. A missing folder is made at
    // start (mode 0700), as the original sKnock did; one that cannot be made or written is a problem.
    const folder = crlFolder(saveFile);
    if (folder.state === 'missing') {
      warnings.push(`the folder ${folder.path} of ${name(spec('crlFile'))} ${saveFile} does not exist; sknock-server creates it (mode 0700) at start to save the CRL fetched from ${name(spec('crlUrl'))}`);
    } else if (folder.state !== 'writable') {
      problem(
        spec('crlFile'),
        `the folder of ${name(spec('crlFile'))} ${saveFile}${at(spec('crlFile'))} ${folder.state}, so a CRL fetched from ${name(spec('crlUrl'))} cannot be saved there`,
      );
    }
  }
  if (crlFiles.length === 0 && crlUrls.length === 0) {
    warnings.push(`neither ${name(spec('crlFile'))} nor ${name(spec('crlUrl'))} is set: revocation cannot be checked`);
  }

  // --- keys against each other ---
  const minLength = values.get('knockPacketMinLength') as number | undefined;
  const recvBuffer = values.get('recvBuffer') as number | undefined;
  if (minLength !== undefined && recvBuffer !== undefined && minLength - FRAME_OVERHEAD_IPV6 > recvBuffer) {
    problem(
      spec('knockPacketMinLength'),
      `${name(spec('knockPacketMinLength'))} ${minLength}${at(spec('knockPacketMinLength'))} needs datagrams of at least ${minLength - FRAME_OVERHEAD_IPV6} bytes, longer than ${name(spec('recvBuffer'))} ${recvBuffer}${at(spec('recvBuffer'))}: no knock could be accepted`,
    );
  }

  // --- the exec back end: its commands, and what it cannot do ---
  const execKeys = ['execOpenCommand', 'execCloseCommand', 'execSetupCommand', 'execTeardownCommand'];
  if (values.get('firewallBackend') === 'exec') {
    const backendAt = at(spec('firewallBackend'));
    for (const option of ['execOpenCommand', 'execCloseCommand']) {
      if (!values.has(option) && !problems.some((p) => p.key === name(spec(option)))) {
        problems.push({ key: name(spec(option)), file: ctx.file, message: `${name(spec(option))} is required${where(ctx.file, undefined)} with ${name(spec('firewallBackend'))} = exec${backendAt}` });
      }
    }
    const policy = values.get('firewallPolicy');
    if (policy !== 'none') {
      problem(
        spec('firewallPolicy'),
        `${name(spec('firewallPolicy'))} = ${String(policy)}${at(spec('firewallPolicy'))} cannot be enforced by ${name(spec('firewallBackend'))} = exec${backendAt}, which writes no rules of its own: set it to none and let the target of your commands (an ipset your ruleset matches, firewalld, a security group) drop what nobody granted`,
      );
    }
    if (values.get('anyPortKnocks') === true) {
      problem(
        spec('anyPortKnocks'),
        `${name(spec('anyPortKnocks'))} = on${at(spec('anyPortKnocks'))} needs a redirect rule that ${name(spec('firewallBackend'))} = exec${backendAt} cannot write: set it to off (clients then knock at ${name(spec('knockPort'))})`,
      );
    }
  } else {
    const set = execKeys.filter((option) => ctx.given.has(option));
    if (set.length > 0) warnings.push(`${set.map((o) => name(spec(o))).join(', ')} ${set.length === 1 ? 'is' : 'are'} ignored: ${name(spec('firewallBackend'))} is ${String(values.get('firewallBackend'))}, not exec`);
  }

  // iptables cannot hide knock-shaped datagrams when every port takes knocks (docs/firewall.md).
  if (values.get('firewallBackend') === 'iptables' && values.get('anyPortKnocks') === true && values.get('firewallPolicy') !== 'drop') {
    warnings.push(
      `${name(spec('firewallBackend'))} iptables with ${name(spec('anyPortKnocks'))} on and ${name(spec('firewallPolicy'))} ${String(values.get('firewallPolicy'))}: knock-shaped UDP datagrams (long enough, starting 61 01 00 00) are absorbed silently on every port while others get ICMP port unreachable, so a scanner can tell that a knock daemon is there; nftables, ${name(spec('anyPortKnocks'))} off, or ${name(spec('firewallPolicy'))} drop avoid that`,
    );
  }

  const controlSocket = values.get('controlSocket') as string | undefined;
  if (controlSocket !== undefined && Buffer.byteLength(controlSocket) > MAX_UNIX_SOCKET_PATH) {
    problem(spec('controlSocket'), `${name(spec('controlSocket'))} ${controlSocket}${at(spec('controlSocket'))} is longer than the ${MAX_UNIX_SOCKET_PATH} bytes a Unix socket path can have`);
  }

  const partial = Object.fromEntries(values) as Partial<Record<keyof ServerConfig, unknown>>;
  if (problems.length > 0) return { problems, warnings, partial };
  const config: Record<string, unknown> = {};
  for (const s of CONFIG_KEY_SPECS) {
    const value = values.get(s.option);
    if (value !== undefined) config[s.option] = value;
  }
  if (values.has('pfxPassword')) config['pfxPassword'] = values.get('pfxPassword');
  if (ctx.credentials !== undefined) config['credentials'] = ctx.credentials;
  if (ctx.file !== undefined) config['configFile'] = ctx.file;
  return { config: Object.freeze(config) as unknown as ServerConfig, problems, warnings, partial };

  function fileState(file: string): 'file' | 'missing' | string {
    try {
      return statSync(file).isFile() ? 'file' : 'is not a regular file';
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : `cannot be read (${(err as Error).message})`;
    }
  }

  function checkReadableFile(file: string, s: ConfigKeySpec, skipStat = false): boolean {
    try {
      if (!skipStat && !statSync(file).isFile()) {
        problem(s, `${name(s)} ${file}${at(s)} is not a regular file`);
        return false;
      }
      accessSync(file, fsConstants.R_OK);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable (permission denied)' : `cannot be read (${(err as Error).message})`;
      problem(s, `${name(s)} ${file}${at(s)} ${why}`);
      return false;
    }
  }
}

/**
 * The folder a CRL fetched from crlUrl is saved in: writable, missing (and makeable: its
 * nearest existing parent is a writable folder), or a phrase saying why it cannot be used.
 */
function crlFolder(crlFile: string): { path: string; state: 'writable' | 'missing' | string } {
  const path = dirname(crlFile);
  for (let dir = path; ; dir = dirname(dir)) {
    let isFolder: boolean;
    try {
      isFolder = statSync(dir).isDirectory();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return { path, state: `cannot be checked (${(err as Error).message})` };
      if (dirname(dir) === dir) return { path, state: 'does not exist' };
      continue;
    }
    if (!isFolder) return { path, state: `does not exist and cannot be made (${dir} is not a folder)` };
    try {
      accessSync(dir, fsConstants.W_OK);
    } catch {
      return { path, state: dir === path ? 'is not writable' : `does not exist and cannot be made (${dir} is not writable)` };
    }
    return { path, state: dir === path ? 'writable' : 'missing' };
  }
}

const LIBRARY_ONLY_OPTIONS = new Set(['credentials']);

/**
 * Library form: a camelCase options object (the `ServerConfig` field names, all optional but
 * `serverPfxFile` + `pfxPassword`/`pfxPasswordFile`, or `credentials`) → validated `ServerConfig`
 * with defaults. Relative paths resolve against `baseDir` (default: the working folder).
 * Throws `SknockConfigError` listing every problem; an unknown option is one.
 */
export function resolveServerConfig(options: ServerConfigInput, baseDir: string = process.cwd()): ServerConfig {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new SknockConfigError([{ message: 'server options must be an object' }]);
  }
  const problems: ConfigProblem[] = [];
  const given = new Map<string, GivenValue>();
  const known = [...SPEC_BY_OPTION.keys(), ...LIBRARY_ONLY_OPTIONS];
  for (const [option, raw] of Object.entries(options)) {
    if (raw === undefined) continue;
    if (LIBRARY_ONLY_OPTIONS.has(option)) continue;
    if (!SPEC_BY_OPTION.has(option)) {
      const hint = closestName(option, known);
      problems.push({ key: option, message: `unknown server option '${option}'${hint ? `; did you mean ${hint}?` : ''}` });
      continue;
    }
    given.set(option, { raw, spelled: option });
  }
  const credentials = options.credentials;
  if (credentials !== undefined && (typeof credentials !== 'object' || credentials === null || !('privateKey' in credentials) || !('certificate' in credentials))) {
    problems.push({ key: 'credentials', message: 'option credentials must be { privateKey, certificate, caCertificates } as loadCredentials returns' });
  }
  const result = validateConfig({
    given,
    baseDir: isAbsolute(baseDir) ? baseDir : resolvePath(baseDir),
    naming: 'options',
    ...(credentials !== undefined ? { credentials } : {}),
  });
  problems.push(...result.problems);
  if (problems.length > 0 || result.config === undefined) throw new SknockConfigError(problems);
  return result.config;
}
