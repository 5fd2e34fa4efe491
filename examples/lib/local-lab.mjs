/**
 * A throwaway sKnock server on loopback, so that every example runs anywhere without setup:
 * a fresh CA, server and client credentials (made with `@sknock/ca`), the daemon
 * (`createServer`) with the in-memory firewall back end on 127.0.0.1, and optionally a
 * small service to knock for.
 *
 * The memory back end records grants but blocks nothing (a real deployment uses nftables
 * or iptables; see demo.mjs for one in network namespaces), so the lab stands in for the
 * firewall itself: the service listens only while a grant for its port is open, and a
 * connection before the knock or after the grant ran out is refused, as a firewall with
 * policy `reject` would (connections already made stay up, as conntrack keeps them).
 * `lab.firewall.isAllowed()` tells whether a grant is open.
 *
 * `clientFromEnv()` is what the client examples call: with SKNOCK_HOST set it returns your
 * real server's settings from the environment, otherwise it starts a lab.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { once } from 'node:events';
import { loadCredentials } from '@sknock/protocol';
import { createServer, MemoryFirewallBackend } from '@sknock/server';
import { createCa, issueClientCertificate, issueServerCertificate } from '@sknock/ca';

const PASSPHRASE = 'example-only';

/**
 * The service a lab hides: `hello` (one line), `echo` (echoes) or `http` (answers JSON), on a
 * free port that it listens on only between `open()` and `close()`.
 */
