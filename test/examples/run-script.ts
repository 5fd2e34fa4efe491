/**
 * Helpers for the examples and packaging tests: run a program to completion (bounded in
 * time, output captured), and the repository's paths.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from test/dist/examples/). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const examplesDir = fileURLToPath(new URL('../../../examples/', import.meta.url));
export const serverMain = fileURLToPath(new URL('../../../packages/sknock-server/dist/src/cli/server-main.js', import.meta.url));
export const caMain = fileURLToPath(new URL('../../../packages/sknock-ca/dist/src/cli/main.js', import.meta.url));
export const clientMain = fileURLToPath(new URL('../../../packages/sknock-client/dist/src/cli/main.js', import.meta.url));

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export interface RunOptions extends Pick<SpawnOptions, 'cwd' | 'env'> {
  /** Written to standard input, which is then closed. */
  readonly input?: string;
  /** SIGKILL after this many ms (default 60,000). */
  readonly timeoutMs?: number;
  /** Called with the child right after it started (e.g. to signal it). */
  readonly onSpawn?: (child: ChildProcess) => void;
  /** Called with every chunk of standard output. */
  readonly onStdout?: (text: string, child: ChildProcess) => void;
}

/** Runs `file args` to completion; never rejects for a non-zero exit. */
export function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: options.cwd ?? repoRoot, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      options.onStdout?.(stdout, child);
    });
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
    child.stdin.on('error', () => undefined);
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
    options.onSpawn?.(child);
  });
}

/** Runs an example script with node. */
export function runExample(script: string, options: RunOptions = {}): Promise<RunResult> {
  return run(process.execPath, [`${examplesDir}${script}`], options);
}

/** Text for an assertion message: the program's output. */
export function show(r: RunResult): string {
  return `exit ${r.code ?? r.signal}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}
