#!/usr/bin/env node
/** The `sknock-ca` command. See `sknock-ca --help`. */
import { guardOutput } from '@sknock/protocol/cli';
import { runCli } from './run.js';

// A closed standard output or error (`sknock-ca list | head -1`) ends the command quietly, status 141.
const output = guardOutput();

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  input: process.stdin,
  output: process.stderr,
  env: process.env,
});
await output.exit(code);
