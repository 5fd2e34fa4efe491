#!/usr/bin/env node
/**
 * An HTTP client that knocks before its first request to an origin: `knockingFetch(url)`
 * works like `fetch(url)`. Credentials are loaded once (`createKnocker`); each origin is
 * knocked once, and again only when its grant may have run out.
 *
 *   node examples/http-client.mjs        (a throwaway sKnock server + HTTP service on loopback)
 *   SKNOCK_HOST=… SKNOCK_PORT=… SKNOCK_PFX=… SKNOCK_PASSPHRASE=… SKNOCK_SERVER_CERT=… \
 *   node examples/http-client.mjs         (your own server; fetches http://SKNOCK_HOST:SKNOCK_PORT/)
 */
import { createKnocker } from '@sknock/client';
import { clientFromEnv } from './lib/local-lab.mjs';

/**
 * Wraps `fetch` so that it knocks first.
 * @param {object} knockerOptions   pfx + passphrase (or key + certificate), serverCertificate
 * @param {object} [options]
 * @param {number} [options.reknockAfterMs]  knock again after this long (default 10 s: under
 *        the server's default 15 s grant; open keep-alive connections need no grant)
 * @param {object} [options.knockOptions]    extra knock() options (knockPort, timeout, …)
 */
async function createKnockingFetch(knockerOptions, { reknockAfterMs = 10_000, knockOptions = {} } = {}) {
  const knocker = await createKnocker(knockerOptions); // reads and checks the credentials once
  const knocks = new Map(); // origin → { at, done: Promise }

  function knockOnce(url) {
    const previous = knocks.get(url.origin);
    if (previous && Date.now() - previous.at < reknockAfterMs) return previous.done; // also shares a knock in flight
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const entry = { at: Date.now(), done: knocker.knock({ host: url.hostname, port, ...knockOptions }) };
    entry.done.catch(() => knocks.delete(url.origin)); // a failed knock is not remembered
    knocks.set(url.origin, entry);
    return entry.done;
  }

  return async function knockingFetch(input, init) {
    const url = new URL(input instanceof Request ? input.url : input);
    await knockOnce(url);
    return fetch(input, init);
  };
}

// ------------------------------------------------------------------------------------------
// Try it.

const { host, port, knockOptions, lab } = await clientFromEnv({ service: 'http', log: console.log });
const { pfx, passphrase, serverCertificate, ...rest } = knockOptions;
let knocks = 0;
const knockingFetch = await createKnockingFetch({ pfx, passphrase, serverCertificate }, { knockOptions: rest });
lab?.server.on('accept', () => knocks++); // lab only: count the knocks the server accepted

try {
  for (const path of ['/first', '/second', '/third']) {
    const response = await knockingFetch(`http://${host}:${port}${path}`);
    console.log(`GET ${path} → ${response.status} ${await response.text()}`);
  }
  if (lab) console.log(`three requests, ${knocks} knock${knocks === 1 ? '' : 's'} accepted by the server`);
} finally {
  await lab?.close();
}
