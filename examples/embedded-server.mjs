#!/usr/bin/env node
/**
 * The sKnock daemon embedded in your own program, with a firewall back end of your own.
 *
 * `createServer()` does every check (CA chain, CRL, signature, timestamp window, replay,
 * grants in the certificate, source address); the back end only has to apply grants. This
 * one applies nothing: it prints the nftables commands it would run, and keeps the grants
 * in memory. Swap the printing for calls to your cloud's security-group API, a hardware
 * firewall, or a check inside your own proxy.
 *
 *   node examples/embedded-server.mjs
 *
 * It makes throwaway credentials, starts the server on 127.0.0.1, knocks at it once with
 * @sknock/client, and stops.
 */
import { knock } from '@sknock/client';
import { createServer } from '@sknock/server';
import { createCa, issueClientCertificate, issueServerCertificate } from '@sknock/ca';

/**
 * A FirewallBackend (see `FirewallBackend` in @sknock/server): setup, open, close, list,
 * teardown. `open()` must resolve only once the grant is in force, extend a grant that is
 * already open (never add it twice), and the back end closes grants when their time is up.
 * @implements {import('@sknock/server').FirewallBackend}
 */
class PrintingFirewall {
  name = 'printing';
  /** @type {Map<string, { grant: import('@sknock/server').Grant, expiresAt: number, timer: NodeJS.Timeout }>} */
  #grants = new Map();

  /** @param {import('@sknock/server').FirewallSetup} setup */
  async setup(setup) {
    this.#say(`setup: policy ${setup.policy}, knock port udp/${setup.knockPort}, ` +
      `always open: ${setup.emergencyAccessPorts.map((p) => `${p.protocol}/${p.port}`).join(', ') || 'nothing'}`);
    this.#say('  would run: nft add table inet example; nft add set inet example grants { type ipv4_addr . inet_proto . inet_service; flags timeout; } …');
  }

  /** @param {import('@sknock/server').Grant} grant @param {number} seconds */
  async open(grant, seconds) {
    const key = `${grant.address}|${grant.protocol}|${grant.port}`;
    const existing = this.#grants.get(key);
    const expiresAt = Math.max(existing?.expiresAt ?? 0, Date.now() + seconds * 1000);
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.#grants.delete(key);
      this.#say(`expired: ${grant.address} → ${grant.protocol}/${grant.port}`);
    }, expiresAt - Date.now());
    timer.unref();
    this.#grants.set(key, { grant, expiresAt, timer });
    this.#say(`${existing ? 'extend' : 'open'}: ${grant.address} → ${grant.protocol}/${grant.port} for ${seconds} s`);
    this.#say(`  would run: nft add element inet example grants { ${grant.address} . ${grant.protocol} . ${grant.port} timeout ${seconds}s }`);
  }

  /** @param {import('@sknock/server').Grant} grant */
  async close(grant) {
    const key = `${grant.address}|${grant.protocol}|${grant.port}`;
    clearTimeout(this.#grants.get(key)?.timer);
    this.#grants.delete(key);
    this.#say(`close: ${grant.address} → ${grant.protocol}/${grant.port}`);
  }

  async list() {
    return [...this.#grants.values()].map(({ grant, expiresAt }) => ({ ...grant, expiresAt }));
  }

  async teardown() {
    for (const { timer } of this.#grants.values()) clearTimeout(timer);
    this.#grants.clear();
    this.#say('teardown: would run: nft delete table inet example');
  }

  #say(text) {
    console.log(`[firewall] ${text}`);
  }
}

// Throwaway credentials. In production the server reads a PKCS#12 file instead
// (config `serverPFXFile`), made once with `sknock-ca issue-server`.
const ca = await createCa({ name: 'Embedded example CA', validityDays: 2 });
const serverCert = await issueServerCertificate(ca, { name: '127.0.0.1', validityDays: 1 });
const clientCert = await issueClientCertificate(ca, { name: 'carol', grants: [{ protocol: 'tcp', port: 8443 }], validityDays: 1 });

const server = createServer({
  // The same settings as config.ini, in camelCase; `config: '/etc/sknock/config.ini'` works too.
  config: { listenAddress: '127.0.0.1', portOpenDurationSeconds: 15, firewallPolicy: 'reject', emergencyAccessPorts: 'tcp/22' },
  credentials: { privateKey: serverCert.privateKey, certificate: serverCert.certificate, caCertificates: [ca.certificate] },
  firewall: new PrintingFirewall(),
  listenPort: 0, // any free port, for the example; the default is knockPort (62201)
  logger: false, // or a pino logger; the default logs JSON lines on stdout
});

// What happened, as events: knock, accept, open, close, reject, lost, reload, stopped.
server.on('accept', (e) => console.log(`[server] accepted ${e.subject} from ${e.source.address}: ${e.grant.protocol}/${e.grant.port}`));
server.on('reject', (e) => console.log(`[server] dropped a datagram from ${e.source.address}: ${e.code}`));
const opened = new Promise((resolve) => server.once('open', resolve));

const { address, port } = await server.start();
console.log(`[server] listening on ${address} udp/${port}`);

// A client knocks (verify: false: nothing listens on tcp/8443 here, so there is nothing to probe).
await knock({
  host: '127.0.0.1', port: 8443, knockPort: port, verify: false,
  credentials: { privateKey: clientCert.privateKey, certificate: clientCert.certificate },
  serverCertificate: serverCert.certificate,
});
await opened;
console.log(`[server] grants held: ${JSON.stringify(server.grants().map((g) => `${g.grant.address} ${g.grant.protocol}/${g.grant.port}`))}`);
console.log(`[server] stats: received ${server.stats().received}, accepted ${server.stats().accepted}`);

await server.stop(); // stops taking knocks and calls teardown()
