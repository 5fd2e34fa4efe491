import { isIP } from 'node:net';
import { SknockError } from '@sknock/protocol/errors';
import type { PortSpec } from '../firewall/backend.js';
import { parseExecCommand, type ExecCommand, type ExecCommandKind } from '../firewall/exec.js';

/**
 * Value readers shared by `config.ini` (text) and the library options (typed values, or text).
 * Each returns the value or throws `ValueProblem` whose message completes
 * "`<key> = <value> in <file> line <n>` …".
 */

/** A value that does not read (internal: becomes one `ConfigProblem` of a `SknockConfigError`). */
export class ValueProblem extends SknockError {
  declare readonly code: 'ERR_SKNOCK_CONFIG';

  constructor(message: string) {
    super('ERR_SKNOCK_CONFIG', message);
    this.name = 'ValueProblem';
  }
}

/** A reader: raw text or typed value in, validated value out. `undefined` means "not set". */
export type ValueReader<T> = (raw: unknown) => T | undefined;

function describeType(raw: unknown): string {
  return raw === null ? 'null' : Array.isArray(raw) ? 'an array' : `a ${typeof raw}`;
}

export function integer(min: number, max: number): ValueReader<number> {
  return (raw) => {
    let n: number;
    if (typeof raw === 'number') {
      n = raw;
    } else if (typeof raw === 'string') {
      if (!/^[+-]?\d+$/.test(raw)) throw new ValueProblem(`must be a whole number from ${min} to ${max}`);
      n = Number(raw);
    } else {
      throw new ValueProblem(`must be a whole number from ${min} to ${max}, not ${describeType(raw)}`);
    }
    if (!Number.isInteger(n) || n < min || n > max) throw new ValueProblem(`must be a whole number from ${min} to ${max}`);
    return n;
  };
}

/** A decimal number (`0.5`, `30`) from `min` to `max`. */
export function decimal(min: number, max: number): ValueReader<number> {
  return (raw) => {
    let n: number;
    if (typeof raw === 'number') n = raw;
    else if (typeof raw === 'string' && /^\+?(\d+(\.\d*)?|\.\d+)$/.test(raw)) n = Number(raw);
    else throw new ValueProblem(`must be a number from ${min} to ${max} (fractions such as 0.5 allowed)`);
    if (!Number.isFinite(n) || n < min || n > max) throw new ValueProblem(`must be a number from ${min} to ${max} (fractions such as 0.5 allowed)`);
    return n;
  };
}

const TRUE_WORDS = new Set(['true', 'yes', 'on', '1']);
const FALSE_WORDS = new Set(['false', 'no', 'off', '0']);

export const boolean: ValueReader<boolean> = (raw) => {
  if (typeof raw === 'boolean') return raw;
  if (typeof raw === 'string') {
    const w = raw.toLowerCase();
    if (TRUE_WORDS.has(w)) return true;
    if (FALSE_WORDS.has(w)) return false;
  }
  throw new ValueProblem('must be a boolean: true/false, yes/no, on/off or 1/0');
};

export function oneOf<const T extends string>(values: readonly T[]): ValueReader<T> {
  return (raw) => {
    if (typeof raw === 'string') {
      const w = raw.toLowerCase();
      const found = values.find((v) => v === w);
      if (found !== undefined) return found;
    }
    throw new ValueProblem(`must be one of ${values.join(', ')}`);
  };
}

/** Any string, taken as it is (a password). Never echoed in messages. */
export const secretString: ValueReader<string> = (raw) => {
  if (typeof raw !== 'string') throw new ValueProblem(`must be a string, not ${describeType(raw)}`);
  return raw;
};

