import { once } from 'node:events';
import { createServer as createHttpServer, get, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { connect, type Socket } from 'node:net';
import { Server as TlsServer, TLSSocket } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { KnockingSocket, SknockClientError, createHttpAgent, createHttpsAgent, createKnocker, createUndiciConnect, type Knocker } from '../src/index.js';
import { FakeKnockServer, freePort } from './support/knock-server.js';
import { TestCa, type TestIdentity } from './support/pki.js';

/**
 * The agents and hooks on loopback, against the stand-in server: node:http and node:https
 * agents, the undici connector called as undici calls it, and the KnockingSocket that pg and
 * mysql2 get from their stream factories. (The real libraries run in test/recipes/.)
 */

let ca: TestCa;
let server: TestIdentity;
let client: TestIdentity;
let web: TestIdentity;
let ports: number[];
let knocker: Knocker;

const httpHandler = createHttpServer({ keepAliveTimeout: 5000 }, (req, res) => res.end(`hello ${req.url}`));
after(() => httpHandler.close());

before(async () => {
  httpHandler.listen(0, '127.0.0.1');
  await once(httpHandler, 'listening');
  ports = [];
  for (let i = 0; i < 6; i++) ports.push(await freePort('127.0.0.1'));
  ca = await TestCa.create();
  [server, client, web] = await Promise.all([
    ca.issue({ name: 'sKnock Test Server' }),
    ca.issue({ name: 'sKnock Test Client', grants: ports.map((port) => ({ protocol: 'tcp' as const, port })) }),
    ca.issue({ name: 'localhost' }),
  ]);
  knocker = await createKnocker({ credentials: { privateKey: client.privateKey, certificate: client.certificate }, serverCertificate: server.certificate });
});

async function body(res: IncomingMessage): Promise<string> {
  let text = '';
  res.setEncoding('utf8');
  for await (const c of res) text += c;
  return text;
}


/**
 * Hands a connection the stand-in accepted to the HTTP server listening on its own port.
 * Deno's node:http server closes a socket handed to it with emit('connection') after each
 * response (no keep-alive), which would make the keep-alive test count the server's
 * behaviour, not the agent's; a listening server keeps it alive on every runtime.
 */
function toHttpServer(socket: Socket): void {
  const address = httpHandler.address();
  if (address === null || typeof address === 'string') throw new Error('the HTTP server is not listening');
  const upstream = connect({ host: '127.0.0.1', port: address.port });
  socket.on('error', () => upstream.destroy());
  upstream.on('error', () => socket.destroy());
  socket.on('close', () => upstream.destroy());
  upstream.on('close', () => socket.destroy());
  socket.pipe(upstream).pipe(socket);
}

describe('createHttpAgent()', () => {
  test('knocks for the first request only; keep-alive requests share one connection', async () => {
    const port = ports[0]!;
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port, openDelayMs: 30, onConnection: toHttpServer });
    const agent = createHttpAgent(knocker, { keepAlive: true, knock: { knockPort: fake.knockPort } });
    try {
      for (const path of ['/a', '/b', '/c']) {
        const [res] = (await once(get({ host: '127.0.0.1', port, path, agent }), 'response')) as [IncomingMessage];
        assert.equal(await body(res), `hello ${path}`);
        await new Promise((r) => setImmediate(r)); // let the agent take the socket back
      }
      assert.equal(fake.received.length, 1, 'one knock');
      assert.equal(fake.connections, 1, 'one connection');
    } finally {
      agent.destroy();
      await fake.close();
    }
  });

  test('a port that never opens: the request fails with the SDK error', async () => {
    const port = ports[1]!;
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port, openOnKnock: false });
    const agent = createHttpAgent(knocker, { knock: { knockPort: fake.knockPort, timeout: 200, retries: 0 } });
    try {
      const [err] = (await once(get({ host: '127.0.0.1', port, path: '/', agent }), 'error')) as [SknockClientError];
      assert.ok(err instanceof SknockClientError);
      assert.equal(err.code, 'ERR_SKNOCK_PORT_NOT_OPENED');
    } finally {
      agent.destroy();
      await fake.close();
    }
  });

  test('options are checked when the agent is made', () => {
    assert.throws(() => createHttpAgent(knocker, { knock: { knockAfter: -5 } }), (err: SknockClientError) => err.option === 'knockAfter');
    assert.throws(() => createHttpAgent(knocker, { knock: { port: 80 } as never }), (err: SknockClientError) => err.option === 'knock.port');
    assert.throws(() => createHttpAgent({} as never), (err: SknockClientError) => err.option === 'knocker');
  });
});

