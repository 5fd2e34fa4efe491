/**
 * The one place the firewall back ends start processes: spawn, feed standard input, collect
 * standard output and error, kill on timeout, and turn every failure into a
 * `SknockFirewallError` that carries the command's stderr.
 */
import { spawn } from 'node:child_process';
import { DEFAULT_COMMAND_TIMEOUT_MS, MAX_STDERR_KEPT, MAX_STDOUT_COLLECTED } from './constants.js';
import { SknockFirewallError } from './errors.js';

export interface RunCommandOptions {
  /** Written to the command's standard input, which is then closed. */
  readonly input?: string;
  /** Kill the command (SIGKILL) after this many ms (default 10,000). */
  readonly timeoutMs?: number;
  /** Run inside this named network namespace: `ip netns exec NAME file args…`. */
  readonly netns?: string;
}

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** The argv actually executed for `file args` in `netns` (exported for tests and messages). */
export function commandLine(file: string, args: readonly string[], netns?: string): string[] {
  return netns === undefined ? [file, ...args] : ['ip', 'netns', 'exec', netns, file, ...args];
}

const NOT_PERMITTED = /Operation not permitted|Permission denied|must be root/i;
const NO_NAMESPACE = /Cannot open network namespace/i;
const EXEC_FAILED = /exec of "[^"]*" failed: No such file or directory/i;

/** True when a firewall tool's error output says it may not run at all (no permission, no namespace, no program). */
export function looksUnavailable(stderr: string): boolean {
  return NOT_PERMITTED.test(stderr) || NO_NAMESPACE.test(stderr) || EXEC_FAILED.test(stderr);
}

/** Runs one command to completion. Resolves only on exit status 0. */
export function runCommand(
  file: string,
  args: readonly string[],
  options: RunCommandOptions = {},
): Promise<CommandResult> {
  const argv = commandLine(file, args, options.netns);
  const shown = argv.join(' ');
  const timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  return new Promise<CommandResult>((resolve, reject) => {
    let settled = false;
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let stdoutLength = 0;
    let overflow = false;
    const child = spawn(argv[0] as string, argv.slice(1), {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    });
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      child.kill('SIGKILL');
      reject(
        new SknockFirewallError('ERR_SKNOCK_FIREWALL_TIMEOUT', `firewall command timed out after ${timeoutMs} ms: ${shown}`, {
          command: shown,
          stderr: tail(stderr),
        }),
      );
    }, timeoutMs);
    const finish = (err: SknockFirewallError | undefined, result?: CommandResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(result as CommandResult);
    };
    child.stdout.on('data', (chunk: Buffer) => {
      stdoutLength += chunk.length;
      if (stdoutLength > MAX_STDOUT_COLLECTED) {
        overflow = true;
        child.kill('SIGKILL');
        return;
      }
      stdout.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr.push(chunk);
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      const missing = error.code === 'ENOENT';
      finish(
        new SknockFirewallError(
          missing ? 'ERR_SKNOCK_FIREWALL_UNAVAILABLE' : 'ERR_SKNOCK_FIREWALL_COMMAND',
          missing ? `firewall tool not found: ${argv[0]}` : `cannot start ${shown}: ${error.message}`,
          { command: shown, cause: error },
        ),
      );
    });
    child.on('close', (exitCode, signal) => {
      const err = tail(stderr);
      if (overflow) {
        finish(new SknockFirewallError('ERR_SKNOCK_FIREWALL_COMMAND', `${shown} wrote more than ${MAX_STDOUT_COLLECTED} bytes`, { command: shown, stderr: err, exitCode }));
        return;
      }
      if (exitCode === 0) {
        finish(undefined, { stdout: Buffer.concat(stdout).toString('utf8'), stderr: err });
        return;
      }
      const unavailable = looksUnavailable(err);
      const why = signal ? `was killed by ${signal}` : `exited with status ${exitCode}`;
      finish(
        new SknockFirewallError(
          unavailable ? 'ERR_SKNOCK_FIREWALL_UNAVAILABLE' : 'ERR_SKNOCK_FIREWALL_COMMAND',
          `${shown} ${why}${err ? `: ${firstLines(err)}` : ''}`,
          { command: shown, stderr: err, exitCode },
        ),
      );
    });
    // A command that exits without reading all its input makes the write fail with EPIPE;
    // its exit status tells what happened, so the write error itself is ignored.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

function tail(chunks: Buffer[]): string {
  return keptStderr(Buffer.concat(chunks).toString('utf8'));
}

/** Error output as kept on a `SknockFirewallError`: trimmed, at most MAX_STDERR_KEPT characters. */
export function keptStderr(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > MAX_STDERR_KEPT ? trimmed.slice(0, MAX_STDERR_KEPT) + '…' : trimmed;
}

/** The first lines of error output, for a one-line message. */
export function firstLines(text: string): string {
  const lines = text.split('\n').slice(0, 3).join(' | ');
  return lines.length > 300 ? lines.slice(0, 300) + '…' : lines;
}
