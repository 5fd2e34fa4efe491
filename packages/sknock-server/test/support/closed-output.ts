/**
 * The repository's closed-output runner (`test/support/closed-output.ts` at the root, in the
 * tsc project there), loaded for this package's tests: types from the referenced project,
 * code from where that project compiles to (`test/dist/support/`), as netns-harness does.
 */
import type * as ClosedOutput from '../../../../test/support/closed-output.js';

const url = new URL('../../../../../test/dist/support/closed-output.js', import.meta.url);

/** Runs a command with its standard output read by a reader that goes away (see the module). */
export const { runWithClosedOutput } = (await import(url.href)) as typeof ClosedOutput;
