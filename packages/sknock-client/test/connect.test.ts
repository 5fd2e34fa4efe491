import { once } from 'node:events';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Server as TlsServer, TLSSocket } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SknockClientError, connect, createKnocker, tlsConnect, type Knocker } from '../src/index.js';
import { FakeKnockServer, freePort, settle, socketCounts } from './support/knock-server.js';
import { TestCa, type TestIdentity } from './support/pki.js';

/**
 * connect(), tlsConnect() and the knocker's single flight against the stand-in server on
 * loopback (a closed port refuses at once, as under policy reject; the namespace tests in
 * test/recipes/ cover policy drop): one connection at the service per call, no knock while
 * a grant runs, one datagram for concurrent calls, a new knock once the grant ran out.
 */

let ca: TestCa;
let server: TestIdentity;
let client: TestIdentity;
let tlsIdentity: TestIdentity;
let ports: number[];

before(async () => {
  ports = [];
  for (let i = 0; i < 10; i++) ports.push(await freePort('127.0.0.1'));
  ca = await TestCa.create();
  [server, client, tlsIdentity] = await Promise.all([
    ca.issue({ name: 'sKnock Test Server' }),
    ca.issue({ name: 'sKnock Test Client', grants: ports.map((port) => ({ protocol: 'tcp' as const, port })) }),
    ca.issue({ name: 'localhost' }),
  ]);
});

function credentials(): { credentials: { privateKey: TestIdentity['privateKey']; certificate: Uint8Array }; serverCertificate: Uint8Array } {
  return { credentials: { privateKey: client.privateKey, certificate: client.certificate }, serverCertificate: server.certificate };
}

/** The service answers `echo:<what it read>` per chunk. */
function echo(socket: Socket): void {
  socket.on('data', (c: Buffer) => socket.write(`echo:${c.toString()}`));
  socket.on('end', () => socket.end());
}

