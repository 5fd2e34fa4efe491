#!/usr/bin/env node
/**
 * A throwaway sKnock server on loopback, for trying the client side by hand: the daemon with
 * the in-memory firewall back end (it records grants, blocks nothing), an echo service on
 * a free TCP port, and client credentials written to a temporary folder.
 *
 *   node examples/local-server.mjs              prints the environment for the client examples
 *   node examples/local-server.mjs --json       one JSON line with the same, then one per event
 *
 * Then, in another shell, with those variables set:
 *   node examples/knock-then-connect.mjs
 *   sknock knock "$SKNOCK_HOST" -p "$SKNOCK_PORT" --knock-port "$SKNOCK_KNOCK_PORT" \
 *     --pfx "$SKNOCK_PFX" --passphrase-env SKNOCK_PASSPHRASE --server-cert "$SKNOCK_SERVER_CERT"
 *   echo hello | examples/ssh-proxycommand.sh "$SKNOCK_HOST" "$SKNOCK_PORT"
 *
 * Stops on Ctrl-C (or when its standard input closes, with --json) and deletes the folder.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalLab } from './lib/local-lab.mjs';

const json = process.argv.includes('--json');
const lab = await startLocalLab({ service: 'echo' });

const dir = mkdtempSync(join(tmpdir(), 'sknock-local-'));
const write = (name, bytes) => {
  writeFileSync(join(dir, name), bytes, { mode: 0o600 });
  return join(dir, name);
};
const env = {
  SKNOCK_HOST: lab.host,
  SKNOCK_PORT: String(lab.servicePort),
  SKNOCK_KNOCK_PORT: String(lab.knockPort),
  SKNOCK_PFX: write('client.pfx', lab.credentials.pfx),
  SKNOCK_PASSPHRASE: lab.credentials.passphrase,
  SKNOCK_PASSPHRASE_FILE: write('client.pass', `${lab.credentials.passphrase}\n`),
  SKNOCK_SERVER_CERT: write('server.cer', lab.credentials.serverCertificate),
};

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await lab.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

if (json) {
  const emit = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
  lab.server.on('open', (e) => emit({ event: 'open', address: e.grant.address, protocol: e.grant.protocol, port: e.grant.port }));
  lab.server.on('reject', (e) => emit({ event: 'reject', code: e.code, source: e.source.address }));
  emit({ event: 'ready', env });
  process.stdin.on('end', stop);
  process.stdin.resume();
} else {
  console.log(`sKnock server on ${lab.host} udp/${lab.knockPort} (memory firewall back end); echo service on tcp/${lab.servicePort}.`);
  console.log('Client settings (paste into another shell):\n');
  for (const [key, value] of Object.entries(env)) console.log(`export ${key}='${value}'`);
  console.log('\nKnocks it accepts are shown below. Ctrl-C stops it.');
  lab.server.on('open', (e) => console.log(`grant: ${e.grant.address} → ${e.grant.protocol}/${e.grant.port}`));
  lab.server.on('reject', (e) => console.log(`dropped a datagram from ${e.source.address}: ${e.code}`));
}
