/**
 * Run by server-grants.bench.ts inside the client namespace: builds one knock per address and
 * binds one UDP socket to each address (both before the clock starts), then sends the knocks
 * paced at `rate` per second, each from its own address to a random UDP port (10,000–60,000).
 * Prints one JSON line: `{ sent, failed, buildMs, firstSendAt, lastSendAt }` (times in ms
 * since the epoch).
 */
import { randomInt } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { createKnockPacket } from '@sknock/protocol';
import { epochNow, loadInput, type KnockerInput } from './knock-tools.js';

interface Input extends KnockerInput {
  /** Knocks per second offered. */
  readonly rate: number;
  /** UDP port to send to (default: a random one from 10,000 to 60,000 per knock). */
  readonly knockPort?: number;
}

const SLICE_MS = 5;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function bound(address: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    socket.once('error', reject);
    socket.bind({ address, port: 0 }, () => {
      socket.removeListener('error', reject);
      socket.on('error', () => undefined);
      resolve(socket);
    });
  });
}

const { input, credentials, serverCertificate } = await loadInput<Input>();
const buildStart = performance.now();
const packets = input.addresses.map((address) => createKnockPacket({ credentials, serverCertificate, protocol: 'tcp', port: input.port, address }));
const buildMs = performance.now() - buildStart;
const sockets = await Promise.all(input.addresses.map((a) => bound(a)));

let failed = 0;
const firstSendAt = epochNow();
const start = performance.now();
const pending: Promise<void>[] = [];
for (let i = 0; i < packets.length; ) {
  // Send what is due by now, then wait for the next slice.
  const due = Math.min(packets.length, Math.floor(((performance.now() - start) / 1000) * input.rate) + 1);
  for (; i < due; i++) {
    const socket = sockets[i] as Socket;
    const packet = packets[i] as Uint8Array;
    pending.push(new Promise<void>((resolve) => socket.send(packet, input.knockPort ?? randomInt(10_000, 60_001), input.host, (err) => {
      if (err) failed++;
      resolve();
    })));
  }
  if (i < packets.length) await sleep(SLICE_MS);
}
await Promise.all(pending);
const lastSendAt = epochNow();
for (const s of sockets) s.close();
process.stdout.write(`${JSON.stringify({ sent: packets.length - failed, failed, buildMs, firstSendAt, lastSendAt })}\n`);
