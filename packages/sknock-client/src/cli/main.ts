#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { guardOutput } from '@sknock/protocol/cli';
import { connectCommand } from './connect-command.js';
import { knockCommand } from './knock-command.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, MAIN_USAGE } from './usage.js';

/** The `sknock` command: `knock`, `connect`, `profile`, `csr`. */

// A closed standard output or error ends the command quietly, status 141 (@sknock/protocol/cli).
const output = guardOutput();

function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'knock':
      return knockCommand(rest);
    case 'connect':
      return connectCommand(rest);
    case 'profile':
      return (await import('./profile-command.js')).profileCommand(rest);
    case 'csr':
      // Loaded only here: @peculiar/x509 adds about 0.3 s to start-up.
      return (await import('./csr-command.js')).csrCommand(rest);
    case '--version':
    case '-V':
      process.stdout.write(`${version()}\n`);
      return EXIT_OK;
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${MAIN_USAGE}\n`);
      return EXIT_OK;
    case undefined:
      process.stderr.write(`${MAIN_USAGE}\n`);
      return EXIT_USAGE;
    default:
      process.stderr.write(`sknock: unknown command ${JSON.stringify(command)}\nTry 'sknock --help'.\n`);
      return EXIT_USAGE;
  }
}

main(process.argv.slice(2)).then(
  // Exits once the output is flushed (`connect` leaves stdin open, so it must exit; the others may).
  (code) => output.exit(code),
  (err: unknown) => {
    process.stderr.write(`sknock: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(EXIT_FAILED);
  },
);
