import { connect } from 'node:net';
import { SknockServerError } from '../errors.js';
import type { ControlReply, ControlRequest } from './control-protocol.js';

/**
 * The admin commands' side of the control socket: one request, one reply line. Rejects with
 * `ERR_SKNOCK_CONTROL_UNAVAILABLE` (no socket, refused, no permission),
 * `ERR_SKNOCK_CONTROL_TIMEOUT`, or the daemon's own typed error for an `ok: false` reply.
 */

/** Longest reply accepted (a grants list of the keeper's maximum fits). */
const REPLY_MAX_BYTES = 64 * 1024 * 1024;

export async function sendControlRequest(path: string, request: ControlRequest, timeoutMs = 10_000): Promise<unknown> {
  const reply = await new Promise<ControlReply>((resolve, reject) => {
    const socket = connect(path);
    const chunks: Buffer[] = [];
    let length = 0;
    let settled = false;
    const finish = (err: Error | undefined, value?: ControlReply): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err !== undefined) reject(err);
      else resolve(value as ControlReply);
    };
    const timer = setTimeout(() => finish(new SknockServerError('ERR_SKNOCK_CONTROL_TIMEOUT', `no answer on ${path} within ${timeoutMs} ms`)), timeoutMs);
    socket.once('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'ENOENT'
          ? 'it does not exist (is sknock-server running, with this --config and its controlSocket?)'
          : err.code === 'ECONNREFUSED'
            ? 'nothing answers on it (the daemon that made it is gone)'
            : err.code === 'EACCES' || err.code === 'EPERM'
              ? 'permission denied (run as root, or as a member of the sknock group)'
              : err.message;
      finish(new SknockServerError('ERR_SKNOCK_CONTROL_UNAVAILABLE', `cannot reach the daemon's control socket ${path}: ${why}`, { cause: err }));
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      const all = Buffer.concat(chunks);
      const nl = all.indexOf(0x0a);
      if (nl < 0) {
        if (length > REPLY_MAX_BYTES) finish(new SknockServerError('ERR_SKNOCK_CONTROL_BAD_REQUEST', 'the reply is too long'));
        return;
      }
      try {
        finish(undefined, JSON.parse(all.subarray(0, nl).toString('utf8')) as ControlReply);
      } catch {
        finish(new SknockServerError('ERR_SKNOCK_CONTROL_BAD_REQUEST', `the reply on ${path} is not JSON: is it a sknock-server's control socket?`));
      }
    });
    socket.on('end', () => finish(new SknockServerError('ERR_SKNOCK_CONTROL_UNAVAILABLE', `the daemon closed ${path} without an answer`)));
  });
  if (reply.ok) return reply.result;
  const err = new SknockServerError('ERR_SKNOCK_CONTROL_INTERNAL', reply.error.message);
  // The daemon's own code (ERR_SKNOCK_STATE, ERR_SKNOCK_INVALID_ARGUMENT, …), as it sent it.
  Object.defineProperty(err, 'code', { value: reply.error.code, enumerable: true });
  throw err;
}
