import { createSocket } from 'node:dgram';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CHANNEL_PUBLIC_ADDRESS, SknockClientError, knock, type PublicAddressMessage } from '../src/index.js';
import { clearPublicAddressCache, publicAddress } from '../src/public-address.js';
import { queryStun } from '../src/stun-query.js';
import { parseStunServer, type StunServer } from '../src/stun-server.js';
import { FakeKnockServer, freePort, settle, socketCounts } from './support/knock-server.js';
import { TestCa, type TestIdentity } from './support/pki.js';
import { lacking } from './support/runtime.js';
import { StunResponder, errorResponse, successResponse } from './support/stun-responder.js';

/**
 * NAT: `sourceAddress: 'auto'` against a STUN responder on loopback (the transaction, its
 * retransmits, every way an answer can be wrong, the cache), and `localAddress` binding the
 * knock and the probes on a host with several addresses (127.0.0.2 is one on Linux's lo).
 */

let server: TestIdentity;
let client: TestIdentity;
const ports: number[] = [];
const responders: StunResponder[] = [];

before(async () => {
  for (let i = 0; i < 8; i++) ports.push(await freePort('127.0.0.1'));
  const ca = await TestCa.create();
  [server, client] = await Promise.all([
    ca.issue({ name: 'nat server' }),
    ca.issue({ name: 'nat client', grants: ports.map((port) => ({ protocol: 'tcp' as const, port })) }),
  ]);
});

afterEach(async () => {
  clearPublicAddressCache();
  for (const r of responders.splice(0)) await r.close();
});

async function responder(options: Parameters<typeof StunResponder.start>[0]): Promise<StunResponder> {
  const r = await StunResponder.start(options);
  responders.push(r);
  return r;
}

function stun(text: string): StunServer {
  const parsed = parseStunServer(text);
  assert.notEqual(typeof parsed, 'string', String(parsed));
  return parsed as StunServer;
}

