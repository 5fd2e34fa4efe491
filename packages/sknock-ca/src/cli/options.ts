import type { PortGrant } from '@sknock/protocol';
import { isSknockCaError } from '../errors.js';
import { parseGrantSpec } from '../grant-spec.js';
import { DEFAULT_CA_DIR, type OptionValues } from './command.js';
import { UsageError } from '@sknock/protocol/cli';

/** Reading typed values out of parsed options, with usage errors that name the option. */

export function stringOption(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function requiredString(values: OptionValues, name: string, command: string, example: string): string {
  const v = stringOption(values, name);
  if (v === undefined || v.trim() === '') throw new UsageError(`--${name} is required (e.g. --${name} ${example})`, command);
  return v;
}

export function flag(values: OptionValues, name: string): boolean {
  return values[name] === true;
}

export function dirOption(values: OptionValues): string {
  return stringOption(values, 'dir') ?? DEFAULT_CA_DIR;
}

/** `--days N`: a positive whole number of days. */
export function daysOption(values: OptionValues, command: string): number | undefined {
  const text = stringOption(values, 'days');
  if (text === undefined) return undefined;
  if (!/^[0-9]{1,6}$/.test(text.trim()) || Number(text) < 1 || Number(text) > 36500) {
    throw new UsageError(`--days must be a whole number of days from 1 to 36500, got ${JSON.stringify(text)}`, command);
  }
  return Number(text);
}

/** Every `--grant PROTOCOL/PORT`, at least one. */
export function grantOptions(values: OptionValues, command: string): PortGrant[] {
  const raw = values.grant;
  const list = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter((v): v is string => typeof v === 'string');
  if (list.length === 0) throw new UsageError('at least one --grant PROTOCOL/PORT is required (e.g. --grant tcp/22 --grant udp/8000)', command);
  return list.map((text) => {
    try {
      return parseGrantSpec(text);
    } catch (err) {
      if (isSknockCaError(err)) throw new UsageError(err.message, command);
      throw err;
    }
  });
}
