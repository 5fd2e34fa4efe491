import { SknockClientError } from '../errors.js';
import { OPTION_FLAGS } from './args.js';
import { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, InterruptedError, UsageError } from './usage.js';

/** Exit status and a JSON-able description for anything a command can throw. */
export interface DescribedError {
  readonly exitCode: number;
  readonly code: string;
  readonly message: string;
  readonly attempts?: number;
}

/**
 * SDK messages name SDK options (`sourceAddress: …`); the command names its flags instead, or
 * where in the profile file a value was set. `names` maps an option to that text (the knock
 * commands pass theirs; OPTION_FLAGS otherwise). The option at fault (`err.option`) leads the
 * message; camelCase option names inside it are replaced too, and "family is 6" becomes "-6".
 */
function withFlagNames(err: SknockClientError, names: Readonly<Record<string, string>>): string {
  // Profile file errors name the file, line and key already; file errors name the path.
  if (err.code === 'ERR_SKNOCK_PROFILE_INVALID' || err.code === 'ERR_SKNOCK_PROFILE_NOT_FOUND') return err.message;
  let message = err.message;
  const option = err.option;
  if (option !== undefined && names[option] !== undefined && message.startsWith(`${option}:`)) {
    message = `${names[option]}:${message.slice(option.length + 1)}`;
  }
  if (names['family'] === OPTION_FLAGS['family']) message = message.replace(/\bfamily is ([46])\b/g, '-$1 was given');
  return message.replace(/\b[a-z]+[A-Z][A-Za-z]*\b/g, (word) => names[word] ?? word);
}

export function describeError(err: unknown, names: Readonly<Record<string, string>> = OPTION_FLAGS): DescribedError {
  if (err instanceof UsageError) return { exitCode: EXIT_USAGE, code: 'ERR_SKNOCK_USAGE', message: err.message };
  if (err instanceof InterruptedError) return { exitCode: EXIT_INTERRUPTED, code: 'ERR_SKNOCK_ABORTED', message: 'interrupted' };
  if (err instanceof SknockClientError) {
    const usage = err.code === 'ERR_SKNOCK_INVALID_ARGUMENT' || err.code === 'ERR_SKNOCK_PROFILE_INVALID' || err.code === 'ERR_SKNOCK_PROFILE_NOT_FOUND';
    const exitCode = usage ? EXIT_USAGE : err.code === 'ERR_SKNOCK_ABORTED' ? EXIT_INTERRUPTED : EXIT_FAILED;
    return { exitCode, code: err.code, message: withFlagNames(err, names), ...(err.attempts === undefined ? {} : { attempts: err.attempts }) };
  }
  const e = err as { code?: unknown; message?: unknown };
  return { exitCode: EXIT_FAILED, code: typeof e?.code === 'string' ? e.code : 'ERR_SKNOCK_UNEXPECTED', message: String(e?.message ?? err) };
}
