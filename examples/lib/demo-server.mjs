/**
 * The demo's server side: the sKnock daemon (`createServer` from @sknock/server) and a small
 * TCP "hello" service behind it.
 *
 * - `startServerSide(options)` runs both in this process (the demo's memory mode calls it).
 * - Run as a program (`node demo-server.mjs '<json options>'`, the demo starts it inside the
 *   server namespace), it prints one JSON line per event on stdout — `ready`, `accept`,
 *   `open`, `close`, `reject`, `stopped` — and stops cleanly (firewall table removed) on
 *   SIGTERM/SIGINT or when its standard input closes (the demo died).
 */
import { createServer as createTcpServer } from 'node:net';
import { pathToFileURL } from 'node:url';
import { createServer } from '@sknock/server';

/**
 * @param {object} options
 * @param {number} options.servicePort       the hidden TCP service's port
 * @param {string} [options.serviceHost]     address it binds (default all)
 * @param {object} options.config            createServer config (camelCase keys)
 * @param {object} [options.credentials]     in-memory server credentials, instead of config.serverPfxFile
 * @param {string|object} [options.firewall] 'nftables', 'memory', or a FirewallBackend
 * @param {number} [options.listenPort]      override config.knockPort (0: any free port)
 * @param {(address: string) => boolean} [options.gate]
 *        memory mode only: may this address use the service now? (the memory back end
 *        changes no firewall, so the service itself asks it and resets everyone else)
 * @param {(event: object) => void} options.onEvent
 */
export async function startServerSide({ servicePort, serviceHost, config, credentials, firewall, listenPort, gate, onEvent }) {
  const service = createTcpServer((socket) => {
    socket.on('error', () => {}); // probes hang up early; that is fine
    const who = socket.remoteAddress?.replace(/^::ffff:/, '') ?? '?';
    if (gate && !gate(who)) {
      socket.resetAndDestroy(); // TCP RST: "no grant for you"
      return;
    }
    socket.end(`hello ${who}, you reached the hidden service\n`);
  });
  await new Promise((resolve, reject) => {
    service.once('error', reject);
    service.listen(servicePort, serviceHost, resolve);
  });

  const server = createServer({
    config,
    ...(credentials ? { credentials } : {}),
    ...(firewall ? { firewall } : {}),
    ...(listenPort !== undefined ? { listenPort } : {}),
    logger: false, // the events below say what happens; `sknock-server` would log JSON with pino
  });
  server.on('accept', (e) =>
    onEvent({ event: 'accept', subject: e.subject, source: e.source.address, protocol: e.grant.protocol, port: e.grant.port, expiresAt: e.expiresAt }),
  );
  server.on('open', (e) => onEvent({ event: 'open', address: e.grant.address, protocol: e.grant.protocol, port: e.grant.port, expiresAt: e.expiresAt }));
  server.on('close', (e) => onEvent({ event: 'close', address: e.grant.address, protocol: e.grant.protocol, port: e.grant.port }));
  server.on('reject', (e) => onEvent({ event: 'reject', code: e.code, source: e.source.address, detail: e.detail }));
  try {
    const bound = await server.start();
    onEvent({ event: 'ready', knockPort: bound.port, servicePort: service.address().port, firewall: typeof firewall === 'object' ? firewall.name : firewall });
  } catch (err) {
    service.close();
    throw err;
  }
  return {
    server,
    service,
    async stop() {
      service.close();
      await server.stop(); // removes exactly what it added to the firewall
    },
  };
}

// ------------------------------------------------------------------------------------------
// As a program, inside the server namespace.

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const emit = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
  const options = JSON.parse(process.argv[2] ?? '{}');
  let side;
  let stopping = false;
  const stop = async (code) => {
    if (stopping) return;
    stopping = true;
    try {
      await side?.stop();
      emit({ event: 'stopped' });
    } catch (err) {
      emit({ event: 'error', message: `stop failed: ${err.message}` });
      code = 1;
    }
    process.exit(code);
  };
  process.on('SIGTERM', () => void stop(0));
  process.on('SIGINT', () => void stop(0));
  process.stdin.on('end', () => void stop(0)); // the demo went away
  process.stdin.resume();
  try {
    side = await startServerSide({ ...options, onEvent: emit });
  } catch (err) {
    emit({ event: 'error', message: err.message, code: err.code });
    process.exit(1);
  }
}
