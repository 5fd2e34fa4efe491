import type { AddressInfo, Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { ConnectOptions, SocketDefaults } from './connect-options.js';
import { invalidOption } from './errors.js';

/**
 * A stream that looks enough like an unconnected `net.Socket` for libraries that make their
 * socket through a factory and call `connect(port, host)` on it themselves (pg's `stream`
 * option; mysql2's `stream` and ssh2's `sock` take it too): `connect()` knocks when needed
 * and connects through the knocker, then the stream relays to that one connection. Bytes
 * written before the connection stands are held until it does. The service sees one
 * connection, the one behind this stream.
 */

/** The knocker method this stream connects through. */
export interface SocketConnector {
  connect(options: ConnectOptions): Promise<Socket>;
}

type Pending = readonly [chunk: unknown, encoding: BufferEncoding, callback: (error?: Error | null) => void];

export class KnockingSocket extends Duplex {
  /** `true` from `connect()` until the connection stands (as `net.Socket#connecting`). */
  connecting = false;
  #socket: Socket | undefined;
  #write: Pending | undefined;
  #final: ((error?: Error | null) => void) | undefined;
  #noDelay: boolean | undefined;
  #keepAlive: readonly [boolean, number] | undefined;
  #timeout: number | undefined;
  #ref = true;

  constructor(
    private readonly connector: SocketConnector,
    private readonly defaults: SocketDefaults,
  ) {
    super({ allowHalfOpen: defaults.allowHalfOpen === true });
  }

  /** Knocks if needed and connects; emits `'connect'` (and `'ready'`) once the connection stands, `'error'` if it cannot. */
  connect(port: number | { port: number; host?: string }, host?: string | (() => void), listener?: () => void): this {
    const where = typeof port === 'object' ? port : { port, host: typeof host === 'string' ? host : undefined };
    const onConnect = typeof host === 'function' ? host : listener;
    if (this.connecting || this.#socket !== undefined || this.destroyed) throw invalidOption('connect', 'this socket already connected (or is connecting); make a new one');
    this.connecting = true;
    if (onConnect !== undefined) this.once('connect', onConnect);
    this.connector.connect({ ...this.defaults, host: where.host ?? 'localhost', port: where.port }).then(
      (socket) => this.#attach(socket),
      (err: Error) => {
        this.connecting = false;
        this.destroy(err);
      },
    );
    return this;
  }

  #attach(socket: Socket): void {
    this.connecting = false;
    if (this.destroyed) {
      socket.destroy();
      return;
    }
    this.#socket = socket;
    if (this.#noDelay !== undefined) socket.setNoDelay(this.#noDelay);
    if (this.#keepAlive !== undefined) socket.setKeepAlive(...this.#keepAlive);
    if (this.#timeout !== undefined) socket.setTimeout(this.#timeout);
    if (!this.#ref) socket.unref();
    socket.on('timeout', () => this.emit('timeout'));
    socket.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => {
      if (!this.destroyed) this.destroy();
    });
    const pending = this.#write;
    this.#write = undefined;
    if (pending !== undefined) socket.write(pending[0] as Buffer, pending[1], pending[2]);
    const final = this.#final;
    this.#final = undefined;
    if (final !== undefined) socket.end(() => final());
    this.emit('connect');
    this.emit('ready');
  }

  override _read(): void {
    this.#socket?.resume();
  }

  override _write(chunk: unknown, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#socket === undefined) this.#write = [chunk, encoding, callback];
    else this.#socket.write(chunk as Buffer, encoding, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.#socket === undefined) this.#final = callback;
    else this.#socket.end(() => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#socket?.destroy();
    const pending = this.#write;
    this.#write = undefined;
    pending?.[2](error ?? new Error('socket destroyed before it connected'));
    callback(error);
  }

  setNoDelay(noDelay = true): this {
    this.#noDelay = noDelay;
    this.#socket?.setNoDelay(noDelay);
    return this;
  }

  setKeepAlive(enable = false, initialDelay = 0): this {
    this.#keepAlive = [enable, initialDelay];
    this.#socket?.setKeepAlive(enable, initialDelay);
    return this;
  }

  setTimeout(ms: number, callback?: () => void): this {
    this.#timeout = ms;
    if (callback !== undefined) this.once('timeout', callback);
    this.#socket?.setTimeout(ms);
    return this;
  }

  ref(): this {
    this.#ref = true;
    this.#socket?.ref();
    return this;
  }

  unref(): this {
    this.#ref = false;
    this.#socket?.unref();
    return this;
  }

  /** Sends a RST instead of a FIN (as `net.Socket#resetAndDestroy`). */
  resetAndDestroy(): this {
    if (this.#socket !== undefined && !this.#socket.destroyed) this.#socket.resetAndDestroy();
    return this.destroy();
  }

  address(): AddressInfo | Record<string, never> {
    return this.#socket?.address() ?? {};
  }

  get remoteAddress(): string | undefined {
    return this.#socket?.remoteAddress;
  }

  get remotePort(): number | undefined {
    return this.#socket?.remotePort;
  }

  get remoteFamily(): string | undefined {
    return this.#socket?.remoteFamily;
  }

  get localAddress(): string | undefined {
    return this.#socket?.localAddress;
  }

  get localPort(): number | undefined {
    return this.#socket?.localPort;
  }
}
