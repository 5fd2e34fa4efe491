import { createSocket } from 'node:dgram';
import type { IpFamily } from '@sknock/protocol';
import { SOURCE_PROBE_PORT } from './constants.js';
import { SknockClientError } from './errors.js';

/**
 * The local address the OS would send from toward `address`: a UDP socket is connected
 * (which sends nothing, it only picks a route and a source) and asked for its address.
 */
export async function localAddressToward(address: string, family: IpFamily): Promise<string> {
  const socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(SOURCE_PROBE_PORT, address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const bound = socket.address().address;
    const local = bound.includes('%') ? bound.slice(0, bound.indexOf('%')) : bound;
    // No route picks no source: the socket stays on the wildcard address.
    if (local === '0.0.0.0' || local === '::') throw Object.assign(new Error('no source address'), { code: 'ENETUNREACH' });
    return local;
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException)?.code ?? String(cause);
    throw new SknockClientError('ERR_SKNOCK_SEND_FAILED', `no route to ${address} to find a source address (${code}); give sourceAddress`, { cause });
  } finally {
    await closeQuietly(socket);
  }
}

async function closeQuietly(socket: ReturnType<typeof createSocket>): Promise<void> {
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}
