import { SknockServerError, type SknockServerErrorCode } from '../errors.js';

/**
 * The control socket's wire format: line-delimited JSON. A client writes one request object
 * on one line, the daemon answers with one reply object on one line; a connection may carry
 * several requests, answered in order.
 *
 *   {"command":"status"}
 *   {"command":"grants"}
 *   {"command":"close","address":"192.0.2.7","protocol":"tcp","port":22}
 *   {"command":"flush"}
 *
 * Replies: `{"ok":true,"result":…}` or `{"ok":false,"error":{"code":"ERR_SKNOCK_…","message":"…"}}`.
 * A request line longer than CONTROL_REQUEST_MAX_BYTES gets `ERR_SKNOCK_CONTROL_TOO_LONG`
 * and the connection is closed; anything else that is not a request gets
 * `ERR_SKNOCK_CONTROL_BAD_REQUEST` or `ERR_SKNOCK_CONTROL_UNKNOWN_COMMAND`, and the connection
 * stays open.
 */

/** Longest request line, newline excluded. */
export const CONTROL_REQUEST_MAX_BYTES = 4096;

export const CONTROL_COMMANDS = ['status', 'grants', 'close', 'flush'] as const;
export type ControlCommand = (typeof CONTROL_COMMANDS)[number];

export type ControlRequest =
  | { readonly command: 'status' }
  | { readonly command: 'grants' }
  | { readonly command: 'close'; readonly address: string; readonly protocol?: 'tcp' | 'udp'; readonly port?: number }
  | { readonly command: 'flush' };

export interface ControlErrorBody {
  readonly code: SknockServerErrorCode | string;
  readonly message: string;
}

export type ControlReply = { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly error: ControlErrorBody };

function bad(message: string): SknockServerError {
  return new SknockServerError('ERR_SKNOCK_CONTROL_BAD_REQUEST', message);
}

const FIELDS: Readonly<Record<ControlCommand, readonly string[]>> = {
  status: ['command'],
  grants: ['command'],
  close: ['command', 'address', 'protocol', 'port'],
  flush: ['command'],
};

/** One request line (without its newline) → a request; throws a typed `SknockServerError`. */
export function parseControlRequest(line: string): ControlRequest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw bad('a request is one JSON object on one line, such as {"command":"status"}');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('a request must be a JSON object with a "command"');
  const fields = value as Record<string, unknown>;
  const command = fields['command'];
  if (typeof command !== 'string') throw bad('a request needs "command", a string');
  if (!(CONTROL_COMMANDS as readonly string[]).includes(command)) {
    throw new SknockServerError('ERR_SKNOCK_CONTROL_UNKNOWN_COMMAND', `unknown command ${JSON.stringify(command.slice(0, 40))} (commands: ${CONTROL_COMMANDS.join(', ')})`);
  }
  const known = FIELDS[command as ControlCommand];
  const extra = Object.keys(fields).find((k) => !known.includes(k));
  if (extra !== undefined) throw bad(`"${extra.slice(0, 40)}" is not a field of ${command}`);
  if (command !== 'close') return { command } as ControlRequest;
  const { address, protocol, port } = fields;
  if (typeof address !== 'string' || address === '') throw bad('close needs "address", an IPv4 or IPv6 address');
  if (protocol !== undefined && protocol !== 'tcp' && protocol !== 'udp') throw bad('"protocol" must be "tcp" or "udp"');
  if (port !== undefined && (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65_535)) throw bad('"port" must be a whole number from 1 to 65535');
  if ((protocol === undefined) !== (port === undefined)) throw bad('close takes "protocol" and "port" together, or neither');
  return { command: 'close', address, ...(protocol === undefined ? {} : { protocol, port: port as number }) };
}

/** The reply line (with its newline) for an error. */
export function errorReply(err: unknown): string {
  const code = typeof (err as { code?: unknown })?.code === 'string' ? String((err as { code: string }).code) : 'ERR_SKNOCK_CONTROL_INTERNAL';
  const message = err instanceof Error ? err.message : String(err);
  return `${JSON.stringify({ ok: false, error: { code, message } } satisfies ControlReply)}\n`;
}

/** The reply line (with its newline) for a result. */
export function resultReply(result: unknown): string {
  return `${JSON.stringify({ ok: true, result } satisfies ControlReply)}\n`;
}
