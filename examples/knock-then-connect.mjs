#!/usr/bin/env node
/**
 * Knock, then connect over TCP: what any app does to reach a service hidden by sKnock.
 *
 *   node examples/knock-then-connect.mjs
 *       starts a throwaway sKnock server on loopback (lib/local-lab.mjs) and knocks there;
 *   SKNOCK_HOST=db.example.org SKNOCK_PORT=5432 SKNOCK_PFX=me.pfx SKNOCK_PASSPHRASE=… \
 *   SKNOCK_SERVER_CERT=server.cer node examples/knock-then-connect.mjs
 *       knocks at your own server.
 */
import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { isSknockClientError, knock } from '@sknock/client';
import { clientFromEnv } from './lib/local-lab.mjs';

const { host, port, knockOptions, lab } = await clientFromEnv({ service: 'hello', log: console.log });

try {
  // 1. Knock. One encrypted, signed UDP datagram; `knock()` resolves once the port answers
  //    (it tries TCP connections, and resets the one that answers), and retries with a fresh
  //    packet if it does not. To get that connection instead of making a second one, and to
  //    knock only when needed, use `connect()` from @sknock/client.
  const result = await knock({ host, port, ...knockOptions, timeout: 10_000 });
  console.log(`knocked: tcp/${result.port} on ${result.address} is open for ${result.sourceAddress}` +
    ` after ${Math.round(result.elapsedMs)} ms (${result.attempts} knock${result.attempts > 1 ? 's' : ''})`);

  // 2. Connect. The grant lasts the server's PORT_OPEN_DURATION (15 s by default) and is
  //    needed only to open connections: this one may stay up as long as it likes.
  const socket = connect({ host: result.address, port });
  await once(socket, 'connect');
  console.log(`connected to ${result.address}:${port}`);
  // Show the service's greeting, if it sends one within a second, then hang up.
  const greeting = await Promise.race([once(socket, 'data').then(([data]) => String(data).trim()), sleep(1000, '(nothing)', { ref: false })]);
  console.log(`the service says: ${greeting}`);
  socket.destroy();
} catch (err) {
  // Every failure of knock() is a SknockClientError with a stable code.
  if (!isSknockClientError(err)) throw err;
  console.error(`knock failed (${err.code}): ${err.message}`);
  process.exitCode = 1;
} finally {
  await lab?.close();
}