async function startService(kind) {
  const server =
    kind === 'http'
      ? createHttpServer((req, res) => {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ path: req.url, from: req.socket.remoteAddress, message: 'hello from behind the knock' }));
        })
      : createTcpServer((socket) => {
          socket.on('error', () => {});
          if (kind === 'echo') socket.pipe(socket);
          else socket.end(`hello ${socket.remoteAddress}, you reached the hidden service\n`);
        });
  // A free port, kept for the service; it listens there only while a grant is open.
  const probe = createTcpServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = probe.address().port;
  await new Promise((resolve) => probe.close(resolve));
  let listening;
  return {
    port,
    async open() {
      listening ??= new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', resolve);
      });
      await listening;
    },
    /** Stops taking new connections; the ones made stay up (closeAll: end those too). */
    async close({ closeAll = false } = {}) {
      const was = listening;
      listening = undefined;
      if (was === undefined) return;
      await was;
      if (closeAll && typeof server.closeAllConnections === 'function') server.closeAllConnections();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * @param {object} [options]
 * @param {'hello'|'echo'|'http'|'none'} [options.service] default 'hello'
 * @param {number} [options.durationSeconds] PORT_OPEN_DURATION_IN_SECONDS, default 15
 * @param {(line: string) => void} [options.log] where the lab says what it does (default: nothing)
 */
export async function startLocalLab({ service = 'hello', durationSeconds = 15, log = () => {} } = {}) {
  const svc = service === 'none' ? undefined : await startService(service);
  const servicePort = svc?.port ?? 2000;

  // Credentials: a CA, a server certificate, and a client certificate that grants the
  // service's port (the grants live inside the client certificate).
  const ca = await createCa({ name: 'Example CA', validityDays: 2 });
  const serverCert = await issueServerCertificate(ca, { name: '127.0.0.1', validityDays: 1, pkcs12: { passphrase: PASSPHRASE } });
  const clientCert = await issueClientCertificate(ca, {
    name: 'example-client',
    grants: [{ protocol: 'tcp', port: servicePort }],
    validityDays: 1,
    pkcs12: { passphrase: PASSPHRASE },
  });

  const firewall = new MemoryFirewallBackend();
  const server = createServer({
    config: { listenAddress: '127.0.0.1', portOpenDurationSeconds: durationSeconds, anyPortKnocks: false },
    credentials: await loadCredentials({ pfx: serverCert.pfx, passphrase: PASSPHRASE }),
    firewall,
    listenPort: 0, // any free UDP port; knocks must name it (knockPort), as no firewall redirects them
    logger: false,
  });
  server.on('open', (e) => {
    log(`[lab server] grant: ${e.grant.address} → ${e.grant.protocol}/${e.grant.port} for ${durationSeconds} s`);
    if (e.grant.protocol === 'tcp' && e.grant.port === servicePort) void svc?.open();
  });
  server.on('close', (e) => {
    const forService = (g) => g.grant.protocol === 'tcp' && g.grant.port === servicePort;
    if (forService(e) && !server.grants().some(forService)) void svc?.close();
  });
  server.on('reject', (e) => log(`[lab server] dropped a datagram from ${e.source.address}: ${e.code}`));
  const { port: knockPort } = await server.start();
  log(`[lab server] sKnock server on 127.0.0.1 udp/${knockPort} (memory firewall back end), service on tcp/${servicePort}`);

  return {
    host: '127.0.0.1',
    servicePort,
    knockPort,
    /** Client-side settings: pass them to knock() / createKnocker(). */
    credentials: { pfx: clientCert.pfx, passphrase: PASSPHRASE, serverCertificate: serverCert.certificate },
    /** The raw material, for examples that write files. */
    ca,
    serverCert,
    clientCert,
    firewall,
    server,
    async close() {
      await server.stop();
      await svc?.close({ closeAll: true });
    },
  };
}

/**
 * Where a client example knocks. With SKNOCK_HOST set, your own server:
 *
 *   SKNOCK_HOST, SKNOCK_PORT          the host and the port to open
 *   SKNOCK_PFX                        your PKCS#12 file
 *   SKNOCK_PASSPHRASE                 its password (or SKNOCK_PASSPHRASE_FILE: first line of that file)
 *   SKNOCK_SERVER_CERT                the server's certificate (DER or PEM)
 *   SKNOCK_KNOCK_PORT                 optional: the server's knock port (default any port)
 *
 *   SKNOCK_GRANT_SECONDS              optional: the server's grant duration (PORT_OPEN_DURATION_IN_SECONDS)
 *
 * Otherwise a lab from `startLocalLab({ service })`; with `needs` (what the example needs
 * that a lab has not, e.g. 'a PostgreSQL server'), no lab: it throws, saying what to set.
 * @returns {Promise<{ host: string, port: number, knockOptions: object, lab?: object }>}
 */
export async function clientFromEnv({ service = 'hello', log, needs } = {}) {
  const env = process.env;
  if (!env.SKNOCK_HOST && needs) {
    throw new Error(`this example needs ${needs} behind an sKnock server: set SKNOCK_HOST, SKNOCK_PORT, SKNOCK_PFX, SKNOCK_PASSPHRASE (or SKNOCK_PASSPHRASE_FILE) and SKNOCK_SERVER_CERT`);
  }
  if (!env.SKNOCK_HOST) {
    const lab = await startLocalLab({ service, log });
    return {
      host: lab.host,
      port: lab.servicePort,
      knockOptions: { ...lab.credentials, knockPort: lab.knockPort, grantSeconds: 15 },
      lab,
    };
  }
  for (const name of ['SKNOCK_PORT', 'SKNOCK_PFX', 'SKNOCK_SERVER_CERT']) {
    if (env[name] === undefined) throw new Error(`SKNOCK_HOST is set, so ${name} must be set too`);
  }
  let passphrase = env.SKNOCK_PASSPHRASE;
  if (passphrase === undefined && env.SKNOCK_PASSPHRASE_FILE) passphrase = readFileSync(env.SKNOCK_PASSPHRASE_FILE, 'utf8').split(/\r?\n/)[0];
  if (passphrase === undefined) throw new Error('SKNOCK_HOST is set, so SKNOCK_PASSPHRASE or SKNOCK_PASSPHRASE_FILE must be set too');
  return {
    host: env.SKNOCK_HOST,
    port: Number(env.SKNOCK_PORT),
    knockOptions: {
      pfx: env.SKNOCK_PFX, // a path: the SDK reads the file
      passphrase,
      serverCertificate: env.SKNOCK_SERVER_CERT,
      ...(env.SKNOCK_KNOCK_PORT ? { knockPort: Number(env.SKNOCK_KNOCK_PORT) } : {}),
      ...(env.SKNOCK_GRANT_SECONDS ? { grantSeconds: Number(env.SKNOCK_GRANT_SECONDS) } : {}),
    },
  };
}
