import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { knockDatagramLength, verifyKnockSignature } from '@sknock/protocol';
import {
  CHANNEL_FAILURE,
  CHANNEL_KNOCK_SENT,
  CHANNEL_PORT_OPEN,
  CHANNEL_RETRY,
  SknockClientError,
  createKnocker,
  knock,
  type KnockSentMessage,
  type Knocker,
} from '../src/index.js';
import { FakeKnockServer, freePort, settle, socketCounts } from './support/knock-server.js';
import { TestCa, type TestIdentity } from './support/pki.js';

/**
 * knock() against a stand-in server on loopback (IPv4 and IPv6): what the packet holds, how
 * fast the call sees the port open, retries, lossy paths, failure, abort, and no sockets left.
 */

let ca: TestCa;
let server: TestIdentity;
let client: TestIdentity;
let tcpPorts: number[];

function credentialOptions(): { credentials: { privateKey: TestIdentity['privateKey']; certificate: Uint8Array }; serverCertificate: Uint8Array } {
  return { credentials: { privateKey: client.privateKey, certificate: client.certificate }, serverCertificate: server.certificate };
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

function collect<T>(name: string): { messages: T[]; stop: () => void } {
  const messages: T[] = [];
  const fn = (m: unknown): void => void messages.push(m as T);
  subscribe(name, fn);
  return { messages, stop: () => unsubscribe(name, fn) };
}

before(async () => {
  // Ports the client certificate grants: picked free now, the listeners start later.
  tcpPorts = [];
  for (let i = 0; i < 4; i++) tcpPorts.push(await freePort('127.0.0.1'));
  ca = await TestCa.create();
  [server, client] = await Promise.all([
    ca.issue({ name: 'sKnock Test Server' }),
    ca.issue({ name: 'sKnock Test Client', grants: [...tcpPorts.map((port) => ({ protocol: 'tcp' as const, port })), { protocol: 'udp', port: 5353 }] }),
  ]);
});

for (const host of ['127.0.0.1', '::1'] as const) {
  describe(`knock() to ${host}`, () => {
    test('sends one valid packet and resolves soon after the listener starts', async () => {
      const port = tcpPorts[0] as number;
      const fake = await FakeKnockServer.start({ host, serverKey: server.privateKey, port, openDelayMs: 30 });
      try {
        const t0 = performance.now();
        const result = await knock({ ...credentialOptions(), host, port, knockPort: fake.knockPort, timeout: 4000 });
        const resolvedAt = performance.now();
        assert.equal(fake.received.length, 1, 'one datagram for one try');
        const got = fake.received[0]!;
        assert.equal(got.valid, true, `packet failed the server checks: ${String(got.error)}`);
        const opened = got.opened!;
        assert.deepEqual([...opened.version], [1, 0, 0]);
        assert.equal(opened.protocol, 'tcp');
        assert.equal(opened.port, port);
        assert.equal(opened.address, host);
        assert.equal(opened.address, got.from.address);
        assert.ok(Math.abs(opened.timestamp - Date.now() / 1000) <= 2, 'timestamp is now');
        assert.deepEqual(Buffer.from(opened.certificate), Buffer.from(client.certificate));
        assert.ok(verifyKnockSignature(opened));
        assert.equal(got.data.length, knockDatagramLength(client.certificate.length));
        assert.deepEqual(
          { address: result.address, port: result.port, protocol: result.protocol, attempts: result.attempts, verified: result.verified, sourceAddress: result.sourceAddress },
          { address: host, port, protocol: 'tcp', attempts: 1, verified: true, sourceAddress: host },
        );
        assert.ok(fake.listeningAt !== undefined);
        const delay = resolvedAt - fake.listeningAt;
        console.log(`# ${host}: knock() resolved ${delay.toFixed(2)} ms after the listener started (call took ${(resolvedAt - t0).toFixed(1)} ms)`);
        assert.ok(delay >= 0 && delay < 1000, `resolved ${delay} ms after the port opened`);
        assert.ok(result.elapsedMs >= 30 && result.elapsedMs <= resolvedAt - t0 + 1);
      } finally {
        await fake.close();
      }
    });

    test('rejects with ERR_SKNOCK_PORT_NOT_OPENED after retries + 1 knocks, leaving no sockets', async () => {
      const port = tcpPorts[1] as number;
      const fake = await FakeKnockServer.start({ host, serverKey: server.privateKey, port, openOnKnock: false });
      const failures = collect<{ code: string; attempts: number }>(CHANNEL_FAILURE);
      const retries = collect<{ attempt: number; lastProbeError: string }>(CHANNEL_RETRY);
      try {
        await settle();
        await settle();
      const baseline = socketCounts();
        const t0 = performance.now();
        const err = await rejection(knock({ ...credentialOptions(), host, port, knockPort: fake.knockPort, timeout: 300, retries: 2 }));
        const took = performance.now() - t0;
        assert.deepEqual(socketCounts(), baseline, 'probe and UDP sockets closed before the rejection');
        assert.equal(err.code, 'ERR_SKNOCK_PORT_NOT_OPENED');
        assert.equal(err.attempts, 3);
        assert.match(err.message, /3 knocks/);
        assert.match(err.message, /ECONNREFUSED/);
        assert.ok(took >= 295 && took < 1000, `took ${took} ms for a 300 ms timeout`);
        assert.equal(fake.received.length, 3, 'one datagram per try');
        assert.ok(fake.received.every((r) => r.valid));
        assert.deepEqual(retries.messages.map((m) => m.attempt), [2, 3]);
        assert.equal(retries.messages[0]?.lastProbeError, 'ECONNREFUSED');
        assert.deepEqual(failures.messages.map((m) => [m.code, m.attempts]), [['ERR_SKNOCK_PORT_NOT_OPENED', 3]]);
      } finally {
        failures.stop();
        retries.stop();
        await fake.close();
      }
    });
  });
}

describe('knock() retries and lossy paths', () => {
  test('a relay that drops the first two datagrams: the third knock opens the port', async () => {
    const port = tcpPorts[2] as number;
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port, dropFirst: 2 });
    try {
      const result = await knock({ ...credentialOptions(), host: '127.0.0.1', port, knockPort: fake.knockPort, timeout: 1500, retries: 3 });
      assert.equal(result.attempts, 3);
      assert.equal(result.verified, true);
      assert.deepEqual(fake.received.map((r) => r.dropped), [true, true, false]);
      // Each knock is a new packet: a fresh ephemeral key each time.
      const keys = new Set(fake.received.map((r) => r.data.subarray(-65).toString('hex')));
      assert.equal(keys.size, 3);
    } finally {
      await fake.close();
    }
  });

  test('without knockPort every packet goes to a random port from 10000 to 60000', async () => {
    const port = tcpPorts[3] as number;
    const sent = collect<KnockSentMessage>(CHANNEL_KNOCK_SENT);
    try {
      const err = await rejection(knock({ ...credentialOptions(), host: '127.0.0.1', port, timeout: 120, retries: 3 }));
      assert.equal(err.code, 'ERR_SKNOCK_PORT_NOT_OPENED');
      const ports = sent.messages.map((m) => m.knockPort);
      assert.equal(ports.length, 4);
      assert.ok(ports.every((p) => p >= 10000 && p <= 60000), `ports ${ports.join(',')}`);
      assert.ok(new Set(ports).size >= 2, `four knocks went to ${ports.join(',')}`);
      assert.deepEqual(sent.messages.map((m) => m.attempt), [1, 2, 3, 4]);
    } finally {
      sent.stop();
    }
  });
});

