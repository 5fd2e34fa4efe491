import { SknockClientError } from '../errors.js';
import { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, InterruptedError, UsageError } from './usage.js';

/** Exit status and a JSON-able description for anything a command can throw. */
export interface DescribedError {
  readonly exitCode: number;
  readonly code: string;
  readonly message: string;
  readonly attempts?: number;
}

/** SDK option names as the command's flags, for messages. */
const FLAGS: Readonly<Record<string, string>> = {
  pfx: '--pfx',
  passphrase: 'the passphrase',
  key: '--key',
  certificate: '--cert',
  serverCertificate: '--server-cert',
  sourceAddress: '--source-address',
  knockPort: '--knock-port',
  timeout: '--timeout',
  retries: '--retries',
  host: '<host>',
  port: '<port>',
  family: '-4/-6',
};

function withFlagName(message: string, option: string | undefined): string {
  const flag = option === undefined ? undefined : FLAGS[option];
  return flag !== undefined && message.startsWith(`${option}:`) ? `${flag}:${message.slice(option!.length + 1)}` : message;
}

export function describeError(err: unknown): DescribedError {
  if (err instanceof UsageError) return { exitCode: EXIT_USAGE, code: 'ERR_SKNOCK_USAGE', message: err.message };
  if (err instanceof InterruptedError) return { exitCode: EXIT_INTERRUPTED, code: 'ERR_SKNOCK_ABORTED', message: 'interrupted' };
  if (err instanceof SknockClientError) {
    const exitCode = err.code === 'ERR_SKNOCK_INVALID_OPTION' ? EXIT_USAGE : err.code === 'ERR_SKNOCK_ABORTED' ? EXIT_INTERRUPTED : EXIT_FAILED;
    return { exitCode, code: err.code, message: withFlagName(err.message, err.option), ...(err.attempts === undefined ? {} : { attempts: err.attempts }) };
  }
  const e = err as { code?: unknown; message?: unknown };
  return { exitCode: EXIT_FAILED, code: typeof e?.code === 'string' ? e.code : 'ERR_SKNOCK_UNEXPECTED', message: String(e?.message ?? err) };
}
