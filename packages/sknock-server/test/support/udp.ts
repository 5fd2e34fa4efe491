/** Loopback UDP and event helpers for the daemon tests (bounded waits only). */
import { createSocket, type Socket } from 'node:dgram';
import type { EventEmitter } from 'node:events';

/** A UDP socket bound to `address` (default: the loopback of the family), to send knocks from. */
export function udpSender(address = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    s.once('error', reject);
    s.bind({ address, port: 0 }, () => {
      s.removeListener('error', reject);
      resolve(s);
    });
  });
}

export function send(socket: Socket, datagram: Uint8Array, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => socket.send(datagram, port, host, (err) => (err ? reject(err) : resolve())));
}

/** Sends one datagram from `from` to host:port. */
export async function sendOnce(datagram: Uint8Array, port: number, host = '127.0.0.1', from?: string): Promise<void> {
  const s = await udpSender(from ?? (host.includes(':') ? '::1' : '127.0.0.1'));
  try {
    await send(s, datagram, port, host);
  } finally {
    s.close();
  }
}

/** The next `name` event whose payload satisfies `match`, or a rejection after `timeoutMs`. */
export function nextEvent<T>(emitter: EventEmitter, name: string, match: (value: T) => boolean = () => true, timeoutMs = 3000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.removeListener(name, listener);
      reject(new Error(`no '${name}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (value: T): void => {
      if (!match(value)) return;
      clearTimeout(timer);
      emitter.removeListener(name, listener);
      resolve(value);
    };
    emitter.on(name, listener);
  });
}

/** Resolves once `check()` is true, polling every 10 ms; rejects after `timeoutMs`. */
export async function waitUntil(check: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
