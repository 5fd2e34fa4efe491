import type { CrlIssuerStatus, CrlStatus } from '../crl/index.js';

/** The CRLs in force, in the loggable form the daemon logs and `stats()` returns. */

/** What is held from one CA, in loggable form. */
export interface CrlIssuerSummary {
  /** The CA's subject, one line. */
  readonly issuer: string;
  /** SHA-256 of its subject and key (base64url): CRLs and revocations are kept by it. */
  readonly issuerId: string;
  readonly haveCrl: boolean;
  readonly stale: boolean;
  readonly thisUpdate?: string;
  readonly nextUpdate?: string;
  readonly crlNumber?: string;
  readonly source?: string;
  /** The crlFile path or crlUrl it came from. */
  readonly origin?: string;
  readonly revokedCount?: number;
}

/**
 * The CRLs in force, in loggable form (dates as ISO text, CRL numbers as strings). The summary
 * fields describe them together (with one CA: its CRL): `haveCrl` at least one is held,
 * `stale` at least one is past its nextUpdate, `thisUpdate` the oldest, `nextUpdate` the
 * earliest, `crlNumber` only when one CRL is held, `source` when they all came the same way,
 * `revokedCount` all together; `issuers` says what is held from each CA.
 */
export interface CrlSummary {
  readonly haveCrl: boolean;
  readonly stale: boolean;
  readonly thisUpdate?: string;
  readonly nextUpdate?: string;
  readonly crlNumber?: string;
  readonly source?: string;
  readonly revokedCount?: number;
  readonly issuers: readonly CrlIssuerSummary[];
}

function datesForLog(status: CrlStatus | CrlIssuerStatus): Record<string, string | number> {
  return {
    ...(status.thisUpdate ? { thisUpdate: status.thisUpdate.toISOString() } : {}),
    ...(status.nextUpdate ? { nextUpdate: status.nextUpdate.toISOString() } : {}),
    ...(status.crlNumber !== undefined ? { crlNumber: status.crlNumber.toString() } : {}),
    ...(status.source ? { source: status.source } : {}),
    ...(status.revokedCount !== undefined ? { revokedCount: status.revokedCount } : {}),
  };
}

export function crlStatusForLog(status: CrlStatus): CrlSummary {
  return {
    haveCrl: status.haveCrl,
    stale: status.stale,
    ...datesForLog(status),
    issuers: status.issuers.map((i) => ({
      issuer: i.issuer,
      issuerId: i.issuerId,
      haveCrl: i.haveCrl,
      stale: i.stale,
      ...datesForLog(i),
      ...(i.origin !== undefined ? { origin: i.origin } : {}),
    })),
  };
}