async function roundTrip(socket: Socket, text: string): Promise<string> {
  socket.write(text);
  const [data] = (await once(socket, 'data')) as [Buffer];
  return data.toString();
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

describe('connect()', () => {
  let knocker: Knocker;
  before(async () => {
    knocker = await createKnocker(credentials());
  });

  test('a closed port (refused): knocks at once, and the service sees exactly the one connection returned', async () => {
    const port = ports[0]!;
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port, openDelayMs: 300, onConnection: echo });
    try {
      const t0 = performance.now();
      const socket = await connect({ ...credentials(), host: '127.0.0.1', port, knockPort: fake.knockPort });
      const took = performance.now() - t0;
      assert.equal(await roundTrip(socket, 'ping'), 'echo:ping');
      assert.equal(fake.received.length, 1, 'one datagram');
      assert.ok(fake.received[0]!.at - t0 < 100, `the refusal knocked at once (${(fake.received[0]!.at - t0).toFixed(1)} ms), without waiting knockAfter`);
      assert.ok(took >= 300 && took < 1000, `took ${took.toFixed(0)} ms`);
      socket.destroy();
      await settle();
      assert.equal(fake.connections, 1, 'one connection at the service');
    } finally {
      await fake.close();
    }
  });

  test('a port already open (a grant still running): no knock at all', async () => {
    const port = ports[1]!;
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port, openOnKnock: false, onConnection: echo });
    try {
      await fake.listen();
      const socket = await knocker.connect({ host: '127.0.0.1', port, knockPort: fake.knockPort });
      assert.equal(await roundTrip(socket, 'x'), 'echo:x');
      socket.destroy();
      assert.equal(fake.received.length, 0, 'no datagram');
      assert.equal(fake.connections, 1);
    } finally {
      await fake.close();
    }
  });

  test('ten connect() at once: one datagram, ten connections at the service, one each', async () => {
    const port = ports[2]!;
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port, openDelayMs: 100, onConnection: echo });
    try {
      const sockets = await Promise.all(Array.from({ length: 10 }, () => knocker.connect({ host: '127.0.0.1', port, knockPort: fake.knockPort })));
      assert.equal(new Set(sockets).size, 10);
      const answers = await Promise.all(sockets.map((s, i) => roundTrip(s, `n${i}`)));
      assert.deepEqual(answers, sockets.map((_, i) => `echo:n${i}`));
      assert.equal(fake.received.length, 1, 'one datagram for ten calls');
      for (const s of sockets) s.destroy();
      await settle();
      assert.equal(fake.connections, 10, 'ten connections for ten calls');
    } finally {
      await fake.close();
    }
  });

  test('ten knock() at once: one datagram; the service sees one connection, reset', async () => {
    const port = ports[3]!;
    const reads: string[] = [];
    const fake = await FakeKnockServer.start({
      host: '127.0.0.1',
      serverKey: server.privateKey,
      port,
      openDelayMs: 50,
      onConnection: (s) => {
        s.on('error', (err: NodeJS.ErrnoException) => reads.push(err.code ?? 'error'));
        s.on('end', () => reads.push('end'));
        s.resume();
      },
    });
    try {
      const results = await Promise.all(Array.from({ length: 10 }, () => knocker.knock({ host: '127.0.0.1', port, knockPort: fake.knockPort })));
      assert.ok(results.every((r) => r.verified && r.attempts === 1));
      assert.equal(fake.received.length, 1);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(fake.connections, 1, 'one probe connection for ten knocks');
      assert.deepEqual(reads, ['ECONNRESET'], 'the probe is reset, not closed with a FIN');
    } finally {
      await fake.close();
    }
  });

  test('knock() and connect() together: one datagram, and the connection that answered goes to connect()', async () => {
    const port = ports[4]!;
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port, openDelayMs: 50, onConnection: echo });
    try {
      const [result, socket] = await Promise.all([
        knocker.knock({ host: '127.0.0.1', port, knockPort: fake.knockPort }),
        knocker.connect({ host: '127.0.0.1', port, knockPort: fake.knockPort }),
      ]);
      assert.equal(result.verified, true);
      assert.equal(await roundTrip(socket, 'both'), 'echo:both');
      assert.equal(fake.received.length, 1);
      assert.equal(fake.connections, 1);
      socket.destroy();
    } finally {
      await fake.close();
    }
  });

  test('after the grant ran out a new connection knocks again; the one opened before stays up', async () => {
    const port = ports[5]!;
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port, grantMs: 400, onConnection: echo });
    try {
      const first = await knocker.connect({ host: '127.0.0.1', port, knockPort: fake.knockPort, grantSeconds: 1 });
      assert.equal(fake.received.length, 1);
      const within = await knocker.connect({ host: '127.0.0.1', port, knockPort: fake.knockPort, grantSeconds: 1 });
      assert.equal(fake.received.length, 1, 'no knock while the grant runs');
      within.destroy();
      await new Promise((r) => setTimeout(r, 500)); // the stand-in's grant (400 ms) ran out
      const later = await knocker.connect({ host: '127.0.0.1', port, knockPort: fake.knockPort, grantSeconds: 1 });
      assert.equal(fake.received.length, 2, 'a new knock once the port refused');
      assert.equal(await roundTrip(first, 'still'), 'echo:still', 'the first connection was not touched');
      assert.equal(await roundTrip(later, 'new'), 'echo:new');
      first.destroy();
      later.destroy();
      assert.equal(fake.connections, 3);
    } finally {
      await fake.close();
    }
  });

  test('knock() says how long the grant lasts: the caller\'s grantSeconds, else what the knocker learned', async () => {
    const port = ports[6]!;
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port, grantMs: 1300 });
    try {
      const told = await knocker.knock({ host: '127.0.0.1', port, knockPort: fake.knockPort, grantSeconds: 15 });
      assert.equal(told.grantSeconds, 15);
      assert.ok(Math.abs((told.grantExpiresAt as number) - (Date.now() + 15_000)) < 500, 'expires 15 s after the knock');
      fake.expire();

      const learner = await createKnocker(credentials());
      const first = await learner.knock({ host: '127.0.0.1', port, knockPort: fake.knockPort });
      assert.equal(first.grantSeconds, undefined, 'nothing told, nothing learned yet');
      assert.equal(first.grantExpiresAt, undefined);
      await new Promise((r) => setTimeout(r, 1100));
      (await learner.connect({ host: '127.0.0.1', port, knockPort: fake.knockPort })).destroy(); // still open at 1.1 s
      assert.equal(fake.received.length, 2, 'no knock: the port answered');
      await new Promise((r) => setTimeout(r, 400)); // the stand-in's grant (1.3 s) ran out
      (await learner.connect({ host: '127.0.0.1', port, knockPort: fake.knockPort })).destroy(); // refused, knocks
      assert.equal(fake.received.length, 3);
      const learned = await learner.knock({ host: '127.0.0.1', port, knockPort: fake.knockPort });
      assert.equal(learned.grantSeconds, 1, 'open at 1.1 s, closed at 1.5 s: at least 1 s');
    } finally {
      await fake.close();
    }
  });

  test('abort while knocking rejects with ERR_SKNOCK_ABORTED and leaves no socket', async () => {
    const port = ports[7]!;
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port, openOnKnock: false });
    try {
      await settle();
      const baseline = socketCounts();
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('enough')), 80);
      const err = await rejection(knocker.connect({ host: '127.0.0.1', port, knockPort: fake.knockPort, signal: controller.signal }));
      assert.equal(err.code, 'ERR_SKNOCK_ABORTED');
      assert.equal(err.attempts, 1);
      assert.deepEqual(socketCounts(), baseline);
    } finally {
      await fake.close();
    }
  });

  test('a port that never opens: ERR_SKNOCK_PORT_NOT_OPENED after retries + 1 knocks', async () => {
    const port = ports[7]!;
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port, openOnKnock: false });
    try {
      const err = await rejection(knocker.connect({ host: '127.0.0.1', port, knockPort: fake.knockPort, timeout: 300, retries: 1 }));
      assert.equal(err.code, 'ERR_SKNOCK_PORT_NOT_OPENED');
      assert.equal(err.attempts, 2);
      assert.match(err.message, /2 knocks.*ECONNREFUSED/);
      assert.equal(fake.received.length, 2);
    } finally {
      await fake.close();
    }
  });

  test('options are checked by name before anything is sent', async () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ host: '127.0.0.1', port: 1, protocol: 'udp' }, 'protocol', /TCP connections/],
      [{ host: '127.0.0.1', port: 1, verify: false }, 'verify', /always waits/],
      [{ host: '127.0.0.1', port: 1, knockAfter: -1 }, 'knockAfter', /from 0 to/],
      [{ host: '127.0.0.1', port: 1, grantSeconds: 0 }, 'grantSeconds', /integer from 1/],
      [{ host: '127.0.0.1', port: 1, noDelay: 'yes' }, 'noDelay', /true or false/],
      [{ host: '127.0.0.1', port: 1, tls: {} }, 'tls', /unknown option/],
      [{ host: '127.0.0.1' }, 'port', /required/],
    ];
    for (const [options, option, message] of cases) {
      const err = await rejection(knocker.connect(options as never));
      assert.equal(err.code, 'ERR_SKNOCK_INVALID_ARGUMENT');
      assert.equal(err.option, option);
      assert.match(err.message, message);
    }
    const tlsErr = await rejection(knocker.tlsConnect({ host: '127.0.0.1', port: 1, tls: { socket: {} } } as never));
    assert.equal(tlsErr.option, 'tls.socket');
    assert.throws(() => knocker.socket({ host: 'x' } as never), (err: SknockClientError) => err.option === 'socket.host');
    assert.throws(() => knocker.socket({ retries: -1 }), (err: SknockClientError) => err.option === 'retries');
  });
});