async function rejection(promise: Promise<unknown>): Promise<SknockClientError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof SknockClientError, `expected SknockClientError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

const creds = (): { credentials: { privateKey: TestIdentity['privateKey']; certificate: Uint8Array }; serverCertificate: Uint8Array } => ({
  credentials: { privateKey: client.privateKey, certificate: client.certificate },
  serverCertificate: server.certificate,
});

describe('the STUN transaction (RFC 8489 §6.2.1)', () => {
  const query = (r: StunResponder, o: { rto?: number; within?: number; localAddress?: string; family?: 4 | 6 } = {}): ReturnType<typeof queryStun> =>
    queryStun({
      address: r.server.startsWith('[') ? '::1' : '127.0.0.1',
      port: r.port,
      family: o.family ?? (r.server.startsWith('[') ? 6 : 4),
      serverText: r.server,
      deadline: performance.now() + (o.within ?? 5000),
      initialRtoMs: o.rto ?? 500,
      ...(o.localAddress === undefined ? {} : { localAddress: o.localAddress }),
    });

  test('one request, answered: the address and port the server saw', async () => {
    const r = await responder({ host: '127.0.0.1' });
    const answer = await query(r);
    assert.equal(answer.address, '127.0.0.1');
    assert.equal(answer.requests, 1);
    assert.equal(answer.port, r.requests[0]?.from.port);
  });

  test('IPv6 over ::1', async () => {
    const r = await responder({ host: '::1' });
    const answer = await query(r);
    assert.equal(answer.address, '::1');
  });

  test('lost requests are retransmitted after RTO, 2 RTO, 4 RTO … with the same transaction id', async () => {
    const r = await responder({ host: '127.0.0.1', behaviour: (_, n) => (n <= 3 ? 'drop' : 'answer') });
    const t0 = performance.now() - r.startedAt;
    const answer = await query(r, { rto: 40 });
    assert.equal(answer.requests, 4);
    assert.equal(new Set(r.requests.map((q) => q.transactionId.toString('hex'))).size, 1);
    const since = r.requests.map((q) => Math.round(q.at - t0));
    const gaps = r.requests.slice(1).map((q, i) => q.at - (r.requests[i]?.at ?? 0));
    // Sent at 0, 40, 120, 280 ms: timers never fire early, so no request arrives before its
    // time (counted from the call: a late arrival of the one before would shorten a gap);
    // each gap is its 40, 80, 160 ms plus what a loaded machine adds.
    for (const [i, want] of [40, 120, 280].entries()) assert.ok(r.requests[i + 1]!.at - t0 >= want - 2, `request ${i + 2} at ${since.join(', ')} ms`);
    for (const [i, want] of [40, 80, 160].entries()) assert.ok(gaps[i]! < want + 150, `gap ${i}: ${gaps.map(Math.round).join(', ')} ms`);
  });

  test('a silent server: 7 requests at most (Rc), failing 16 RTO after the last (Rm)', async () => {
    const r = await responder({ host: '127.0.0.1', behaviour: () => 'drop' });
    const t0 = performance.now();
    const err = await rejection(query(r, { rto: 10, within: 10_000 }));
    const took = performance.now() - t0;
    assert.equal(err.code, 'ERR_SKNOCK_STUN_FAILED');
    assert.equal(err.option, 'stunServer');
    assert.match(err.message, /^stunServer: no answer from 127\.0\.0\.1:\d+ after 7 requests in \d+ ms$/);
    assert.equal(r.requests.length, 7);
    // 0, 10, 30, 70, 150, 310, 630, then 160: about 790 ms.
    assert.ok(took >= 780 && took < 2500, `took ${took} ms`);
  });

  test('the deadline bounds it: fewer requests, no later than the deadline', async () => {
    const r = await responder({ host: '127.0.0.1', behaviour: () => 'drop' });
    const t0 = performance.now();
    const err = await rejection(query(r, { rto: 100, within: 450 }));
    const took = performance.now() - t0;
    assert.equal(err.code, 'ERR_SKNOCK_STUN_FAILED');
    assert.equal(r.requests.length, 3); // 0, 100, 300; the next would be at 700
    assert.ok(took >= 440 && took < 1200, `took ${took} ms`);
  });

  test('answers for another transaction and malformed answers are dropped; the right one still counts', async () => {
    const r = await responder({
      host: '127.0.0.1',
      behaviour: (q) => [
        successResponse(Buffer.alloc(12, 7), { address: '203.0.113.66', port: 1 }),
        Buffer.from('not stun at all'),
        Buffer.concat([successResponse(q.transactionId, { address: '203.0.113.66', port: 1 }), Buffer.alloc(4)]),
        successResponse(q.transactionId, { address: '198.51.100.9', port: 4242 }),
      ],
    });
    const answer = await query(r);
    assert.deepEqual({ address: answer.address, port: answer.port }, { address: '198.51.100.9', port: 4242 });
  });

  test('only junk: the failure says what came back', async () => {
    const r = await responder({ host: '127.0.0.1', behaviour: (q) => [Buffer.from('junk'), successResponse(Buffer.alloc(12, 1), { address: '198.51.100.1', port: 1 })] });
    const err = await rejection(query(r, { rto: 20, within: 200 }));
    assert.equal(err.code, 'ERR_SKNOCK_STUN_FAILED');
    assert.match(err.message, /after \d+ requests in \d+ ms; \d+ malformed answers? \(last: STUN message: .*\), \d+ answers? to another transaction$/);
  });

  test('an error response ends it at once, with the code and the reason', async () => {
    const r = await responder({ host: '127.0.0.1', behaviour: (q) => errorResponse(q.transactionId, 420, 'Unknown Attribute') });
    const err = await rejection(query(r));
    assert.equal(err.code, 'ERR_SKNOCK_STUN_FAILED');
    assert.match(err.message, /answered with error 420 \(Unknown Attribute\)$/);
    assert.equal(r.requests.length, 1);
  });

  test('an answer no NAT gives (unspecified, multicast, the other family) is refused', async () => {
    for (const [mapped, why] of [
      ['0.0.0.0', /the unspecified address/],
      ['239.1.2.3', /multicast/],
      ['2001:db8::1', /answered an IPv4 request with the IPv6 address 2001:db8::1/],
    ] as const) {
      const r = await responder({ host: '127.0.0.1', mapped: { address: mapped, port: 9 } });
      const err = await rejection(query(r));
      assert.equal(err.code, 'ERR_SKNOCK_STUN_FAILED');
      assert.match(err.message, why);
    }
  });

  test('no STUN server on that port: port unreachable, at once', { skip: lacking({ deno: "node:dgram connect() does not connect the socket, so no ICMP port unreachable reaches it (the query waits out its retransmits)" }) }, async () => {
    const r = await responder({ host: '127.0.0.1' });
    const port = r.port;
    await r.close();
    responders.splice(responders.indexOf(r), 1);
    const t0 = performance.now();
    const err = await rejection(queryStun({ address: '127.0.0.1', port, family: 4, serverText: `127.0.0.1:${port}`, deadline: performance.now() + 5000 }));
    assert.equal(err.code, 'ERR_SKNOCK_STUN_FAILED');
    assert.match(err.message, /port unreachable: no STUN server listens there/);
    assert.ok(performance.now() - t0 < 400, 'did not wait for retransmits');
  });

  test('an answer from another port is not taken, even with the right transaction id', async () => {
    const impostor = createSocket('udp4');
    await new Promise<void>((resolve) => impostor.bind(0, '127.0.0.1', () => resolve()));
    try {
      const r = await responder({
        host: '127.0.0.1',
        behaviour: (request, n) => {
          if (n > 1) return 'answer';
          impostor.send(successResponse(request.transactionId, { address: '203.0.113.9', port: 1 }), request.from.port, request.from.address);
          return 'drop';
        },
      });
      const answer = await query(r, { rto: 50 });
      assert.equal(answer.address, '127.0.0.1');
      assert.equal(r.requests.length, 2);
    } finally {
      await new Promise<void>((resolve) => impostor.close(() => resolve()));
    }
  });

  test('localAddress binds the request: the server sees 127.0.0.2', async () => {
    const r = await responder({ host: '127.0.0.1' });
    const answer = await query(r, { localAddress: '127.0.0.2' });
    assert.equal(answer.address, '127.0.0.2');
    assert.equal(r.requests[0]?.from.address, '127.0.0.2');
  });

  test('a localAddress that is not on this host: a typed error naming it', async () => {
    const r = await responder({ host: '127.0.0.1' });
    const err = await rejection(query(r, { localAddress: '192.0.2.123' }));
    assert.equal(err.code, 'ERR_SKNOCK_SEND_FAILED');
    assert.equal(err.option, 'localAddress');
    assert.match(err.message, /^localAddress: cannot bind 192\.0\.2\.123 \(EADDRNOTAVAIL: not an address of this host\)$/);
  });

  test('no socket is left behind', async () => {
    await settle();
    const before = socketCounts();
    const r = await responder({ host: '127.0.0.1', behaviour: (_, n) => (n === 1 ? 'drop' : 'answer') });
    await query(r, { rto: 20 });
    await r.close();
    responders.splice(responders.indexOf(r), 1);
    await settle();
    assert.deepEqual(socketCounts(), before);
  });
});

describe('the cache of learned addresses', () => {
  test('kept for 30 s per server, family and local address; then asked again', async () => {
    const r = await responder({ host: '127.0.0.1' });
    let clock = 1000;
    const now = (): number => clock;
    const o = { stunServer: stun(r.server), family: 4 as const, deadline: performance.now() + 5000 };
    assert.equal(await publicAddress(o, now), '127.0.0.1');
    clock += 29_000;
    assert.equal(await publicAddress(o, now), '127.0.0.1');
    assert.equal(r.requests.length, 1, 'answered from the cache');
    assert.equal(await publicAddress({ ...o, localAddress: '127.0.0.2' }, now), '127.0.0.2');
    assert.equal(r.requests.length, 2, 'another local address is another entry');
    clock += 1_001;
    assert.equal(await publicAddress(o, now), '127.0.0.1');
    assert.equal(r.requests.length, 3, 'expired after 30 s');
  });

  test('concurrent calls share one transaction; one that aborts leaves, the others still get the answer', async () => {
    // The first request is dropped: the answer comes to the retransmit, 500 ms later.
    const r = await responder({ host: '127.0.0.1', behaviour: (_, n) => (n === 1 ? 'drop' : 'answer') });
    const o = { stunServer: stun(r.server), family: 4 as const, deadline: performance.now() + 5000 };
    const leaving = new AbortController();
    const first = publicAddress({ ...o, signal: leaving.signal });
    const others = Array.from({ length: 4 }, () => publicAddress(o));
    setTimeout(() => leaving.abort(new Error('gone')), 50);
    const err = await rejection(first);
    assert.equal(err.code, 'ERR_SKNOCK_ABORTED');
    assert.deepEqual(await Promise.all(others), Array(4).fill('127.0.0.1'));
    assert.equal(r.requests.length, 2, 'one transaction: the request and its retransmit');
    assert.ok(r.requests[0]!.transactionId.equals(r.requests[1]!.transactionId));
  });

  test('a caller with less time leaves with ERR_SKNOCK_STUN_FAILED; the transaction goes on for the rest', async () => {
    const r = await responder({ host: '127.0.0.1', behaviour: (_, n) => (n === 1 ? 'drop' : 'answer') });
    const o = { stunServer: stun(r.server), family: 4 as const, deadline: performance.now() + 5000 };
    const long = publicAddress(o);
    const err = await rejection(publicAddress({ ...o, deadline: performance.now() + 100 }));
    assert.equal(err.code, 'ERR_SKNOCK_STUN_FAILED');
    assert.equal(err.option, 'stunServer');
    assert.equal(await long, '127.0.0.1');
    assert.equal(r.requests.length, 2);
  });

  test('when every caller has left, the transaction stops and its socket closes', async () => {
    await settle();
    const before = socketCounts();
    const r = await responder({ host: '127.0.0.1', behaviour: () => 'drop' });
    const o = { stunServer: stun(r.server), family: 4 as const, deadline: performance.now() + 5000 };
    const controllers = [new AbortController(), new AbortController()];
    const calls = controllers.map((c) => publicAddress({ ...o, signal: c.signal }));
    await new Promise((resolve) => setTimeout(resolve, 30));
    for (const c of controllers) c.abort();
    for (const call of calls) assert.equal((await rejection(call)).code, 'ERR_SKNOCK_ABORTED');
    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.equal(r.requests.length, 1, 'no retransmit after everyone left');
    await r.close();
    responders.splice(responders.indexOf(r), 1);
    await settle();
    assert.deepEqual(socketCounts(), before);
  });
});

describe("knock() with sourceAddress: 'auto'", () => {
  test('binds the address the STUN server saw; a second knock reuses it; diagnostics say so', async () => {
    const port = ports[0]!;
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port });
    const r = await responder({ host: '127.0.0.1' });
    const seen: PublicAddressMessage[] = [];
    const fn = (m: unknown): void => void seen.push(m as PublicAddressMessage);
    subscribe(CHANNEL_PUBLIC_ADDRESS, fn);
    try {
      const result = await knock({ ...creds(), host: '127.0.0.1', port, knockPort: fake.knockPort, sourceAddress: 'auto', stunServer: r.server, timeout: 5000 });
      assert.equal(result.sourceAddress, '127.0.0.1');
      assert.equal(result.verified, true);
      await knock({ ...creds(), host: '127.0.0.1', port, knockPort: fake.knockPort, sourceAddress: 'auto', stunServer: r.server, timeout: 5000 });
      assert.equal(r.requests.length, 1);
      assert.deepEqual(
        seen.map((m) => [m.stunServer, m.address, m.cached, m.requests]),
        [
          [r.server, '127.0.0.1', false, 1],
          [r.server, '127.0.0.1', true, 0],
        ],
      );
    } finally {
      unsubscribe(CHANNEL_PUBLIC_ADDRESS, fn);
      await fake.close();
    }
  });

  test('a NAT that maps to another address: the knock binds it (and here is refused); the next call asks again', async () => {
    const port = ports[1]!;
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port });
    const r = await responder({ host: '127.0.0.1', mapped: { address: '203.0.113.7', port: 40000 } });
    try {
      const call = (): Promise<unknown> =>
        knock({ ...creds(), host: '127.0.0.1', port, knockPort: fake.knockPort, sourceAddress: 'auto', stunServer: r.server, timeout: 400, retries: 0 });
      const err = await rejection(call());
      assert.equal(err.code, 'ERR_SKNOCK_PORT_NOT_OPENED');
      assert.equal(fake.received[0]?.opened?.address, '203.0.113.7', 'the knock carries the STUN answer');
      assert.equal(fake.received[0]?.valid, false, 'the stand-in server sees 127.0.0.1: address mismatch');
      await rejection(call());
      assert.equal(r.requests.length, 2, 'a failed knock forgets the learned address');
    } finally {
      await fake.close();
    }
  });

  test('over IPv6', async () => {
    const port = await freePort('::1');
    const ca = await TestCa.create();
    const six = await ca.issue({ name: 'v6 client', grants: [{ protocol: 'tcp', port }] });
    const srv = await ca.issue({ name: 'v6 server' });
    const fake = await FakeKnockServer.start({ host: '::1', serverKey: srv.privateKey, port });
    const r = await responder({ host: '::1' });
    try {
      const result = await knock({
        credentials: { privateKey: six.privateKey, certificate: six.certificate },
        serverCertificate: srv.certificate,
        host: '::1',
        port,
        knockPort: fake.knockPort,
        sourceAddress: 'auto',
        stunServer: r.server,
        timeout: 5000,
      });
      assert.equal(result.sourceAddress, '::1');
      assert.equal(fake.validKnocks.length, 1);
    } finally {
      await fake.close();
    }
  });

  test('no STUN server named: refused before anything is sent (none is contacted by default)', async () => {
    const err = await rejection(knock({ ...creds(), host: '127.0.0.1', port: ports[2]!, sourceAddress: 'auto' }));
    assert.equal(err.code, 'ERR_SKNOCK_INVALID_ARGUMENT');
    assert.equal(err.option, 'sourceAddress');
    assert.match(err.message, /'auto' needs stunServer/);
  });

  test('stunServer without auto, and a bad stunServer, are refused by name', async () => {
    let err = await rejection(knock({ ...creds(), host: '127.0.0.1', port: ports[2]!, stunServer: '127.0.0.1:3478' }));
    assert.equal(err.option, 'stunServer');
    assert.match(err.message, /only asked when sourceAddress is 'auto'/);
    for (const bad of ['127.0.0.1:0', '[::1', 'host:port', '']) {
      err = await rejection(knock({ ...creds(), host: '127.0.0.1', port: ports[2]!, sourceAddress: 'auto', stunServer: bad }));
      assert.equal(err.code, 'ERR_SKNOCK_INVALID_ARGUMENT', bad);
      assert.equal(err.option, 'stunServer', bad);
    }
  });

  test('the STUN server name does not resolve: a typed error naming stunServer', async () => {
    const err = await rejection(knock({ ...creds(), host: '127.0.0.1', port: ports[2]!, sourceAddress: 'auto', stunServer: 'stun.invalid', timeout: 3000 }));
    assert.equal(err.code, 'ERR_SKNOCK_RESOLVE_FAILED');
    assert.equal(err.option, 'stunServer');
  });
});

describe('localAddress on a host with two addresses (127.0.0.1 and 127.0.0.2)', () => {
  test('the knock and the probes leave from localAddress, and the knock binds it', async () => {
    const port = ports[3]!;
    const peers: string[] = [];
    const fake = await FakeKnockServer.start({
      host: '127.0.0.1',
      serverKey: server.privateKey,
      port,
      onConnection: (s) => {
        peers.push(s.remoteAddress ?? '');
        s.destroy();
      },
    });
    try {
      const result = await knock({ ...creds(), host: '127.0.0.1', port, knockPort: fake.knockPort, localAddress: '127.0.0.2', timeout: 5000 });
      assert.equal(result.sourceAddress, '127.0.0.2');
      assert.equal(fake.received[0]?.from.address, '127.0.0.2');
      assert.equal(fake.validKnocks.length, 1);
      assert.deepEqual([...new Set(peers)], ['127.0.0.2']);
    } finally {
      await fake.close();
    }
  });

  test('without it, sourceAddress alone writes 127.0.0.2 into a knock that leaves from 127.0.0.1 (the mismatch localAddress fixes)', async () => {
    const port = ports[4]!;
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port });
    try {
      const err = await rejection(knock({ ...creds(), host: '127.0.0.1', port, knockPort: fake.knockPort, sourceAddress: '127.0.0.2', timeout: 300, retries: 0 }));
      assert.equal(err.code, 'ERR_SKNOCK_PORT_NOT_OPENED');
      assert.equal(fake.received[0]?.from.address, '127.0.0.1');
      assert.equal(fake.received[0]?.opened?.address, '127.0.0.2');
      assert.equal(fake.validKnocks.length, 0);
    } finally {
      await fake.close();
    }
  });

  test('localAddress not on this host: ERR_SKNOCK_SEND_FAILED naming it; nothing sent', async () => {
    const port = ports[5]!;
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port });
    try {
      const err = await rejection(knock({ ...creds(), host: '127.0.0.1', port, knockPort: fake.knockPort, localAddress: '192.0.2.55', timeout: 2000 }));
      assert.equal(err.code, 'ERR_SKNOCK_SEND_FAILED');
      assert.equal(err.option, 'localAddress');
      assert.equal(fake.received.length, 0);
    } finally {
      await fake.close();
    }
  });

  test('family checks name the option', async () => {
    let err = await rejection(knock({ ...creds(), host: '::1', port: ports[6]!, localAddress: '127.0.0.2' }));
    assert.equal(err.option, 'localAddress');
    assert.match(err.message, /^localAddress: is an IPv4 address but host ::1 is IPv6$/);
    err = await rejection(knock({ ...creds(), host: '127.0.0.1', port: ports[6]!, localAddress: '127.0.0.2', sourceAddress: '::1' }));
    assert.equal(err.option, 'sourceAddress');
    assert.match(err.message, /^sourceAddress: is an IPv6 address but host 127\.0\.0\.1 is IPv4$/);
    err = await rejection(knock({ ...creds(), host: '127.0.0.1', port: ports[6]!, localAddress: 'nope' }));
    assert.equal(err.option, 'localAddress');
  });
});

after(async () => {
  for (const r of responders.splice(0)) await r.close();
});
