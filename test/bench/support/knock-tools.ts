/**
 * Shared by the scripts the server benchmarks run inside a client namespace: loading the
 * client credentials and sending one datagram from a socket bound to a given address.
 */
import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { loadCredentials, type Credentials } from '@sknock/protocol';

export interface KnockerInput {
  /** Client PKCS#12 file and its password. */
  readonly pfx: string;
  readonly passphrase: string;
  /** Server certificate file (DER). */
  readonly serverCert: string;
  /** Server address and the TCP port to open. */
  readonly host: string;
  readonly port: number;
  /** One knock per address, each sent from (and bound to) that address. */
  readonly addresses: readonly string[];
}

export async function loadInput<T extends KnockerInput>(): Promise<{ input: T; credentials: Credentials; serverCertificate: Uint8Array }> {
  const input = JSON.parse(process.argv[2] ?? '{}') as T;
  const credentials = await loadCredentials({ pfx: await readFile(input.pfx), passphrase: input.passphrase });
  const serverCertificate = new Uint8Array(await readFile(input.serverCert));
  return { input, credentials, serverCertificate };
}

/** Sends `data` to host:port from a socket bound to `from`; resolves once sent (socket closed). */
export function sendFrom(from: string, host: string, port: number, data: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(from.includes(':') ? 'udp6' : 'udp4');
    socket.once('error', (err) => {
      socket.close();
      reject(err);
    });
    socket.bind({ address: from, port: 0 }, () => {
      socket.send(data, port, host, (err) => {
        socket.close();
        if (err) reject(err);
        else resolve();
      });
    });
  });
}

/** ms since the epoch with sub-millisecond resolution, comparable across processes. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}
