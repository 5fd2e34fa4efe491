import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { get, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server as TlsServer, TLSSocket } from 'node:tls';
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SknockClientError, connect, createHttpAgent, createKnocker, createUndiciConnect, tlsConnect, type Knocker } from '../src/index.js';
import { clearPublicAddressCache } from '../src/public-address.js';
import { FakeKnockServer, freePort } from './support/knock-server.js';
import { TestCa, type TestIdentity } from './support/pki.js';
import { StunResponder } from './support/stun-responder.js';

/**
 * The settings of the profiles/NAT half through the connection half: `localAddress` binds
 * the connection attempts (so the connection handed over) as well as the knock, on a host
 * with two addresses (127.0.0.1 and 127.0.0.2 are both on Linux's lo); `profile` works for
 * connect(), tlsConnect(), a knocker's calls, its socket() and the agents; `sourceAddress:
 * 'auto'` through connect(); and the single flight keeps apart what binds differently.
 */

let ca: TestCa;
let server: TestIdentity;
let client: TestIdentity;
let web: TestIdentity;
let dir: string;
let knocker: Knocker;
const ports: number[] = [];
const fakes: FakeKnockServer[] = [];
const responders: StunResponder[] = [];

before(async () => {
  for (let i = 0; i < 15; i++) ports.push(await freePort('127.0.0.1'));
  ca = await TestCa.create();
  [server, client, web] = await Promise.all([
    ca.issue({ name: 'sKnock Test Server' }),
    ca.issue({ name: 'settings client', grants: ports.map((port) => ({ protocol: 'tcp' as const, port })) }),
    ca.issue({ name: 'localhost' }),
  ]);
  dir = await mkdtemp(join(tmpdir(), 'sknock-connect-settings-'));
  await writeFile(join(dir, 'client.key'), client.keyPem, { mode: 0o600 });
  await writeFile(join(dir, 'client.crt'), client.certificatePem);
  await writeFile(join(dir, 'server.cer'), server.certificate);
  knocker = await createKnocker(credentials());
});