/** A file path; empty text means "not set". Made absolute by the caller. */
export const path: ValueReader<string> = (raw) => {
  if (typeof raw !== 'string') throw new ValueProblem(`must be a file path, not ${describeType(raw)}`);
  if (raw === '') return undefined;
  if (raw.includes('\0')) throw new ValueProblem('must be a file path (it holds a NUL character)');
  if (/^(['"]).*\1$/.test(raw)) throw new ValueProblem('must be a file path without quotes around it');
  return raw;
};

/** An http or https URL; empty text means "not set". */
export const httpUrl: ValueReader<string> = (raw) => {
  if (typeof raw !== 'string') throw new ValueProblem(`must be an http or https URL, not ${describeType(raw)}`);
  if (raw === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ValueProblem('must be an http or https URL (it does not parse as a URL)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ValueProblem(`must be an http or https URL, not ${url.protocol}`);
  return url.href;
};

/** Items of a list key: text split at `separators` (empty items dropped), or an array as it is. */
function listItems(raw: unknown, separators: RegExp, what: string): unknown[] {
  if (typeof raw === 'string') return raw.split(separators).map((s) => s.trim()).filter((s) => s !== '');
  if (Array.isArray(raw)) return raw;
  throw new ValueProblem(`must be ${what} or a list of them, not ${describeType(raw)}`);
}

/** Reads one item of a list; a problem names the item when the list has several. */
function eachOf<T>(items: readonly unknown[], item: unknown, read: ValueReader<T>): T | undefined {
  try {
    return read(item);
  } catch (err) {
    if (!(err instanceof ValueProblem) || items.length < 2) throw err;
    throw new ValueProblem(`has ${typeof item === 'string' ? `'${item}'` : describeType(item)}, which ${err.message}`);
  }
}

/**
 * One file path, or several separated by commas (so a path in this list holds no comma), or
 * an array of paths; empty text means "not set". Duplicates are dropped.
 */
export const pathList: ValueReader<readonly string[]> = (raw) => {
  const out: string[] = [];
  const items = listItems(raw, /,/, 'a file path');
  for (const item of items) {
    const one = eachOf(items, item, path);
    if (one !== undefined && !out.includes(one)) out.push(one);
  }
  return out.length === 0 ? undefined : Object.freeze(out);
};

/**
 * One http(s) URL, or several separated by commas or spaces (a URL holds neither: write
 * `%2C`, `%20`), or an array of URLs; empty text means "not set". Duplicates are dropped.
 */
export const httpUrlList: ValueReader<readonly string[]> = (raw) => {
  const out: string[] = [];
  const items = listItems(raw, /[\s,]+/, 'an http or https URL');
  for (const item of items) {
    const one = eachOf(items, item, httpUrl);
    if (one !== undefined && !out.includes(one)) out.push(one);
  }
  return out.length === 0 ? undefined : Object.freeze(out);
};

/** An IPv4 or IPv6 address literal (no host names: the daemon binds before any resolver is wanted). */
export const ipAddress: ValueReader<string> = (raw) => {
  if (typeof raw !== 'string' || isIP(raw) === 0) throw new ValueProblem('must be an IPv4 or IPv6 address such as :: or 0.0.0.0');
  return raw;
};

/**
 * `tcp/22, udp/53` (comma- or space-separated, case-insensitive); empty text or `none` turns
 * the list off. Also takes an array of `{ protocol, port }` or of such strings.
 */
export const portList: ValueReader<readonly PortSpec[]> = (raw) => {
  const items: unknown[] =
    typeof raw === 'string'
      ? raw.trim().toLowerCase() === 'none'
        ? []
        : raw.split(/[\s,]+/).filter((s) => s !== '')
      : Array.isArray(raw)
        ? raw
        : (() => {
            throw new ValueProblem(`must be a list such as "tcp/22, udp/53", not ${describeType(raw)}`);
          })();
  const out: PortSpec[] = [];
  for (const item of items) {
    const spec = readPortSpec(item);
    if (!out.some((p) => p.protocol === spec.protocol && p.port === spec.port)) out.push(spec);
  }
  return Object.freeze(out);
};

function readPortSpec(item: unknown): PortSpec {
  if (typeof item === 'string') {
    const m = /^(tcp|udp)\/(\d{1,5})$/i.exec(item);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65_535) throw new ValueProblem(`has '${item}'; each entry must be tcp/N or udp/N with N from 1 to 65535`);
    return { protocol: (m[1] as string).toLowerCase() as 'tcp' | 'udp', port };
  }
  if (typeof item === 'object' && item !== null) {
    const { protocol, port } = item as { protocol?: unknown; port?: unknown };
    if ((protocol === 'tcp' || protocol === 'udp') && typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65_535) {
      return { protocol, port };
    }
  }
  throw new ValueProblem('must list entries tcp/N or udp/N (or { protocol, port } objects) with N from 1 to 65535');
}

/**
 * A command of the exec back end: words split at blanks, '…' and "…" grouping, placeholders
 * checked for `kind` (see firewall/exec.ts); empty text means "not set".
 */
export function execCommand(kind: ExecCommandKind): ValueReader<ExecCommand> {
  return (raw) => {
    if (raw === '') return undefined;
    try {
      return parseExecCommand(raw, kind, 'it');
    } catch (err) {
      throw new ValueProblem(`is not a usable command: ${(err as Error).message.replace(/^it /, '')}`);
    }
  };
}
