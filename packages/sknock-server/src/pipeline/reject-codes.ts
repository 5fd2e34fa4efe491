/**
 * Why a knock was dropped: one stable code per check of the pipeline, in the order the
 * checks run. Codes never change; the `detail` beside them is for people.
 */
export const REJECT_CODES = [
  // step 1: size, magic, version (no crypto)
  'too-short',
  'too-long',
  'bad-magic',
  'bad-version',
  'bad-length',
  // step 2: per-source rate limit, ephemeral keys already seen
  'rate-limited',
  'replayed-key',
  // step 3: decrypt and frame
  'decrypt-failed',
  'malformed-request',
  // step 4: the client certificate
  'untrusted-certificate',
  'not-yet-valid',
  'expired',
  'revoked',
  'no-crl',
  // step 5..8
  'bad-signature',
  'stale-timestamp',
  'not-granted',
  'address-mismatch',
  // step 9 and the queue in front of the pipeline: more work than the daemon takes on
  'overloaded',
  // a check threw something that is not a typed protocol error (a bug; logged as an error)
  'internal-error',
] as const;

export type RejectCode = (typeof REJECT_CODES)[number];
