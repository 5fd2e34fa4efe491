import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { SOCKET_RECV_BUFFER_BYTES } from '../constants.js';
import { SknockServerError } from '../errors.js';
import type { Logger } from '../logging/logger-type.js';

/**
 * The knock socket: `node:dgram` with a 'message' handler (every datagram is delivered to the
 * handler as it arrives; dgram-as-promised's `recv()` loses datagrams that arrive while no
 * call waits — docs/PROTOCOL-NOTES.md). IPv6 addresses bind dual-stack (`ipv6Only: false`), so `::`
 * receives IPv4 as IPv4-mapped addresses; when the host has no IPv6 at all, `::` falls
 * back to `0.0.0.0`. The kernel receive buffer is raised as far as the kernel allows.
 */

export interface KnockSocketOptions {
  readonly address: string;
  readonly port: number;
  readonly onMessage: (msg: Buffer, rinfo: RemoteInfo) => void;
  readonly logger: Logger;
  readonly recvBufferSize?: number;
}

const NO_IPV6 = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL', 'EPROTONOSUPPORT']);

function bindOnce(type: 'udp4' | 'udp6', address: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type, ipv6Only: false, reuseAddr: false });
    const onError = (err: Error): void => {
      socket.removeListener('listening', onListening);
      try {
        socket.close();
      } catch {
        // already closed
      }
      reject(err);
    };
    const onListening = (): void => {
      socket.removeListener('error', onError);
      resolve(socket);
    };
    socket.once('error', onError);
    socket.once('listening', onListening);
    socket.bind({ address, port, exclusive: true });
  });
}

export async function bindKnockSocket(options: KnockSocketOptions): Promise<Socket> {
  const { address, port, logger } = options;
  let socket: Socket;
  try {
    socket = await bindOnce(isIPv4(address) ? 'udp4' : 'udp6', address, port);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (address === '::' && NO_IPV6.has(code)) {
      logger.warn({ address, error: code }, 'no IPv6 on this host; listening on 0.0.0.0 (IPv4 only)');
      try {
        socket = await bindOnce('udp4', '0.0.0.0', port);
      } catch (err4) {
        throw bindError('0.0.0.0', port, err4);
      }
    } else {
      throw bindError(address, port, err);
    }
  }
  const wanted = options.recvBufferSize ?? SOCKET_RECV_BUFFER_BYTES;
  try {
    socket.setRecvBufferSize(wanted);
  } catch (err) {
    logger.warn({ wanted, error: (err as Error).message }, 'could not raise the socket receive buffer');
  }
  socket.on('message', options.onMessage);
  socket.on('error', (err) => logger.error({ error: err.message }, 'knock socket error'));
  return socket;
}

function bindError(address: string, port: number, err: unknown): SknockServerError {
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === 'EADDRINUSE'
      ? 'the port is in use by another program'
      : code === 'EADDRNOTAVAIL'
        ? 'the address is not one of this host'
        : code === 'EACCES'
          ? 'permission denied (ports under 1024 need CAP_NET_BIND_SERVICE)'
          : (err as Error).message;
  const shown = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  return new SknockServerError('ERR_SKNOCK_BIND', `cannot listen on UDP ${shown} (listenAddress/knockPort): ${why}`, { cause: err });
}

/** Closes a socket, resolving once it is closed (never rejects). */
export function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve();
    }
  });
}
