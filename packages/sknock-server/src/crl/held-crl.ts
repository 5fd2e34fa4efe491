import type { CaIdentity } from '@sknock/protocol/x509';
import type { ParsedCrl } from './parse-crl.js';

/** One CA's CRL in force, and the rule that a new one of the same CA must not be older. */

export type CrlSource = 'file' | 'url';

export interface HeldCrl {
  readonly crl: ParsedCrl;
  /** The CA that issued it (its name, key identifier and key matched, its signature verified). */
  readonly issuer: CaIdentity;
  readonly source: CrlSource;
  /** The crlFile path or crlUrl it came from. */
  readonly origin: string;
  /** nextUpdate, ms since the epoch; Infinity for a CRL without one. */
  readonly nextUpdateMs: number;
  /** Revoked serials, normalised (`normaliseSerial`). */
  readonly revoked: ReadonlySet<string>;
}

export type CrlVerdict = { readonly take: true } | { readonly take: false; readonly same: boolean; readonly why: string };

export function holdCrl(crl: ParsedCrl, issuer: CaIdentity, source: CrlSource, origin: string): HeldCrl {
  return { crl, issuer, source, origin, nextUpdateMs: crl.nextUpdate?.getTime() ?? Infinity, revoked: crl.revoked };
}

/** Past its nextUpdate at `nowMs`. */
export function isStale(held: HeldCrl, nowMs: number): boolean {
  return nowMs > held.nextUpdateMs;
}

/**
 * Whether `crl` may replace `held`, the CRL in force for the same CA: neither thisUpdate nor
 * the CRL number may go back, and a CRL number is never reused for other contents.
 */
export function judgeCrl(held: HeldCrl | undefined, crl: ParsedCrl): CrlVerdict {
  if (held === undefined) return { take: true };
  const old = held.crl;
  if (Buffer.compare(old.der, crl.der) === 0) return { take: false, same: true, why: 'it is the CRL in force' };
  if (crl.thisUpdate.getTime() < old.thisUpdate.getTime()) {
    return { take: false, same: false, why: `it is older (thisUpdate ${crl.thisUpdate.toISOString()} before ${old.thisUpdate.toISOString()})` };
  }
  if (crl.crlNumber !== undefined && old.crlNumber !== undefined) {
    if (crl.crlNumber < old.crlNumber) return { take: false, same: false, why: `it is older (CRL number ${crl.crlNumber} below ${old.crlNumber})` };
    if (crl.crlNumber === old.crlNumber) return { take: false, same: false, why: `it has the CRL number ${crl.crlNumber} of the CRL in force but different contents` };
  }
  return { take: true };
}

/** A CRL's dates and size, for log lines. */
export function describeCrl(crl: ParsedCrl): Record<string, unknown> {
  return {
    thisUpdate: crl.thisUpdate.toISOString(),
    ...(crl.nextUpdate !== undefined ? { nextUpdate: crl.nextUpdate.toISOString() } : {}),
    ...(crl.crlNumber !== undefined ? { crlNumber: crl.crlNumber.toString() } : {}),
    revoked: crl.revoked.size,
  };
}
