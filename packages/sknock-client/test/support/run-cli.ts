import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The `sknock` command as a process, for the CLI tests: exit code, stdout, stderr. */

export const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface Run {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

export interface RunOptions {
  readonly input?: Buffer | string;
  /** Added to the environment; `configHome` and no SKNOCK_CONFIG unless given here. */
  readonly env?: Record<string, string>;
  /** XDG_CONFIG_HOME for the run (so no profile file of the machine is read). */
  readonly configHome: string;
  readonly timeoutMs?: number;
  readonly cwd?: string;
}

/** Runs `sknock …args` in a session of its own (no controlling terminal, so no prompt). */
export function runCli(args: readonly string[], options: RunOptions): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, SKNOCK_CONFIG: '', XDG_CONFIG_HOME: options.configHome, ...options.env };
    const child = spawn(process.execPath, [MAIN, ...args], { detached: true, stdio: 'pipe', env, ...(options.cwd === undefined ? {} : { cwd: options.cwd }) });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() });
    });
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

export function jsonOf(r: Run): Record<string, unknown> & { error?: { code: string; message: string; attempts?: number; hints?: string[] } } {
  return JSON.parse(r.stdout.toString()) as never;
}
