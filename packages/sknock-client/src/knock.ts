import { performance } from 'node:perf_hooks';
import { publishFailure } from './diagnostics.js';
import { SknockClientError } from './errors.js';
import { loadKnocker, type KnockResult } from './knocker.js';
import { validateKnockOptions, type KnockOptions } from './options.js';

/**
 * One knock with everything in one call: loads the credentials (see `createKnocker` to load
 * them once for many knocks), knocks, and resolves as soon as the port answers.
 */
export async function knock(options: KnockOptions): Promise<KnockResult> {
  const started = performance.now();
  const { knocker: knockerOptions, target } = validateKnockOptions(options);
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
