import { chmodSync, chownSync, lstatSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { SknockServerError } from '../errors.js';
import { groupId } from '@sknock/protocol/account-names';
import type { Logger } from '../logging/logger-type.js';
import { runControlCommand, type ControlContext } from './control-commands.js';
import { CONTROL_REQUEST_MAX_BYTES, errorReply, parseControlRequest, resultReply, type ControlRequest } from './control-protocol.js';

/**
 * The daemon's control socket (config key `controlSocket`): a Unix stream socket that the
 * admin commands (`sknock-server status`, `grants`, `grants close`, `grants flush`) talk to in
 * line-delimited JSON (./control-protocol.ts).
 *
 * - Who may connect: the file is made mode 0600 (umask 0177 while it is bound, so there is no
 *   moment it is wider), owned by the daemon's user; when a group named `sknock` exists and the
 *   socket can be given to it (the daemon runs in it, as under the unit), mode 0660 with that
 *   group, so members of `sknock` may run the admin commands without root.
 * - Its folder is made (mode 0750) when missing; under systemd it is the unit's
 *   `RuntimeDirectory=sknock`.
 * - A socket file left by a daemon that died is replaced; one a live daemon answers on is
 *   left alone (`ERR_SKNOCK_BIND`); a file that is not a socket is never removed.
 * - Bounded: at most CONTROL_CONNECTIONS_MAX connections at once, CONTROL_REQUEST_MAX_BYTES a
 *   request line, CONTROL_IDLE_MS without a request; requests of one connection are answered
 *   one at a time, in order. Nothing a client sends can stop the daemon: every bad request
 *   gets a typed error reply.
 */

export const CONTROL_CONNECTIONS_MAX = 16;
export const CONTROL_IDLE_MS = 30_000;
/** Mode of the socket file without / with the `sknock` group. */
const MODE_OWNER = 0o600;
const MODE_GROUP = 0o660;
const CONTROL_GROUP = 'sknock';

export interface ControlServerOptions {
  readonly path: string;
  readonly context: ControlContext;
  readonly logger: Logger;
}

/** What `start()` made. */
export interface ControlSocketInfo {
  readonly path: string;
  readonly mode: string;
  readonly group?: string;
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** Resolves true when something accepts a connection on `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const done = (live: boolean): void => {
      s.destroy();
      resolve(live);
    };
    s.setTimeout(1000, () => done(true)); // connected but silent still counts as live
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export class ControlServer {
  readonly #path: string;
  readonly #context: ControlContext;
  readonly #logger: Logger;
  readonly #connections = new Set<Socket>();
  #server: Server | undefined;
  /** Inode of the socket file this instance made (only that one is removed at close). */
  #inode: number | undefined;

  constructor(options: ControlServerOptions) {
    this.#path = options.path;
    this.#context = options.context;
    this.#logger = options.logger;
  }

  get path(): string {
    return this.#path;
  }

  /** Binds the socket; throws `SknockServerError` ERR_SKNOCK_BIND saying why it could not. */
  async start(): Promise<ControlSocketInfo> {
    const path = this.#path;
    const fail = (why: string, cause?: unknown): SknockServerError =>
      new SknockServerError('ERR_SKNOCK_BIND', `control socket ${path}: ${why}`, cause === undefined ? undefined : { cause });
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
    } catch (err) {
      throw fail(`cannot make its folder (${(err as Error).message})`, err);
    }
    let existing: ReturnType<typeof lstatSync> | undefined;
    try {
      existing = lstatSync(path);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw fail((err as Error).message, err);
    }
    if (existing !== undefined) {
      if (!existing.isSocket()) throw fail('a file that is not a socket is in the way (it is left alone)');
      if (await answers(path)) throw fail('another sknock-server answers on it (one control socket per daemon: give each its own controlSocket)');
      try {
        unlinkSync(path); // left by a daemon that died
      } catch (err) {
        throw fail(`cannot remove the stale socket (${(err as Error).message})`, err);
      }
    }
    const server = createServer({ allowHalfOpen: false }, (socket) => this.#accept(socket));
    server.maxConnections = CONTROL_CONNECTIONS_MAX;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const umask = process.umask(0o177);
      try {
        server.listen(path, () => {
          server.off('error', reject);
          resolve();
        });
      } finally {
        process.umask(umask);
      }
    }).catch((err: unknown) => {
      throw fail((err as Error).message, err);
    });
    server.on('error', (err) => this.#logger.error({ event: 'control-error', error: err.message }, 'control socket error'));
    this.#server = server;
    this.#inode = statSync(path).ino;
    let mode = MODE_OWNER;
    let group: string | undefined;
    const gid = groupId(CONTROL_GROUP);
    if (gid !== undefined) {
      try {
        chownSync(path, -1, gid);
        mode = MODE_GROUP;
        group = CONTROL_GROUP;
      } catch {
        // not a member of the group (and not root): owner only
      }
    }
    chmodSync(path, mode);
    return { path, mode: `0${mode.toString(8)}`, ...(group === undefined ? {} : { group }) };
  }

  #accept(socket: Socket): void {
    this.#connections.add(socket);
    socket.setTimeout(CONTROL_IDLE_MS, () => socket.destroy());
    socket.on('error', () => undefined); // a client that went away; nothing to do
    socket.on('close', () => this.#connections.delete(socket));
    let pending: Buffer = Buffer.alloc(0);
    let queue = Promise.resolve();
    let closed = false;
    socket.on('data', (chunk: Buffer) => {
      if (closed) return;
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let nl: number;
      while ((nl = pending.indexOf(0x0a)) >= 0) {
        const line = pending.subarray(0, nl);
        pending = pending.subarray(nl + 1);
        if (line.length > CONTROL_REQUEST_MAX_BYTES) {
          this.#tooLong(socket);
          closed = true;
          return;
        }
        const text = line.toString('utf8').replace(/\r$/, '');
        if (text.trim() === '') continue;
        queue = queue.then(() => this.#answer(socket, text));
      }
      if (pending.length > CONTROL_REQUEST_MAX_BYTES) {
        closed = true;
        queue = queue.then(() => this.#tooLong(socket));
      }
    });
  }

  #tooLong(socket: Socket): void {
    const err = new SknockServerError('ERR_SKNOCK_CONTROL_TOO_LONG', `a request line is at most ${CONTROL_REQUEST_MAX_BYTES} bytes`);
    if (!socket.destroyed) socket.end(errorReply(err));
  }

  async #answer(socket: Socket, text: string): Promise<void> {
    let reply: string;
    let request: ControlRequest | undefined;
    try {
      request = parseControlRequest(text);
      const log = request.command === 'close' || request.command === 'flush' ? this.#logger.info : this.#logger.debug;
      log.call(this.#logger, { event: 'control', command: request.command, ...(request.command === 'close' ? { address: request.address, protocol: request.protocol, port: request.port } : {}) }, `control: ${request.command}`);
      reply = resultReply(await runControlCommand(this.#context, request));
    } catch (err) {
      const typed = typeof (err as { code?: unknown })?.code === 'string' && String((err as { code: string }).code).startsWith('ERR_SKNOCK_');
      if (!typed) this.#logger.error({ event: 'control-error', command: request?.command, error: (err as Error)?.message ?? String(err) }, 'control command failed');
      reply = errorReply(typed ? err : new SknockServerError('ERR_SKNOCK_CONTROL_INTERNAL', `the command failed: ${(err as Error)?.message ?? String(err)}`));
    }
    if (!socket.destroyed && socket.writable) socket.write(reply);
  }

  /** Stops taking connections, ends those open and removes the socket file it made. */
  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    for (const socket of this.#connections) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    try {
      // listen() unlinks nothing; server.close() removes the path in Node, but only if it is still ours.
      if (statSync(this.#path).ino === this.#inode) unlinkSync(this.#path);
    } catch {
      // already gone
    }
  }
}
