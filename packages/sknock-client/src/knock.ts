import { performance } from 'node:perf_hooks';
import { publishFailure } from './diagnostics.js';
import { SknockClientError } from './errors.js';
import { loadKnocker, type KnockResult } from './knocker.js';
import { KNOCKER_KEYS, TARGET_KEYS, validateKnockOptions, type KnockOptions } from './options.js';
import { applyProfile, type ProfileKnockOptions } from './profile/apply-profile.js';

/**
 * One knock with everything in one call: loads the credentials (see `createKnocker` to load
 * them once for many knocks), knocks, and resolves as soon as the port answers. With
 * `profile`, the profile file's section fills in what the options leave out.
 */
export async function knock(options: KnockOptions | ProfileKnockOptions): Promise<KnockResult> {
  const started = performance.now();
  const { options: filled } = await applyProfile(options, [...KNOCKER_KEYS, ...TARGET_KEYS]);
  const { knocker: knockerOptions, target } = validateKnockOptions(filled);
  let knocker;
  try {
    knocker = await loadKnocker(knockerOptions);
  } catch (err) {
    if (err instanceof SknockClientError) {
      publishFailure({ host: target.host, port: target.port, code: err.code, message: err.message, attempts: 0, elapsedMs: performance.now() - started });
    }
    throw err;
  }
  const { socket: _none, ...result } = await knocker.run(target, started, {});
  return result;
}
