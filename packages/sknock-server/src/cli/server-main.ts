#!/usr/bin/env node
/**
 * `sknock-server`: the daemon in the foreground (systemd `Type=exec`), JSON logs on stdout.
 *
 *   sknock-server [run] [--config FILE]          run (default config /etc/sknock/config.ini)
 *   sknock-server check-config [--config FILE]   check a config; exit 0 good, 1 not
 *   sknock-server check-config --firewall ...    also check that the firewall can be driven
 *   sknock-server check-config --keys            list every config key with its default
 *   sknock-server install-unit [--config FILE] [--output FILE|-] [--force]
 *                                                write the systemd unit for this installation
 *   sknock-server status [--json] [--config FILE]                 ask the running daemon
 *   sknock-server grants [--json] [--config FILE]                 list its grants
 *   sknock-server grants close ADDRESS [PROTO/PORT] [--config FILE]
 *   sknock-server grants flush [--config FILE]
 *   sknock-server --version | --help
 *
 * The admin commands (status, grants) talk to the daemon over its control socket (config key
 * `controlSocket`, ./admin-commands.ts). JSON log lines: info and below on stdout, warn and
 * above on stderr (../logging/level-streams.ts).
 *
 * SIGHUP reloads the config and the CRL; SIGTERM/SIGINT stop cleanly (firewall state removed)
 * and exit 0. Exit 1: could not start (or stop) — one line on stderr and one log line name
 * the problem; exit 2: bad usage; exit 141: its output (the log, for `run`) was closed by
 * its reader, after which the daemon stops cleanly as on SIGTERM (./closed-output.ts).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { checkConfig } from '../config/check-config.js';
import { CONFIG_KEYS } from '../config/option-names.js';
import { isSknockConfigError } from '../config/errors.js';
import { DEFAULT_CONFIG_PATH, STOP_HARD_TIMEOUT_MS } from '../constants.js';
import { createServer, type SknockServer } from '../daemon/server.js';
import { isSknockServerError } from '../errors.js';
import { createLogger, stderrDestination, stdoutDestination } from '../logging/create-logger.js';
import { EXIT_FAILED, EXIT_OK, EXIT_OUTPUT_CLOSED, EXIT_USAGE, guardOutput } from '@sknock/protocol/cli';
import { runAdminCommand } from './admin-commands.js';
import { startDaemonServices, type DaemonServices } from './daemon-services.js';
import { DEFAULT_UNIT_PATH, InstallUnitError, installUnit } from './install-unit.js';

/** Standard output (and the log written to it) and standard error. */
const output = guardOutput([process.stdout, process.stderr, stdoutDestination(), stderrDestination()]);

const USAGE = `Usage:
  sknock-server [run] [--config FILE]          run the daemon in the foreground
  sknock-server check-config [--config FILE]   check a config file (exit 0 good, 1 not)
  sknock-server check-config --firewall ...    also check that this process can drive the
                                               firewall (programs, CAP_NET_ADMIN, a dry run)
  sknock-server check-config --keys            list every config key with its default
  sknock-server install-unit [--config FILE] [--output FILE|-] [--force]
                                               write the systemd unit with this installation's
                                               paths (default ${DEFAULT_UNIT_PATH})
  sknock-server status [--json]                the running daemon: uptime, back end, policy,
                                               counters, CRL of each CA
  sknock-server grants [--json]                the grants it holds
  sknock-server grants close ADDRESS [PROTO/PORT]
                                               close the grants of ADDRESS (or one: tcp/22)
  sknock-server grants flush                   close every grant
  sknock-server --version
  sknock-server --help

Options:
  -c, --config FILE   the config file (default ${DEFAULT_CONFIG_PATH}); status and grants
                      find the daemon's control socket from its controlSocket key
  --json              status, grants: print the daemon's answer as JSON
  -o, --output FILE   install-unit: where to write the unit ('-': standard output)
  --force             install-unit: replace a unit file that differs

Signals: SIGHUP reloads the config and the CRL; SIGTERM and SIGINT stop the daemon,
removing every firewall rule it added.

Exit status: 0 done (or stopped by a signal), 1 failed (could not start; status and
grants: the daemon could not be reached or refused), 2 bad usage,
141 its output was closed (run: the daemon then stops as on SIGTERM).
`;

