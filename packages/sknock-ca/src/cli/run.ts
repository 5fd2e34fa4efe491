import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isSknockCaError, type SknockCaErrorCode } from '../errors.js';
import type { CliIo, Command, CommandContext, OptionValues } from './command.js';
import { crlCommand } from './commands/crl.js';
import { initCommand } from './commands/init.js';
import { issueClientCommand } from './commands/issue-client.js';
import { issueServerCommand } from './commands/issue-server.js';
import { listCommand } from './commands/list.js';
import { revokeCommand } from './commands/revoke.js';
import { signCsrCommand } from './commands/sign-csr.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError } from '@sknock/protocol/cli';

/** `sknock-ca`: parses the command line, runs one command, maps failures to exit codes. */

// Exit codes (@sknock/protocol/cli): 0 done, 1 the operation failed, 2 bad usage (141, output closed: main.ts).

const COMMANDS: readonly Command[] = [
  initCommand,
  issueServerCommand,
  issueClientCommand,
  signCsrCommand,
  revokeCommand,
  crlCommand,
  listCommand,
];

/** Library errors that mean the command line asked for something impossible. */
const USAGE_CODES: ReadonlySet<SknockCaErrorCode> = new Set([
  'ERR_SKNOCK_CA_INVALID_ARGUMENT',
  'ERR_SKNOCK_CA_INVALID_GRANT',
  'ERR_SKNOCK_CA_INVALID_VALIDITY',
  'ERR_SKNOCK_CA_AFTER_2049',
]);

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: sknock-ca COMMAND [options]',
    '',
    'A certificate authority for sKnock: CA, server and client certificates (port grants',
    'inside), CSR signing, revocation and CRLs. Keys are EC P-256.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Every command takes --dir DIR (default ./sknock-ca) and --help.',
    'Exit status: 0 done, 1 the operation failed, 2 bad usage, 141 its output was closed',
    '(the work is done; what was left to print is not).',
  ].join('\n');
}

function parseFor(command: Command, args: readonly string[]): { values: OptionValues; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: [...args], options: command.options, strict: true, allowPositionals: true });
    return { values: values as OptionValues, positionals };
  } catch (err) {
    const unknown = /Unknown option '([^']+)'/.exec((err as Error).message);
    let message = unknown === null ? (err as Error).message : `unknown option ${unknown[1]}`;
    if (args.some((a) => /^--(passphrase|password|pass)(=|$)/.test(a))) {
      message += '; passphrases are never taken from the command line: use --passphrase-file FILE or --passphrase-env VAR';
    } else if (args.some((a) => /^--ca-(passphrase|password|pass)(=|$)/.test(a))) {
      message += '; passphrases are never taken from the command line: use --ca-passphrase-file FILE or --ca-passphrase-env VAR';
    }
    throw new UsageError(message, command.name);
  }
}

/** Runs `sknock-ca` with `argv` (without `node` and the script); resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const print = (line = ''): void => void io.stdout.write(`${line}\n`);
  const note = (line: string): void => void io.stderr.write(`${line}\n`);
  const [name, ...rest] = argv;
  let command: Command | undefined;
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      const topic = name === 'help' ? rest[0] : undefined;
      const about = topic === undefined ? undefined : COMMANDS.find((c) => c.name === topic);
      if (topic !== undefined && about === undefined) throw new UsageError(`unknown command ${JSON.stringify(topic)}`);
      if (name === undefined) {
        note(mainHelp());
        return EXIT_USAGE;
      }
      print(about === undefined ? mainHelp() : about.help);
      return EXIT_OK;
    }
    if (name === '--version' || name === '-V') {
      print(version());
      return EXIT_OK;
    }
    command = COMMANDS.find((c) => c.name === name);
    if (command === undefined) {
      throw new UsageError(`unknown command ${JSON.stringify(name)}; the commands are ${COMMANDS.map((c) => c.name).join(', ')}`);
    }
    const { values, positionals } = parseFor(command, rest);
    if (values.help === true) {
      print(command.help);
      return EXIT_OK;
    }
    const [min, max] = command.positionals;
    if (positionals.length < min) throw new UsageError(`missing argument: ${command.help.split('\n')[0]?.replace(/^Usage: /, '')}`, command.name);
    if (positionals.length > max) {
      throw new UsageError(`unexpected argument${positionals.length - max > 1 ? 's' : ''}: ${positionals.slice(max).join(' ')}`, command.name);
    }
    const context: CommandContext = { values, positionals, io, print, note };
    await command.run(context);
    return EXIT_OK;
  } catch (err) {
    const where = command === undefined ? 'sknock-ca' : `sknock-ca ${command.name}`;
    if (err instanceof UsageError) {
      note(`${where}: ${err.message}`);
      const about = err.command ?? command?.name;
      note(about === undefined ? "Run 'sknock-ca --help'." : `Run 'sknock-ca ${about} --help'.`);
      return EXIT_USAGE;
    }
    if (isSknockCaError(err)) {
      note(`${where}: ${err.message} (${err.code})`);
      return USAGE_CODES.has(err.code) ? EXIT_USAGE : EXIT_FAILED;
    }
    if (err instanceof Error && err.name === 'SknockProtocolError') {
      note(`${where}: ${err.message} (${(err as Error & { code?: string }).code})`);
      return EXIT_FAILED;
    }
    note(`${where}: unexpected failure: ${(err as Error)?.stack ?? String(err)}`);
    return EXIT_FAILED;
  }
}
