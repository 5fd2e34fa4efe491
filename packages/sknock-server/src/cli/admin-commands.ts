import { isIP } from 'node:net';
import { controlSocketOf } from '../config/control-socket-path.js';
import { isSknockConfigError } from '../config/errors.js';
import { EXIT_FAILED, EXIT_OK } from '@sknock/protocol/cli';
import type { GrantRow } from '../control/control-commands.js';
import { sendControlRequest } from '../control/control-client.js';
import { formatClosed, formatGrants, formatStatus } from '../control/control-format.js';
import type { ControlRequest } from '../control/control-protocol.js';
import { isSknockServerError } from '../errors.js';

/**
 * `sknock-server status`, `sknock-server grants`, `grants close ADDRESS [PROTO/PORT]` and
 * `grants flush`: requests to the running daemon over its control socket, found from
 * `--config` (its `controlSocket` key). Exit 0 done, 1 the daemon could not be reached or
 * refused, 2 bad usage.
 */

export interface AdminCommandOptions {
  readonly configFile: string;
  readonly json: boolean;
  /** The positionals after the command name. */
  readonly args: readonly string[];
  readonly usageError: (message: string) => number;
}

function requestOf(command: string, args: readonly string[], usageError: (m: string) => number): ControlRequest | number {
  if (command === 'status') return args.length === 0 ? { command: 'status' } : usageError(`status takes no argument ('${args[0]}')`);
  const [sub, ...rest] = args;
  if (sub === undefined || sub === 'list') return rest.length === 0 ? { command: 'grants' } : usageError(`grants takes no argument after list ('${rest[0]}')`);
  if (sub === 'flush') return rest.length === 0 ? { command: 'flush' } : usageError(`grants flush takes no argument ('${rest[0]}')`);
  if (sub !== 'close') return usageError(`unknown grants command '${sub}' (grants, grants close ADDRESS [PROTO/PORT], grants flush)`);
  const [address, spec, extra] = rest;
  if (address === undefined) return usageError('grants close needs an ADDRESS (IPv4 or IPv6), and optionally PROTO/PORT such as tcp/22');
  if (extra !== undefined) return usageError(`unexpected argument '${extra}' after grants close ADDRESS PROTO/PORT`);
  if (isIP(address) === 0) return usageError(`grants close: '${address}' is not an IPv4 or IPv6 address`);
  if (spec === undefined) return { command: 'close', address };
  const m = /^(tcp|udp)\/(\d{1,5})$/i.exec(spec);
  const port = Number(m?.[2]);
  if (m === null || port < 1 || port > 65_535) return usageError(`grants close: '${spec}' is not PROTO/PORT such as tcp/22 or udp/53`);
  return { command: 'close', address, protocol: (m[1] as string).toLowerCase() as 'tcp' | 'udp', port };
}

export async function runAdminCommand(command: 'status' | 'grants', options: AdminCommandOptions): Promise<number> {
  const request = requestOf(command, options.args, options.usageError);
  if (typeof request === 'number') return request;
  let path: string | undefined;
  try {
    path = await controlSocketOf(options.configFile);
  } catch (err) {
    if (!isSknockConfigError(err)) throw err;
    process.stderr.write(`sknock-server: ${err.message}\n`);
    return EXIT_FAILED;
  }
  if (path === undefined) {
    process.stderr.write(`sknock-server: controlSocket is off in ${options.configFile}: the daemon takes no admin commands (set controlSocket, then restart it)\n`);
    return EXIT_FAILED;
  }
  let result: unknown;
  try {
    result = await sendControlRequest(path, request);
  } catch (err) {
    if (!isSknockServerError(err) && typeof (err as { code?: unknown })?.code !== 'string') throw err;
    process.stderr.write(`sknock-server: ${(err as Error).message} (${String((err as { code: unknown }).code)})\n`);
    return EXIT_FAILED;
  }
  if (options.json) {
    process.stdout.write(`${JSON.stringify(request.command === 'grants' ? (result as { grants: unknown }).grants : result, null, 2)}\n`);
    return EXIT_OK;
  }
  switch (request.command) {
    case 'status':
      process.stdout.write(formatStatus(result as Record<string, unknown>));
      break;
    case 'grants':
      process.stdout.write(formatGrants((result as { grants: GrantRow[] }).grants));
      break;
    case 'close':
    case 'flush':
      process.stdout.write(formatClosed((result as { closed: GrantRow[] }).closed));
      break;
  }
  return EXIT_OK;
}