describe('tlsConnect()', () => {
  let tlsServer: TlsServer;
  let fake: FakeKnockServer;
  let port: number;
  after(async () => {
    await fake?.close();
    tlsServer?.close();
  });
  before(async () => {
    port = ports[8]!;
    tlsServer = new TlsServer({ key: tlsIdentity.keyPem, cert: tlsIdentity.certificatePem }, (s) => {
      s.on('error', () => undefined);
      s.end('hello over tls');
    });
    fake = await FakeKnockServer.start({
      host: '127.0.0.1',
      serverKey: server.privateKey,
      port,
      openDelayMs: 20,
      onConnection: (raw) => tlsServer.emit('connection', raw),
    });
  });

  test('knocks, connects and speaks TLS over that connection (identity checked against the host)', async () => {
    const socket = await tlsConnect({ ...credentials(), host: 'localhost', family: 4, port, knockPort: fake.knockPort, tls: { ca: ca.ca.certificatePem } });
    assert.ok(socket instanceof TLSSocket);
    assert.equal(socket.authorized, true);
    const chunks: Buffer[] = [];
    for await (const c of socket) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'hello over tls');
    assert.equal(fake.connections, 1);
  });

  test('a certificate that does not verify: ERR_SKNOCK_TLS_FAILED with the TLS error as cause', async () => {
    const err = await rejection(tlsConnect({ ...credentials(), host: 'localhost', family: 4, port, knockPort: fake.knockPort }));
    assert.equal(err.code, 'ERR_SKNOCK_TLS_FAILED');
    assert.match(err.message, /TLS with localhost port \d+ failed: .*(certificate|issuer)/i);
    assert.ok(err.cause instanceof Error);
  });
});
