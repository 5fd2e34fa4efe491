/**
 * Run by server-latency.bench.ts inside the client namespace: for each address in turn,
 * builds a knock bound to it (not timed), sends it from that address, and tries TCP
 * connections from the same address every millisecond until one is accepted. Prints one JSON
 * line: `{ knocks: [{ address, sentAt, latencyMs }], failures }` (sentAt in ms since the epoch). Bounded: `timeoutMs` per knock, the address list.
 */
import { connect } from 'node:net';
import { createKnockPacket } from '@sknock/protocol';
import { epochNow, loadInput, sendFrom, type KnockerInput } from './knock-tools.js';

interface Input extends KnockerInput {
  readonly knockPort: number;
  /** Pause between knocks, so that each is measured alone. */
  readonly gapMs: number;
  readonly timeoutMs: number;
}

function tryConnect(host: string, port: number, localAddress: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, localAddress });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const { input, credentials, serverCertificate } = await loadInput<Input>();
const knocks: Array<{ address: string; sentAt: number; latencyMs: number }> = [];
let failures = 0;
for (const address of input.addresses) {
  const packet = createKnockPacket({ credentials, serverCertificate, protocol: 'tcp', port: input.port, address });
  const start = performance.now();
  const sentAt = epochNow();
  await sendFrom(address, input.host, input.knockPort, packet);
  let open = false;
  while (!open && performance.now() - start < input.timeoutMs) {
    open = await tryConnect(input.host, input.port, address);
    if (!open) await sleep(1);
  }
  if (open) knocks.push({ address, sentAt, latencyMs: performance.now() - start });
  else failures++;
  await sleep(input.gapMs);
}
process.stdout.write(`${JSON.stringify({ knocks, failures })}\n`);
