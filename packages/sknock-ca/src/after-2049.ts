import { GENERALIZED_TIME_FROM } from './constants.js';
import { SknockCaError, invalidArgument, type SknockCaWarning } from './errors.js';
import type { Validity } from './validity.js';

/**
 * Certificates valid past 2049: X.509 writes such dates as GeneralizedTime (RFC 5280
 * §4.1.2.5), which sKnock 1.0.0 cannot read; an original server drops every knock carrying
 * such a client certificate, silently. Issuing one gives a warning; asked for in the form
 * original peers read (`legacy`), it is refused. `allowAfter2049` says it is meant: no
 * warning, no refusal.
 */

export interface After2049Policy {
  /** The certificate is for sKnock 1.0.0 peers (PKCS#12 `legacy`): refuse instead of warning. */
  readonly legacy?: boolean;
  /** Dates past 2049 are meant. */
  readonly allowAfter2049?: unknown;
}

/** Checks the `allowAfter2049` option. */
export function checkAllowAfter2049(value: unknown): boolean {
  if (value !== undefined && typeof value !== 'boolean') throw invalidArgument('allowAfter2049 must be a boolean');
  return value === true;
}

/** The warnings for `validity` of `what` (e.g. "the client certificate"); throws `ERR_SKNOCK_CA_AFTER_2049` under `legacy`. */
export function after2049Warnings(validity: Validity, what: string, policy: After2049Policy = {}): SknockCaWarning[] {
  if (checkAllowAfter2049(policy.allowAfter2049)) return [];
  const late = [validity.notBefore, validity.notAfter].filter((d) => d.getTime() >= GENERALIZED_TIME_FROM);
  if (late.length === 0) return [];
  const date = (late[late.length - 1] as Date).toISOString();
  const fact = (verb: string): string =>
    `${what} ${verb} valid until ${date}, past 2049: X.509 writes such a date as GeneralizedTime, which sKnock 1.0.0 cannot read ` +
    '(an original server silently drops every knock whose certificate carries one)';
  const fix = 'ask for an end before 2050 (fewer days), or allow it (allowAfter2049; sknock-ca --allow-after-2049)';
  if (policy.legacy === true) {
    throw new SknockCaError('ERR_SKNOCK_CA_AFTER_2049', `${fact('would be')}, and it was asked for in the legacy form meant for sKnock 1.0.0: ${fix}`);
  }
  return [{ code: 'WARN_SKNOCK_CA_AFTER_2049', message: `${fact('is')}; ${fix}` }];
}
