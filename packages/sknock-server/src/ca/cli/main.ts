#!/usr/bin/env node
/** The `sknock-ca` command. See `sknock-ca --help`. */
import { runCli } from './run.js';

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  input: process.stdin,
  output: process.stderr,
  env: process.env,
});
process.exitCode = code;
