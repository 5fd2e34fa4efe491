import { isIP, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connect as tlsSocketOver, type TLSSocket } from 'node:tls';
import { validateConnectWithCredentials, type ConnectOptions, type NormalizedConnect, type TlsConnectOptions } from './connect-options.js';
import { publishConnected, publishFailure } from './diagnostics.js';
import { SknockClientError } from './errors.js';
import { loadKnocker, type KnockerImpl } from './knocker.js';
import type { KnockerOptions } from './options.js';

/**
 * `connect()` and `tlsConnect()`: a connection to a port behind an sKnock server, knocking
 * only when it is needed. The connection returned is the one that answered, so the service
 * sees exactly one connection per call (see connection-attempts.ts for how the attempts
 * keep it so).
 */

/** Runs a validated connect on a loaded knocker. */
export async function connectWith(knocker: KnockerImpl, options: NormalizedConnect, started: number): Promise<Socket> {
  const outcome = await knocker.run(options.target, started, { keepSocket: true, knockAfter: options.knockAfter });
  const socket = outcome.socket as Socket;
  publishConnected({ host: options.target.host, address: outcome.address, port: outcome.port, knocks: outcome.attempts, elapsedMs: performance.now() - started });
  if (options.allowHalfOpen) socket.allowHalfOpen = true;
  if (options.noDelay) socket.setNoDelay(true);
  return socket;
}

/** Runs a validated tlsConnect: the connection, then the TLS handshake over it in the time left. */
export async function tlsConnectWith(knocker: KnockerImpl, options: NormalizedConnect, started: number): Promise<TLSSocket> {
  const socket = await connectWith(knocker, options, started);
  const { host, signal } = options.target;
  const tls = options.tls ?? {};
  const servername = tls.servername ?? (isIP(host) === 0 ? host : undefined);
  const secure = tlsSocketOver({ ...tls, ...(servername === undefined ? {} : { servername }), host, socket });
  const left = Math.max(1, started + options.target.timeout - performance.now());
  return new Promise<TLSSocket>((resolve, reject) => {
    const fail = (error: SknockClientError): void => {
      cleanup();
      secure.destroy();
      socket.destroy();
      publishFailure({ host, port: options.target.port, code: error.code, message: error.message, attempts: 0, elapsedMs: performance.now() - started });
      reject(error);
    };
    const onError = (cause: Error & { code?: string }): void =>
      fail(new SknockClientError('ERR_SKNOCK_TLS_FAILED', `TLS with ${host} port ${options.target.port} failed: ${cause.message}${cause.code ? ` [${cause.code}]` : ''}`, { cause }));
    const onAbort = (): void => fail(new SknockClientError('ERR_SKNOCK_ABORTED', 'aborted during the TLS handshake', { cause: signal?.reason, attempts: 0 }));
    const timer = setTimeout(() => fail(new SknockClientError('ERR_SKNOCK_TLS_FAILED', `the TLS handshake with ${host} port ${options.target.port} did not finish within the timeout`)), left);
    const cleanup = (): void => {
      clearTimeout(timer);
      secure.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
    };
    secure.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    secure.once('secureConnect', () => {
      cleanup();
      resolve(secure);
    });
  });
}

/** Loads the credentials for one call; a failure is published like knock()'s. */
async function loadFor(options: KnockerOptions & { host: string; port: number }, knockerOptions: Parameters<typeof loadKnocker>[0], started: number): Promise<KnockerImpl> {
  try {
    return await loadKnocker(knockerOptions);
  } catch (err) {
    if (err instanceof SknockClientError) {
      publishFailure({ host: options.host, port: options.port, code: err.code, message: err.message, attempts: 0, elapsedMs: performance.now() - started });
    }
    throw err;
  }
}

/**
 * A TCP connection to `host`:`port`, knocking first when it does not answer: loads the
 * credentials (use `createKnocker()` to load them once for many connections), tries the
 * port for `knockAfter` ms, knocks if it did not answer, and resolves with the connection
 * that answered.
 */
export async function connect(options: KnockerOptions & ConnectOptions): Promise<Socket> {
  const started = performance.now();
  const { knocker, connect: target } = validateConnectWithCredentials(options, 'connect');
  return connectWith(await loadFor(options, knocker, started), target, started);
}

/** `connect()`, then TLS over the connection (`tls` has the `tls.connect()` options). */
export async function tlsConnect(options: KnockerOptions & TlsConnectOptions): Promise<TLSSocket> {
  const started = performance.now();
  const { knocker, connect: target } = validateConnectWithCredentials(options, 'tlsConnect');
  return tlsConnectWith(await loadFor(options, knocker, started), target, started);
}
