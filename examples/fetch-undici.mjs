#!/usr/bin/env node
/**
 * `fetch` through sKnock: an undici `Agent` whose connections knock when they need to
 * (`createUndiciConnect`), installed with `setGlobalDispatcher`, so Node's global `fetch`
 * (undici inside) uses it too. undici is your dependency, not the SDK's: on Node 20 use
 * undici 7 (undici 8 needs Node 22.19; Node 20's own fetch takes an undici 7 dispatcher).
 *
 *   node examples/fetch-undici.mjs       (a throwaway sKnock server + HTTP service on loopback)
 *   SKNOCK_HOST=… SKNOCK_PORT=… SKNOCK_PFX=… SKNOCK_PASSPHRASE=… SKNOCK_SERVER_CERT=… \
 *   node examples/fetch-undici.mjs [requests [pause-seconds]]
 */
import { subscribe } from 'node:diagnostics_channel';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, setGlobalDispatcher } from 'undici';
import { CHANNEL_CONNECTED, CHANNEL_KNOCK_SENT, createKnocker, createUndiciConnect } from '@sknock/client';
import { clientFromEnv } from './lib/local-lab.mjs';

const [requests = 3, pauseSeconds = 0] = process.argv.slice(2).map(Number);
const { host, port, knockOptions, lab } = await clientFromEnv({ service: 'http', log: console.log });
const { pfx, passphrase, serverCertificate, ...knock } = knockOptions;

const knocker = await createKnocker({ pfx, passphrase, serverCertificate });
const dispatcher = new Agent({ connect: createUndiciConnect(knocker, { knock }) });
setGlobalDispatcher(dispatcher); // from now on the global fetch knocks when it must

let knocks = 0;
let connections = 0;
subscribe(CHANNEL_KNOCK_SENT, () => knocks++);
subscribe(CHANNEL_CONNECTED, () => connections++);

try {
  for (let i = 0; i < requests; i++) {
    if (i > 0 && pauseSeconds > 0) await sleep(pauseSeconds * 1000);
    const path = ['/first', '/second', '/third'][i] ?? `/request-${i + 1}`;
    const response = await fetch(`http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`);
    console.log(`fetch ${path} → ${response.status} ${await response.text()}`);
  }
  console.log(`${requests} requests, ${knocks} knock${knocks === 1 ? '' : 's'} sent, ${connections} connection${connections === 1 ? '' : 's'}`);
} finally {
  await dispatcher.close();
  await lab?.close();
}