function version(): string {
  try {
    const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return manifest.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function usageError(message: string): number {
  process.stderr.write(`sknock-server: ${message}\n\n${USAGE}`);
  return EXIT_USAGE;
}

async function commandCheckConfig(file: string, keys: boolean, firewall: boolean): Promise<number> {
  if (keys) {
    for (const k of CONFIG_KEYS) process.stdout.write(`${k.key} (default ${k.default}): ${k.description}\n`);
    return EXIT_OK;
  }
  const result = await checkConfig(file, { firewall });
  for (const warning of result.warnings) process.stderr.write(`sknock-server: warning: ${warning}\n`);
  if (result.ok) {
    process.stdout.write(`sknock-server: ${file}: configuration OK${firewall ? ' (and the firewall can be driven)' : ''}\n`);
    return EXIT_OK;
  }
  for (const problem of result.problems) process.stderr.write(`sknock-server: ${problem}\n`);
  return EXIT_FAILED;
}

function describe(err: unknown): { message: string; fields: Record<string, unknown> } {
  if (isSknockConfigError(err)) return { message: err.message, fields: { code: err.code, key: err.key, file: err.file, line: err.line } };
  if (isSknockServerError(err)) return { message: err.message, fields: { code: err.code } };
  const e = err as { message?: unknown; code?: unknown };
  return { message: String(e?.message ?? err), fields: { code: e?.code } };
}

async function commandRun(file: string): Promise<number> {
  const log = createLogger({ level: 'info' });
  const server: SknockServer = createServer({ config: file });
  let settle: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => (settle = resolve));
  let stopping = false;
  let started = false;
  let services: DaemonServices | undefined;

  const stop = (why: string, code: number): void => {
    if (stopping) {
      log.warn({ event: 'signal', signal: why }, 'already stopping; exiting now');
      settle(EXIT_FAILED);
      return;
    }
    stopping = true;
    log.info({ event: 'signal', signal: why }, 'stopping');
    const hard = setTimeout(() => {
      log.error({ event: 'stop-timeout', ms: STOP_HARD_TIMEOUT_MS }, 'stop took too long; exiting');
      settle(EXIT_FAILED);
    }, STOP_HARD_TIMEOUT_MS);
    hard.unref();
    // stop() waits for a start in progress, then undoes it: a signal during start-up leaves no rules.
    const closing = services?.close().catch(() => undefined) ?? Promise.resolve();
    closing.then(() => server.stop()).then(
      () => {
        clearTimeout(hard);
        settle(code);
      },
      (err: unknown) => {
        clearTimeout(hard);
        const { message, fields } = describe(err);
        log.error({ event: 'stop-failed', ...fields, error: message }, `stop failed: ${message}`);
        process.stderr.write(`sknock-server: ${message}\n`);
        settle(EXIT_FAILED);
      },
    );
  };
  // The reader of the log went away (a closed pipe): stop cleanly rather than run unheard.
  output.onClosed(() => stop('output-closed', EXIT_OUTPUT_CLOSED));
  process.on('SIGTERM', () => stop('SIGTERM', EXIT_OK));
  process.on('SIGINT', () => stop('SIGINT', EXIT_OK));
  process.on('SIGHUP', () => {
    if (stopping || !started) return;
    log.info({ event: 'signal', signal: 'SIGHUP' }, 'reloading configuration and CRL');
    server.reload().catch(() => {
      // the server logged why and keeps the configuration in force
    });
  });
  // A bug must not leave firewall rules behind: log it, tear down, exit 1 (systemd restarts).
  const fatal = (err: unknown): void => {
    const { message } = describe(err);
    log.fatal({ event: 'crash', error: message, stack: (err as Error)?.stack }, 'unexpected error; stopping');
    stop('crash', EXIT_FAILED);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);

  try {
    const startedAt = Date.now();
    await server.start();
    started = true;
    if (!stopping) services = await startDaemonServices(server, log, version(), startedAt);
    if (stopping) await services?.close();
  } catch (err) {
    if (stopping) return finished; // a signal came during start-up
    const { message, fields } = describe(err);
    log.fatal({ event: 'start-failed', ...fields, error: message }, `sknock-server could not start: ${message}`);
    process.stderr.write(`sknock-server: ${message}\n`);
    return EXIT_FAILED;
  }
  return finished;
}

async function commandInstallUnit(config: string | undefined, output: string | undefined, force: boolean): Promise<number> {
  if (output === '') return usageError('--output needs a file name (or - for standard output)');
  try {
    const r = await installUnit({ config, output, force });
    for (const note of r.notes) process.stderr.write(`sknock-server: note: ${note}\n`);
    if (r.written === undefined) {
      process.stdout.write(r.text);
      return EXIT_OK;
    }
    process.stdout.write(
      r.unchanged
        ? `sknock-server: ${r.written} is up to date\n`
        : `sknock-server: wrote ${r.written}; now run: systemctl daemon-reload && systemctl enable --now sknock-server\n`,
    );
    return EXIT_OK;
  } catch (err) {
    if (!(err instanceof InstallUnitError)) throw err;
    process.stderr.write(`sknock-server: ${err.message}\n`);
    return EXIT_FAILED;
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string', short: 'c' },
        keys: { type: 'boolean' },
        firewall: { type: 'boolean' },
        output: { type: 'string', short: 'o' },
        force: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
        json: { type: 'boolean' },
      },
    });
  } catch (err) {
    return usageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return EXIT_OK;
  }
  if (values.version) {
    process.stdout.write(`sknock-server ${version()}\n`);
    return EXIT_OK;
  }
  const command = positionals[0] ?? 'run';
  const admin = command === 'status' || command === 'grants';
  if (positionals.length > 1 && !admin) return usageError(`unexpected argument '${positionals[1]}'`);
  if (values.json && !admin) return usageError('--json goes with status or grants');
  const file = values.config ?? DEFAULT_CONFIG_PATH;
  if (values.config === '') return usageError('--config needs a file name');
  if (command !== 'check-config' && (values.keys || values.firewall)) return usageError(`--${values.keys ? 'keys' : 'firewall'} goes with check-config`);
  if (command !== 'install-unit' && (values.output !== undefined || values.force)) return usageError(`--${values.force ? 'force' : 'output'} goes with install-unit`);
  switch (command) {
    case 'run':
      return commandRun(file);
    case 'check-config':
      return commandCheckConfig(file, values.keys === true, values.firewall === true);
    case 'install-unit':
      return commandInstallUnit(values.config, values.output, values.force === true);
    case 'status':
    case 'grants':
      return runAdminCommand(command, { configFile: file, json: values.json === true, args: positionals.slice(1), usageError });
    default:
      return usageError(`unknown command '${command}' (commands: run, check-config, install-unit, status, grants)`);
  }
}

main(process.argv.slice(2)).then(
  (code) => output.exit(code),
  (err: unknown) => {
    process.stderr.write(`sknock-server: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(EXIT_FAILED);
  },
);
