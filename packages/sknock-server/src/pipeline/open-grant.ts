import type { Grant } from '../firewall/backend.js';
import { reject } from './reject.js';
import type { GrantMeta, GrantOpener, StepResult } from './types.js';

/**
 * Step 9: hand the grant to the firewall writer (daemon/grant-keeper.ts), which opens it
 * (or extends it: the back end never adds a second rule), retries failures and keeps track
 * of it. Refused only when too many grants are already waiting for the firewall.
 */
export function openGrant(
  opener: GrantOpener,
  grant: Grant,
  durationSeconds: number,
  meta: GrantMeta,
): StepResult {
  if (opener.request(grant, durationSeconds, meta)) return undefined;
  return reject('overloaded', 'too many grants waiting for the firewall');
}
