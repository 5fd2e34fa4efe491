/**
 * The runtime these tests run on (Node, Bun or Deno: scripts/run-tests.mjs runs the client's
 * tests on all three), how it runs one of our scripts as a child process, and skip reasons
 * for what one of them lacks. A skip always names the runtime and the reason.
 */

export type Runtime = 'node' | 'bun' | 'deno';

const globals = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };

export const runtime: Runtime = globals.Deno ? 'deno' : globals.Bun ? 'bun' : 'node';

/** For messages: `Node 22.23.5`, `Bun 1.4.5`, `Deno 2.9.6`. */
export const runtimeLabel =
  runtime === 'deno' ? `Deno ${globals.Deno?.version.deno}` : runtime === 'bun' ? `Bun ${globals.Bun?.version}` : `Node ${process.versions.node}`;

/**
 * The command line that runs `script` on this runtime, for a child started by another
 * program (`unshare`, `script`). Deno runs a file without permissions unless told, and
 * reads the workspace's node_modules as they are (`--node-modules-dir=manual`).
 */
export function scriptCommand(script: string, args: readonly string[] = []): string[] {
  if (runtime === 'deno') return [process.execPath, 'run', '-A', '--no-check', '--node-modules-dir=manual', script, ...args];
  return [process.execPath, script, ...args];
}

/**
 * A skip reason when this runtime is one of those listed (`{ bun: 'why' }`), else false.
 * Bun's and Deno's runners drop the reason of a skipped node:test test, so it is also
 * printed here, as a TAP comment.
 */
export function lacking(reasons: Partial<Record<Runtime, string>>): string | false {
  const why = reasons[runtime];
  if (why === undefined) return false;
  const reason = `not on ${runtimeLabel}: ${why}`;
  if (runtime !== 'node') process.stdout.write(`# skip: ${reason}\n`);
  return reason;
}
