import { knock } from '../../src/index.js';

/**
 * Runs one knock() in its own process (e.g. inside `unshare -n`) and prints the outcome as
 * one JSON line: `{ ok: true, result }` or `{ ok: false, code, message }`.
 * Usage: node knock-child.js '<KnockOptions as JSON>'
 */
const options = JSON.parse(process.argv[2] ?? '{}') as Parameters<typeof knock>[0];
try {
  const result = await knock(options);
  process.stdout.write(`${JSON.stringify({ ok: true, result })}\n`);
} catch (err) {
  const e = err as { code?: string; message?: string };
  process.stdout.write(`${JSON.stringify({ ok: false, code: e.code, message: e.message })}\n`);
}
