import { spawn } from 'node:child_process';

/**
 * Runs a command with its standard output read by a reader that goes away: at once
 * (`'at-once'`: the pipe is closed before the command writes anything) or after its first
 * chunk (`'after-first-chunk'`, as `| head -c 1` does). Standard error is collected.
 */
export function runWithClosedOutput(
  argv: readonly string[],
  options: { close: 'at-once' | 'after-first-chunk'; cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; read: number }> {
  return new Promise((resolve, reject) => {
    const [command, ...args] = argv as [string, ...string[]];
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let read = 0;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    if (options.close === 'at-once') child.stdout.destroy();
    else {
      child.stdout.once('data', (d: Buffer) => {
        read = d.length;
        child.stdout.destroy();
      });
    }
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${argv.join(' ')} did not end within ${options.timeoutMs ?? 20_000} ms after its output was closed (stderr: ${stderr})`));
    }, options.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, read });
    });
  });
}
