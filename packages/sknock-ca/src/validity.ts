import { DAY_MS, MAX_VALIDITY_DAYS, NOT_BEFORE_BACKDATE_SECONDS } from './constants.js';
import { SknockCaError, invalidArgument } from './errors.js';

/** When a certificate is valid (RFC 5280 §4.1.2.5), resolved from the options people give. */

export interface ValidityOptions {
  /** Lifetime in days from now (default: per kind of certificate). Not with `notAfter`. */
  readonly validityDays?: number;
  /** Start of validity; default now less five minutes (clock skew). */
  readonly notBefore?: Date;
  /** End of validity; default now + `validityDays`. Not with `validityDays`. */
  readonly notAfter?: Date;
}

export interface Validity {
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** A Date cut to whole seconds, as X.509 stores it. */
export function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

function checkDate(value: unknown, argument: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw invalidArgument(`${argument} must be a valid Date`);
  return wholeSeconds(value);
}

/** Checks a day count: a positive number up to 100 years. */
export function checkDays(value: unknown, argument: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_VALIDITY_DAYS) {
    throw invalidArgument(`${argument} must be a number of days greater than 0 and at most ${MAX_VALIDITY_DAYS}, got ${String(value)}`);
  }
  return value;
}

/**
 * notBefore/notAfter from `options`, checked: notAfter after notBefore, and not after
 * `issuerNotAfter` (a certificate must not outlive its CA). A default lifetime is cut short
 * at the CA's end; a lifetime asked for that goes past it is refused.
 */
export function resolveValidity(
  options: ValidityOptions,
  defaultDays: number,
  issuerNotAfter?: Date,
  now: Date = new Date(),
): Validity {
  if (options.validityDays !== undefined && options.notAfter !== undefined) {
    throw invalidArgument('give validityDays or notAfter, not both');
  }
  const days = options.validityDays === undefined ? defaultDays : checkDays(options.validityDays, 'validityDays');
  if (issuerNotAfter !== undefined && issuerNotAfter.getTime() <= now.getTime()) {
    throw new SknockCaError('ERR_SKNOCK_CA_INVALID_VALIDITY', `the CA expired on ${issuerNotAfter.toISOString()}; it can issue nothing more`);
  }
  const notBefore =
    options.notBefore === undefined
      ? wholeSeconds(new Date(now.getTime() - NOT_BEFORE_BACKDATE_SECONDS * 1000))
      : checkDate(options.notBefore, 'notBefore');
  let notAfter =
    options.notAfter === undefined ? wholeSeconds(new Date(now.getTime() + days * DAY_MS)) : checkDate(options.notAfter, 'notAfter');
  const defaulted = options.validityDays === undefined && options.notAfter === undefined;
  if (defaulted && issuerNotAfter !== undefined && notAfter.getTime() > issuerNotAfter.getTime()) notAfter = wholeSeconds(issuerNotAfter);
  if (notAfter.getTime() <= notBefore.getTime()) {
    throw new SknockCaError(
      'ERR_SKNOCK_CA_INVALID_VALIDITY',
      `notAfter (${notAfter.toISOString()}) must be later than notBefore (${notBefore.toISOString()})`,
    );
  }
  if (issuerNotAfter !== undefined && notAfter.getTime() > issuerNotAfter.getTime()) {
    throw new SknockCaError(
      'ERR_SKNOCK_CA_INVALID_VALIDITY',
      `the certificate would be valid until ${notAfter.toISOString()}, after its CA expires (${issuerNotAfter.toISOString()}); ask for fewer days`,
    );
  }
  return { notBefore, notAfter };
}