afterEach(async () => {
  clearPublicAddressCache();
  for (const f of fakes.splice(0)) await f.close();
  for (const r of responders.splice(0)) await r.close();
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function credentials(): { credentials: { privateKey: TestIdentity['privateKey']; certificate: Uint8Array }; serverCertificate: Uint8Array } {
  return { credentials: { privateKey: client.privateKey, certificate: client.certificate }, serverCertificate: server.certificate };
}

/** A stand-in server on 127.0.0.1 that records the peer address of every connection and echoes. */
async function fakeServer(port: number, extra: { openDelayMs?: number } = {}): Promise<{ fake: FakeKnockServer; peers: string[] }> {
  const peers: string[] = [];
  const fake = await FakeKnockServer.start({
    host: '127.0.0.1',
    serverKey: server.privateKey,
    port,
    ...extra,
    onConnection: (s) => {
      peers.push(s.remoteAddress ?? '');
      s.on('data', (c: Buffer) => s.write(`echo:${c.toString()}`));
      s.on('end', () => s.end());
    },
  });
  fakes.push(fake);
  return { fake, peers };
}

async function roundTrip(socket: Socket, text: string): Promise<string> {
  socket.write(text);
  const [data] = (await once(socket, 'data')) as [Buffer];
  return data.toString();
}

/** A profile file with one section, `[name]`, of `lines`; the key files are the test's. */
async function profileFile(file: string, name: string, lines: readonly string[]): Promise<string> {
  const path = join(dir, file);
  await writeFile(path, [`[${name}]`, 'key = client.key', 'certificate = client.crt', 'serverCertificate = server.cer', ...lines, ''].join('\n'));
  return path;
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

describe('localAddress through connect() (127.0.0.1 and 127.0.0.2 on lo)', () => {
  test('connect(): the knock and the connection handed over both leave from localAddress', async () => {
    const port = ports[0]!;
    const { fake, peers } = await fakeServer(port, { openDelayMs: 50 });
    const socket = await connect({ ...credentials(), host: '127.0.0.1', port, knockPort: fake.knockPort, localAddress: '127.0.0.2', timeout: 5000 });
    try {
      assert.equal(await roundTrip(socket, 'a'), 'echo:a');
      assert.equal(socket.localAddress, '127.0.0.2');
      assert.equal(fake.received.length, 1);
      assert.equal(fake.received[0]?.from.address, '127.0.0.2', 'the knock left from localAddress');
      assert.equal(fake.validKnocks.length, 1, 'and binds it');
      assert.deepEqual(peers, ['127.0.0.2'], 'the service saw the one connection, from localAddress');
    } finally {
      socket.destroy();
    }
  });

  test('knocker.connect() to a port already open: the connection tried first is bound too (no knock)', async () => {
    const port = ports[1]!;
    const { fake, peers } = await fakeServer(port);
    await fake.listen();
    const socket = await knocker.connect({ host: '127.0.0.1', port, knockPort: fake.knockPort, localAddress: '127.0.0.2' });
    assert.equal(await roundTrip(socket, 'o'), 'echo:o'); // accepted by the service
    socket.destroy();
    assert.equal(fake.received.length, 0);
    assert.deepEqual(peers, ['127.0.0.2']);
  });

  test('tlsConnect(): TLS over a connection from localAddress', async () => {
    const port = ports[2]!;
    const peers: string[] = [];
    const tlsServer = new TlsServer({ key: web.keyPem, cert: web.certificatePem }, (s) => {
      s.on('data', (c: Buffer) => s.write(`tls:${c.toString()}`));
      s.on('error', () => undefined);
    });
    const fake = await FakeKnockServer.start({
      host: '127.0.0.1',
      serverKey: server.privateKey,
      port,
      onConnection: (s) => {
        peers.push(s.remoteAddress ?? '');
        tlsServer.emit('connection', s);
      },
    });
    fakes.push(fake);
    const secure = await tlsConnect({ ...credentials(), host: '127.0.0.1', port, knockPort: fake.knockPort, localAddress: '127.0.0.2', tls: { ca: ca.ca.certificatePem, servername: 'localhost' } });
    try {
      assert.ok(secure instanceof TLSSocket);
      assert.equal(await roundTrip(secure, 'b'), 'tls:b');
      assert.deepEqual(peers, ['127.0.0.2']);
      assert.equal(fake.received[0]?.from.address, '127.0.0.2');
    } finally {
      secure.destroy();
    }
  });

  test('concurrent calls that bind different addresses do not share a flight: one knock from each, each connection from its own address', async () => {
    const port = ports[3]!;
    const { fake, peers } = await fakeServer(port, { openDelayMs: 30 });
    const [a, b] = await Promise.all([
      knocker.connect({ host: '127.0.0.1', port, knockPort: fake.knockPort, localAddress: '127.0.0.2' }),
      knocker.connect({ host: '127.0.0.1', port, knockPort: fake.knockPort }),
    ]);
    try {
      assert.equal(a.localAddress, '127.0.0.2');
      assert.equal(b.localAddress, '127.0.0.1');
      assert.deepEqual(await Promise.all([roundTrip(a, 'a'), roundTrip(b, 'b')]), ['echo:a', 'echo:b']); // both accepted
      assert.deepEqual(fake.received.map((r) => r.from.address).sort(), ['127.0.0.1', '127.0.0.2']);
      assert.equal(fake.validKnocks.length, 2);
      assert.deepEqual(peers.sort(), ['127.0.0.1', '127.0.0.2']);
    } finally {
      a.destroy();
      b.destroy();
    }
  });

  test('a localAddress not on this host: ERR_SKNOCK_SEND_FAILED naming it, nothing sent', async () => {
    const port = ports[4]!;
    const { fake } = await fakeServer(port);
    const err = await rejection(knocker.connect({ host: '127.0.0.1', port, knockPort: fake.knockPort, localAddress: '192.0.2.55', timeout: 2000 }));
    assert.equal(err.code, 'ERR_SKNOCK_SEND_FAILED');
    assert.equal(err.option, 'localAddress');
    assert.equal(fake.received.length, 0);
  });
});

describe('profile through connect(), the knocker and the agents', () => {
  test('connect({ profile: true }) reads the section for the host: credentials, knockPort, localAddress', async () => {
    const port = ports[5]!;
    const { fake, peers } = await fakeServer(port);
    const file = await profileFile('connect.ini', '127.0.0.1', [`knockPort = ${fake.knockPort}`, 'localAddress = 127.0.0.2']);
    const socket = await connect({ host: '127.0.0.1', port, profile: true, profileFile: file, timeout: 5000 });
    try {
      assert.equal(await roundTrip(socket, 'p'), 'echo:p');
      assert.equal(fake.validKnocks.length, 1, 'the knock went to the section knockPort, signed with its key');
      assert.equal(fake.received[0]?.from.address, '127.0.0.2');
      assert.deepEqual(peers, ['127.0.0.2']);
    } finally {
      socket.destroy();
    }
  });

  test("tlsConnect({ profile: 'name' }) takes section [name]; the caller's options win over it", async () => {
    const port = ports[6]!;
    const tlsServer = new TlsServer({ key: web.keyPem, cert: web.certificatePem }, (s) => {
      s.on('data', (c: Buffer) => s.write(`tls:${c.toString()}`));
      s.on('error', () => undefined);
    });
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port, onConnection: (s) => tlsServer.emit('connection', s) });
    fakes.push(fake);
    const file = await profileFile('tls.ini', 'lab', ['knockPort = 9', 'localAddress = 127.0.0.2']);
    const secure = await tlsConnect({ host: '127.0.0.1', port, profile: 'lab', profileFile: file, knockPort: fake.knockPort, tls: { ca: ca.ca.certificatePem, servername: 'localhost' } });
    try {
      assert.equal(await roundTrip(secure, 't'), 'tls:t');
      assert.equal(fake.validKnocks.length, 1, "knockPort from the call, not the section's 9");
      assert.equal(fake.received[0]?.from.address, '127.0.0.2', 'localAddress from the section');
    } finally {
      secure.destroy();
    }
  });

  test('ten knocker.connect({ profile: true }) at once: the file is read per call, still one datagram and ten connections', async () => {
    const port = ports[7]!;
    const { fake, peers } = await fakeServer(port, { openDelayMs: 50 });
    const file = await profileFile('ten.ini', '127.0.0.*', [`knockPort = ${fake.knockPort}`, 'localAddress = 127.0.0.2']);
    const sockets = await Promise.all(Array.from({ length: 10 }, () => knocker.connect({ host: '127.0.0.1', port, profile: true, profileFile: file })));
    try {
      assert.equal(new Set(sockets).size, 10);
      await Promise.all(sockets.map((s, i) => roundTrip(s, `n${i}`))); // each accepted by the service
      assert.equal(fake.received.length, 1, 'one datagram for ten calls');
      assert.equal(fake.connections, 10);
      assert.deepEqual([...new Set(peers)], ['127.0.0.2']);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });

  test("ten connect() on createKnocker({ profile: 'name' }): one datagram, with the section's knock settings", async () => {
    const port = ports[8]!;
    const { fake, peers } = await fakeServer(port, { openDelayMs: 50 });
    const file = await profileFile('knocker.ini', 'lab', [`knockPort = ${fake.knockPort}`, 'localAddress = 127.0.0.2']);
    const fromProfile = await createKnocker({ profile: 'lab', profileFile: file });
    const sockets = await Promise.all(Array.from({ length: 10 }, () => fromProfile.connect({ host: '127.0.0.1', port })));
    try {
      await Promise.all(sockets.map((s, i) => roundTrip(s, `n${i}`)));
      assert.equal(fake.received.length, 1);
      assert.equal(fake.validKnocks.length, 1);
      assert.deepEqual([...new Set(peers)], ['127.0.0.2']);
      assert.equal(peers.length, 10);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });

  test('an http agent with knock: { profile: true }: each new connection takes the section for its host', async () => {
    const port = ports[9]!;
    const { createServer } = await import('node:http');
    const handler = createServer((req, res) => res.end(`hello ${req.url} from ${req.socket.remoteAddress}`));
    const peers: string[] = [];
    const fake = await FakeKnockServer.start({
      host: '127.0.0.1',
      serverKey: server.privateKey,
      port,
      onConnection: (s) => {
        peers.push(s.remoteAddress ?? '');
        handler.emit('connection', s);
      },
    });
    fakes.push(fake);
    const file = await profileFile('agent.ini', '127.0.0.1', [`knockPort = ${fake.knockPort}`, 'localAddress = 127.0.0.2']);
    const agent = createHttpAgent(knocker, { keepAlive: true, knock: { profile: true, profileFile: file } });
    try {
      const [res] = (await once(get({ host: '127.0.0.1', port, path: '/x', agent }), 'response')) as [IncomingMessage];
      let text = '';
      for await (const c of res) text += String(c);
      assert.equal(text, 'hello /x from 127.0.0.2');
      assert.equal(fake.validKnocks.length, 1);
      assert.deepEqual(peers, ['127.0.0.2']);
    } finally {
      agent.destroy();
      handler.close();
    }
  });

  test('knocker.socket({ profile }) and the undici connector: the section applies to what they connect', async () => {
    const port = ports[10]!;
    const { fake, peers } = await fakeServer(port);
    const file = await profileFile('socket.ini', '127.0.0.1', [`knockPort = ${fake.knockPort}`, 'localAddress = 127.0.0.2']);
    const stream = knocker.socket({ profile: true, profileFile: file });
    stream.connect(port, '127.0.0.1');
    await once(stream, 'connect');
    stream.write('s');
    const [data] = (await once(stream, 'data')) as [Buffer];
    assert.equal(data.toString(), 'echo:s');
    assert.equal(stream.localAddress, '127.0.0.2');
    stream.destroy();

    const connector = createUndiciConnect(knocker, { knock: { profile: true, profileFile: file } });
    const socket = await new Promise<Socket>((resolve, reject) =>
      connector({ hostname: '127.0.0.1', protocol: 'http:', port }, (err, s) => (err ? reject(err) : resolve(s as Socket))),
    );
    assert.equal(socket.localAddress, '127.0.0.2');
    assert.equal(await roundTrip(socket, 'u'), 'echo:u');
    socket.destroy();
    assert.deepEqual(peers, ['127.0.0.2', '127.0.0.2']);
  });

  test("the undici connector binds undici's own localAddress when knock gives none", async () => {
    const port = ports[11]!;
    const { fake, peers } = await fakeServer(port);
    const connector = createUndiciConnect(knocker, { knock: { knockPort: fake.knockPort } });
    const socket = await new Promise<Socket>((resolve, reject) =>
      connector({ hostname: '127.0.0.1', protocol: 'http:', port, localAddress: '127.0.0.2' }, (err, s) => (err ? reject(err) : resolve(s as Socket))),
    );
    assert.equal(await roundTrip(socket, 'l'), 'echo:l');
    socket.destroy();
    assert.equal(fake.received[0]?.from.address, '127.0.0.2');
    assert.deepEqual(peers, ['127.0.0.2']);
  });

  test('profile mistakes are named: at the call, or when the agent is made', async () => {
    let err = await rejection(connect({ host: '127.0.0.1', port: ports[14]!, profile: 'nope', profileFile: await profileFile('mistakes.ini', 'lab', []) }));
    assert.equal(err.code, 'ERR_SKNOCK_PROFILE_NOT_FOUND');
    err = await rejection(connect({ host: '127.0.0.1', port: ports[14]!, profileFile: 'x.ini' } as never));
    assert.equal(err.option, 'profileFile');
    err = await rejection(knocker.connect({ host: '127.0.0.1', port: ports[14]!, profile: true, profileFile: join(dir, 'mistakes.ini'), knockAftr: 1 } as never));
    assert.equal(err.option, 'knockAftr');
    assert.match(err.message, /did you mean knockAfter\?/);
    assert.throws(() => createHttpAgent(knocker, { knock: { profile: 5 } as never }), (e: unknown) => e instanceof SknockClientError && e.option === 'profile');
    assert.throws(() => knocker.socket({ profileFile: 'x.ini' } as never), (e: unknown) => e instanceof SknockClientError && e.option === 'profileFile');
    // With a profile the section may give stunServer: an agent's 'auto' alone is not refused when it is made.
    createHttpAgent(knocker, { knock: { profile: true, sourceAddress: 'auto' } }).destroy();
  });
});

describe("sourceAddress: 'auto' through connect()", () => {
  test('ten knocker.connect() at once: one STUN request, one datagram binding the address it saw, ten connections', async () => {
    const port = ports[12]!;
    const { fake } = await fakeServer(port, { openDelayMs: 30 });
    const stun = await StunResponder.start({ host: '127.0.0.1' });
    responders.push(stun);
    const sockets = await Promise.all(
      Array.from({ length: 10 }, () => knocker.connect({ host: '127.0.0.1', port, knockPort: fake.knockPort, sourceAddress: 'auto', stunServer: stun.server, knockAfter: 0 })),
    );
    try {
      assert.equal(stun.requests.length, 1, 'one STUN request for ten calls');
      assert.equal(fake.received.length, 1, 'one datagram');
      assert.equal(fake.received[0]?.opened?.address, '127.0.0.1');
      assert.equal(fake.validKnocks.length, 1);
      await Promise.all(sockets.map((s, i) => roundTrip(s, `n${i}`)));
      assert.equal(fake.connections, 10);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });

  test('with localAddress: the STUN request, the knock and the connection all leave from it', async () => {
    const port = ports[13]!;
    const { fake, peers } = await fakeServer(port);
    const stun = await StunResponder.start({ host: '127.0.0.1' });
    responders.push(stun);
    const socket = await connect({ ...credentials(), host: '127.0.0.1', port, knockPort: fake.knockPort, sourceAddress: 'auto', stunServer: stun.server, localAddress: '127.0.0.2' });
    try {
      assert.equal(stun.requests[0]?.from.address, '127.0.0.2');
      assert.equal(fake.received[0]?.opened?.address, '127.0.0.2');
      assert.equal(fake.validKnocks.length, 1);
      assert.deepEqual(peers, ['127.0.0.2']);
    } finally {
      socket.destroy();
    }
  });
});
