#!/usr/bin/env node
/**
 * node:http through sKnock: an `http.Agent` whose every new connection knocks when it needs
 * to (`createHttpAgent`). No re-knock timer to guess: a new connection first tries the port
 * (a grant may still run) and knocks only when it does not answer; a kept-alive connection
 * needs no grant at all (the server's firewall keeps established connections).
 *
 *   node examples/http-client.mjs        (a throwaway sKnock server + HTTP service on loopback)
 *   SKNOCK_HOST=… SKNOCK_PORT=… SKNOCK_PFX=… SKNOCK_PASSPHRASE=… SKNOCK_SERVER_CERT=… \
 *   node examples/http-client.mjs [requests [pause-seconds]]
 *                                        (your own server; GETs http://SKNOCK_HOST:SKNOCK_PORT/)
 */
import { subscribe } from 'node:diagnostics_channel';
import { get } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { CHANNEL_CONNECTED, CHANNEL_KNOCK_SENT, createHttpAgent, createKnocker } from '@sknock/client';
import { clientFromEnv } from './lib/local-lab.mjs';

const [requests = 3, pauseSeconds = 0] = process.argv.slice(2).map(Number);
const { host, port, knockOptions, lab } = await clientFromEnv({ service: 'http', log: console.log });
const { pfx, passphrase, serverCertificate, ...knock } = knockOptions;

// Credentials are loaded once; the agent knocks through this knocker.
const knocker = await createKnocker({ pfx, passphrase, serverCertificate });
// keepAlive: one connection carries the requests; `knock` holds connect() options (knockPort, grantSeconds, …).
const agent = createHttpAgent(knocker, { keepAlive: true, knock });

let knocks = 0;
let connections = 0;
subscribe(CHANNEL_KNOCK_SENT, () => knocks++);
subscribe(CHANNEL_CONNECTED, () => connections++); // the SDK never logs; it publishes what it does

function request(path) {
  return new Promise((resolve, reject) => {
    get({ host, port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', reject);
  });
}

try {
  for (let i = 0; i < requests; i++) {
    if (i > 0 && pauseSeconds > 0) await sleep(pauseSeconds * 1000);
    const path = ['/first', '/second', '/third'][i] ?? `/request-${i + 1}`;
    const { status, body } = await request(path);
    console.log(`GET ${path} → ${status} ${body}`);
  }
  console.log(`${requests} requests, ${knocks} knock${knocks === 1 ? '' : 's'} sent, ${connections} connection${connections === 1 ? '' : 's'}`);
} finally {
  agent.destroy();
  await lab?.close();
}
