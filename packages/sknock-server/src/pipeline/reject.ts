import type { RejectCode } from './reject-codes.js';
import type { Reject } from './types.js';

/** A rejection with its code and what was wrong. */
export function reject(code: RejectCode, detail: string): Reject {
  return { ok: false, code, detail };
}

/** True for a `Reject` (every check returns its value or one of these). */
export function isReject(value: unknown): value is Reject {
  return typeof value === 'object' && value !== null && (value as { ok?: unknown }).ok === false;
}
