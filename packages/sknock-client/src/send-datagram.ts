import { createSocket } from 'node:dgram';
import type { IpFamily } from '@sknock/protocol';
import { bindUdp } from './local-address.js';

/**
 * Sends one UDP datagram and closes the socket. `node:dgram` directly: sending needs no
 * receive loop, and it keeps the SDK free of a dependency (dgram-as-promised also loses
 * datagrams on receive: measured, 1 of 20 with 5 ms of work per packet).
 */
export interface SendDatagramOptions {
  readonly address: string;
  readonly port: number;
  readonly family: IpFamily;
  readonly data: Uint8Array;
  /** Bind the socket to this address first (`localAddress`); a bind failure is a typed error. */
  readonly localAddress?: string | undefined;
}

/**
 * Resolves once the OS has taken the datagram and the socket is closed; rejects with the
 * socket error (EHOSTUNREACH, EPERM from a local firewall, ...).
 */
export async function sendDatagram(options: SendDatagramOptions): Promise<void> {
  const socket = createSocket({ type: options.family === 6 ? 'udp6' : 'udp4' });
  try {
    if (options.localAddress !== undefined) await bindUdp(socket, options.localAddress);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.send(options.data, options.port, options.address, (err) => (err ? reject(err) : resolve()));
    });
  } finally {
    // An ICMP "port unreachable" may come back as a late error: it does not matter.
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}
