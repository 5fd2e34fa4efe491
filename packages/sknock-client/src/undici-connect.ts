import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { validateSocketDefaults, type SocketDefaults, type TlsOptions } from './connect-options.js';
import { assertObject } from './options.js';
import { checkKnocker } from './http-agent.js';
import type { Knocker } from './knocker.js';

/**
 * A `connect` function for undici (`new Agent({ connect })`, and so `fetch` through
 * `setGlobalDispatcher`): every new connection goes through `knocker.connect()` (or
 * `knocker.tlsConnect()` for https), which knocks only when the port does not answer.
 * undici is not imported: this is the plain `(options, callback)` connector that undici
 * 6, 7 and 8 call. HTTP/1.1 only (ALPN `http/1.1`).
 */

/** What undici passes to a connector. */
export interface UndiciConnectRequest {
  readonly hostname: string;
  readonly host?: string;
  readonly protocol: string;
  readonly port: string | number;
  readonly servername?: string | null;
  readonly localAddress?: string | null;
}

export type UndiciConnectCallback = (error: Error | null, socket: Socket | TLSSocket | null) => void;

export type UndiciConnect = (request: UndiciConnectRequest, callback: UndiciConnectCallback) => void;

export interface UndiciConnectOptions {
  /** Options for every connection's `knocker.connect()` (timeout, knockAfter, grantSeconds, ...). */
  readonly knock?: SocketDefaults;
  /** `tls.connect()` options for https origins (`ca`, `rejectUnauthorized`, ...). */
  readonly tls?: TlsOptions;
}

/** TCP keep-alive probes after this long idle, as undici's own connector sets them. */
const KEEPALIVE_INITIAL_DELAY_MS = 60_000;

export function createUndiciConnect(knocker: Knocker, options: UndiciConnectOptions = {}): UndiciConnect {
  checkKnocker(knocker, 'createUndiciConnect');
  assertObject(options, 'options');
  const defaults = validateSocketDefaults(options.knock, 'knock');
  if (options.tls !== undefined) assertObject(options.tls, 'tls');
  const tlsDefaults = options.tls ?? {};
  return (request, callback) => {
    const https = request.protocol === 'https:';
    const port = Number(request.port) || (https ? 443 : 80);
    const host = request.hostname;
    const connecting: Promise<Socket | TLSSocket> = https
      ? knocker.tlsConnect({
          ...defaults,
          host,
          port,
          noDelay: true,
          tls: { ALPNProtocols: ['http/1.1'], ...(request.servername ? { servername: request.servername } : {}), ...tlsDefaults },
        })
      : knocker.connect({ ...defaults, host, port, noDelay: true });
    connecting.then(
      (socket) => {
        socket.setKeepAlive(true, KEEPALIVE_INITIAL_DELAY_MS);
        callback(null, socket);
      },
      (err: Error) => callback(err, null),
    );
  };
}
