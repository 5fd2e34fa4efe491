import type { Socket as UdpSocket } from 'node:dgram';
import { SknockClientError } from './errors.js';

/**
 * `localAddress` (`--local-address`): the address the client's sockets are bound to, so that
 * on a host with several addresses the knock, the STUN request and the TCP connections all
 * leave from the one the knock binds (the server refuses a knock whose source is not the
 * address inside it). Binding, not routing: the OS still picks the interface by its routes.
 */

/** Binds `socket` to `localAddress` on a port the OS picks. */
export function bindUdp(socket: UdpSocket, localAddress: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(localAddressError(localAddress, err));
    socket.once('error', onError);
    socket.bind({ address: localAddress, port: 0, exclusive: true }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

/** ERR_SKNOCK_SEND_FAILED naming `localAddress`, with what the error code means. */
export function localAddressError(localAddress: string, cause: unknown): SknockClientError {
  const code = (cause as NodeJS.ErrnoException)?.code ?? String(cause);
  const why = code === 'EADDRNOTAVAIL' ? 'not an address of this host' : code === 'EINVAL' ? 'not usable for this destination' : undefined;
  return new SknockClientError('ERR_SKNOCK_SEND_FAILED', `localAddress: cannot bind ${localAddress} (${code}${why === undefined ? '' : `: ${why}`})`, {
    option: 'localAddress',
    cause,
  });
}