describe('knock() without verification', () => {
  test('UDP: resolves after sending one packet, verified false', async () => {
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port: 5353 });
    try {
      const result = await knock({ ...credentialOptions(), host: '127.0.0.1', port: 5353, protocol: 'udp', knockPort: fake.knockPort });
      assert.equal(result.verified, false);
      assert.equal(result.attempts, 1);
      assert.equal(result.protocol, 'udp');
      await waitFor(() => fake.received.length === 1);
      assert.equal(fake.received[0]?.opened?.protocol, 'udp');
      assert.equal(fake.received[0]?.valid, true);
    } finally {
      await fake.close();
    }
  });

  test('verify: false sends one packet and never connects', async () => {
    const port = tcpPorts[0] as number;
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port, openOnKnock: false });
    try {
      await fake.listen();
      const result = await knock({ ...credentialOptions(), host: '127.0.0.1', port, knockPort: fake.knockPort, verify: false });
      assert.equal(result.verified, false);
      assert.equal(result.attempts, 1);
      await waitFor(() => fake.received.length === 1);
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(fake.connections, 0, 'no probe connection');
    } finally {
      await fake.close();
    }
  });
});

describe('createKnocker()', () => {
  test('loads once and knocks many times; the port-open message has the timing', async () => {
    const port = tcpPorts[1] as number;
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port });
    const opens = collect<{ attempt: number; sinceKnockMs: number; probes: number }>(CHANNEL_PORT_OPEN);
    try {
      const knocker: Knocker = await createKnocker(credentialOptions());
      const first = await knocker.knock({ host: 'localhost', family: 4, port, knockPort: fake.knockPort });
      const second = await knocker.knock({ host: '127.0.0.1', port, knockPort: fake.knockPort });
      assert.equal(first.address, '127.0.0.1');
      assert.equal(first.verified && second.verified, true);
      assert.equal(fake.validKnocks.length, 2);
      assert.equal(opens.messages.length, 2);
      console.log(`# port-open after knock: ${opens.messages.map((m) => `${m.sinceKnockMs.toFixed(2)} ms (${m.probes} probes)`).join(', ')}`);
    } finally {
      opens.stop();
      await fake.close();
    }
  });
});

describe('abort and timeout', () => {
  test('an already aborted signal rejects with ERR_SKNOCK_ABORTED before any knock', async () => {
    const sent = collect<KnockSentMessage>(CHANNEL_KNOCK_SENT);
    try {
      const err = await rejection(knock({ ...credentialOptions(), host: '127.0.0.1', port: tcpPorts[0]!, signal: AbortSignal.abort(new Error('stop')) }));
      assert.equal(err.code, 'ERR_SKNOCK_ABORTED');
      assert.equal(err.attempts, 0);
      assert.equal((err.cause as Error).message, 'stop');
      assert.equal(sent.messages.length, 0);
    } finally {
      sent.stop();
    }
  });

  test('aborting while polling rejects at once and closes every probe', async () => {
    const port = tcpPorts[2] as number;
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port, openOnKnock: false });
    try {
      await settle();
      const baseline = socketCounts();
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 60);
      const t0 = performance.now();
      const err = await rejection(knock({ ...credentialOptions(), host: '127.0.0.1', port, knockPort: fake.knockPort, timeout: 5000, signal: controller.signal }));
      const took = performance.now() - t0;
      assert.equal(err.code, 'ERR_SKNOCK_ABORTED');
      assert.equal(err.attempts, 1);
      assert.ok(took < 1000, `abort took ${took} ms`);
      assert.deepEqual(socketCounts(), baseline);
    } finally {
      await fake.close();
    }
  });
});

async function waitFor(condition: () => boolean, ms = 1000): Promise<void> {
  const end = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > end) assert.fail('condition not met in time');
    await new Promise((r) => setTimeout(r, 2));
  }
}
