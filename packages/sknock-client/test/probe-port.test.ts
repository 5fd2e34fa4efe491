import { createServer, type Server } from 'node:net';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pollPort } from '../src/probe-port.js';
import { freePort, settle, socketCounts } from './support/knock-server.js';

/** The TCP poller alone: back-off, refused ports, a port that opens late, kept sockets, abort. */

async function listenLater(port: number, delayMs: number): Promise<{ server: Server; at: Promise<number> }> {
  const server = createServer((s) => s.destroy());
  const at = new Promise<number>((resolve) => {
    setTimeout(() => server.listen(port, '127.0.0.1', () => resolve(performance.now())), delayMs);
  });
  return { server, at };
}

test('a refused port: polls with back-off until the window ends, no socket left', async () => {
  const port = await freePort('127.0.0.1');
  await settle();
  const baseline = socketCounts();
  const t0 = performance.now();
  const result = await pollPort({ address: '127.0.0.1', port, family: 4, until: t0 + 200 });
  const took = performance.now() - t0;
  assert.equal(result.outcome, 'closed');
  assert.equal(result.outcome === 'closed' && result.lastError, 'ECONNREFUSED');
  // 0, 1, 2.5, 4.8, 8.1, 13, 21, 32, 49, 75, 113, 171 ms: 12 probes in 200 ms at most
  // (fewer when a loaded machine makes timers slip), and more than one: polling goes on.
  assert.ok(result.probes >= 3 && result.probes <= 12, `${result.probes} probes`);
  assert.ok(took >= 199 && took < 1000, `took ${took}`);
  assert.deepEqual(socketCounts(), baseline);
});

test('a port that opens after 50 ms is seen within one back-off step (≤ 25 ms later, give or take timers)', async () => {
  const port = await freePort('127.0.0.1');
  const { server, at } = await listenLater(port, 50);
  try {
    const result = await pollPort({ address: '127.0.0.1', port, family: 4, until: performance.now() + 2000 });
    const seen = performance.now();
    assert.equal(result.outcome, 'open');
    const delay = seen - (await at);
    console.log(`# poller saw the port ${delay.toFixed(2)} ms after listen() (${result.probes} probes)`);
    assert.ok(delay < 200, `${delay} ms`);
  } finally {
    server.close();
  }
});

test('keepSocket hands over the connected socket', async () => {
  const port = await freePort('127.0.0.1');
  const server = createServer((s) => s.end('hello'));
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  try {
    const result = await pollPort({ address: '127.0.0.1', port, family: 4, until: performance.now() + 1000, keepSocket: true });
    assert.equal(result.outcome, 'open');
    const socket = result.outcome === 'open' ? result.socket : undefined;
    assert.ok(socket !== undefined && !socket.destroyed);
    const chunks: Buffer[] = [];
    for await (const c of socket) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'hello');
    socket.destroy();
  } finally {
    server.close();
  }
});

test('abort ends the poll at once', async () => {
  const port = await freePort('127.0.0.1');
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 30);
  const t0 = performance.now();
  const result = await pollPort({ address: '127.0.0.1', port, family: 4, until: t0 + 5000, signal: controller.signal });
  assert.equal(result.outcome, 'aborted');
  assert.ok(performance.now() - t0 < 500);
});
