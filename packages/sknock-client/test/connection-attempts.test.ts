import { createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionAttempts, type AttemptEvents } from '../src/connection-attempts.js';
import { freePort, settle, socketCounts } from './support/knock-server.js';

/**
 * The connection attempts alone, on loopback (a closed port refuses at once, as under
 * policy reject): pacing, the short gaps after a knock, one connection per one wanted,
 * on-demand attempts, and every socket closed by stop().
 */

function events(): { e: AttemptEvents; sockets: Socket[]; failures: string[]; wanted: { n: number } } {
  const sockets: Socket[] = [];
  const failures: string[] = [];
  const wanted = { n: 0 };
  const e: AttemptEvents = {
    connected: (socket) => {
      sockets.push(socket);
      return wanted.n > 0 ? wanted.n-- : 0;
    },
    failed: (code) => void failures.push(code),
    unanswered: () => void failures.push('no answer'),
  };
  return { e, sockets, failures, wanted };
}

async function counting(port: number): Promise<{ server: Server; accepted: () => number }> {
  let n = 0;
  const server = createServer((s) => {
    n++;
    s.on('error', () => undefined);
    s.end();
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return { server, accepted: () => n };
}

test('a refused port: one attempt every 20 ms at most (50 a second), every socket closed by stop()', async () => {
  const port = await freePort('127.0.0.1');
  await settle();
  const baseline = socketCounts();
  const { e, failures } = events();
  const attempts = new ConnectionAttempts({ address: '127.0.0.1', port, family: 4 }, e, undefined);
  const t0 = performance.now();
  attempts.pace(false);
  await new Promise((r) => setTimeout(r, 300));
  await attempts.stop();
  const took = performance.now() - t0;
  // 0, 20, 40, ... 280 ms: at most 16 in 300 ms (fewer when timers slip under load).
  assert.ok(attempts.started >= 5 && attempts.started <= Math.ceil(took / 20) + 1, `${attempts.started} attempts in ${took.toFixed(0)} ms`);
  assert.ok(failures.length >= attempts.started - 1 && failures.every((f) => f === 'ECONNREFUSED'), failures.join(','));
  assert.equal(attempts.lastError, 'ECONNREFUSED');
  await settle();
  assert.deepEqual(socketCounts(), baseline);
});

test('after a knock, with a known short round trip, the first gaps are 2, 3, 5, 8, 12 ms; without one the first is 20 ms', async () => {
  const port = await freePort('127.0.0.1');
  // Known: attempts at 0, 2, 5, 10 ms in the first 16. Unknown: one (the next at 20 ms;
  // the refusal teaches the round trip, so the short gaps come after that one).
  for (const [rtt, atLeast, atMost] of [
    [0.2, 3, 5],
    [undefined, 1, 1],
  ] as const) {
    const { e } = events();
    const attempts = new ConnectionAttempts({ address: '127.0.0.1', port, family: 4 }, e, rtt);
    attempts.pace(true);
    await new Promise((r) => setTimeout(r, 16));
    await attempts.stop();
    assert.ok(attempts.started >= atLeast && attempts.started <= atMost, `rtt ${rtt}: ${attempts.started} attempts in 16 ms`);
  }
});

test('a port that opens late: the listener accepts exactly the one connection handed over', async () => {
  const port = await freePort('127.0.0.1');
  const { e, sockets } = events();
  const attempts = new ConnectionAttempts({ address: '127.0.0.1', port, family: 4 }, e, 0.2);
  attempts.pace(true);
  await new Promise((r) => setTimeout(r, 45));
  const { server, accepted } = await counting(port);
  try {
    const end = performance.now() + 2000;
    while (sockets.length === 0 && performance.now() < end) await new Promise((r) => setTimeout(r, 5));
    await attempts.stop();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(sockets.length, 1);
    assert.equal(accepted(), 1, 'the service saw one connection');
    assert.equal(attempts.waiting, 0);
    sockets[0]?.destroy();
  } finally {
    server.close();
  }
});

test('on demand: as many connections as wanted, each accepted once', async () => {
  const port = await freePort('127.0.0.1');
  const { server, accepted } = await counting(port);
  try {
    const { e, sockets, wanted } = events();
    wanted.n = 4; // five in all: the first, then four more
    const attempts = new ConnectionAttempts({ address: '127.0.0.1', port, family: 4 }, e, undefined);
    attempts.pace(false);
    const end = performance.now() + 2000;
    while (sockets.length < 5 && performance.now() < end) await new Promise((r) => setTimeout(r, 5));
    await attempts.stop();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(sockets.length, 5);
    assert.equal(accepted(), 5);
    for (const s of sockets) s.destroy();
  } finally {
    server.close();
  }
});