describe('createHttpsAgent()', () => {
  test('TLS over the knocked connection, the certificate checked against the host', async () => {
    const port = ports[2]!;
    const tls = new TlsServer({ key: web.keyPem, cert: web.certificatePem }, (s) => httpHandler.emit('connection', s));
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port, openDelayMs: 10, onConnection: (s) => tls.emit('connection', s) });
    const agent = createHttpsAgent(knocker, { keepAlive: true, ca: ca.ca.certificatePem, knock: { knockPort: fake.knockPort, family: 4 } });
    try {
      const req = httpsGet({ host: 'localhost', port, path: '/secure', agent });
      const [res] = (await once(req, 'response')) as [IncomingMessage];
      assert.ok(res.socket instanceof TLSSocket);
      assert.equal(await body(res), 'hello /secure');
      assert.equal(fake.received.length, 1);
      assert.equal(fake.connections, 1);
    } finally {
      agent.destroy();
      await fake.close();
    }
  });
});

describe('createUndiciConnect()', () => {
  test('called as undici calls it: a connected socket for http:, an error for a port that never opens', async () => {
    const port = ports[3]!;
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port, openDelayMs: 10, onConnection: (s) => s.end('raw') });
    try {
      const connect = createUndiciConnect(knocker, { knock: { knockPort: fake.knockPort } });
      const socket = await new Promise<Socket>((resolve, reject) =>
        connect({ hostname: '127.0.0.1', host: `127.0.0.1:${port}`, protocol: 'http:', port: String(port), servername: null }, (err, s) => (err ? reject(err) : resolve(s as Socket))),
      );
      assert.equal(socket.remotePort, port);
      socket.destroy();
      const silent = createUndiciConnect(knocker, { knock: { knockPort: fake.knockPort, timeout: 150, retries: 0 } });
      const err = await new Promise<Error | null>((resolve) => silent({ hostname: '127.0.0.1', protocol: 'http:', port: String(ports[4]) }, (e) => resolve(e)));
      assert.ok(err instanceof SknockClientError && err.code === 'ERR_SKNOCK_PORT_NOT_OPENED', String(err));
    } finally {
      await fake.close();
    }
  });
});

describe('knocker.socket() (KnockingSocket)', () => {
  test('as pg uses it: setNoDelay and a write before connect(port, host), then the echo over one connection', async () => {
    const port = ports[5]!;
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port, openDelayMs: 20, onConnection: (s) => s.pipe(s) });
    try {
      const socket = knocker.socket({ knockPort: fake.knockPort });
      assert.ok(socket instanceof KnockingSocket);
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 1000);
      socket.write('early ');
      const connected = once(socket, 'connect');
      assert.equal(socket.connect(port, '127.0.0.1'), socket);
      assert.equal(socket.connecting, true);
      await connected;
      assert.equal(socket.connecting, false);
      assert.equal(socket.remotePort, port);
      socket.end('late');
      let echo = '';
      for await (const c of socket) echo += String(c);
      assert.equal(echo, 'early late');
      assert.equal(fake.received.length, 1);
      assert.equal(fake.connections, 1);
      assert.throws(() => socket.connect(port, '127.0.0.1'), (err: SknockClientError) => err.code === 'ERR_SKNOCK_INVALID_ARGUMENT');
    } finally {
      await fake.close();
    }
  });

  test('a port that never opens: the stream errors with the SDK error', async () => {
    const port = ports[4]!;
    const socket = knocker.socket({ timeout: 150, retries: 0, knockPort: 9 });
    socket.connect({ port, host: '127.0.0.1' });
    const [err] = (await once(socket, 'error')) as [SknockClientError];
    assert.equal(err.code, 'ERR_SKNOCK_PORT_NOT_OPENED');
    assert.equal(socket.destroyed, true);
  });
});
