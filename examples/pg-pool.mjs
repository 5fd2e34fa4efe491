#!/usr/bin/env node
/**
 * PostgreSQL through sKnock with `pg`: a `pg.Pool` whose every new connection knocks when
 * it needs to. pg's `stream` option is a factory, and pg calls `connect(port, host)` on
 * what it returns; `knocker.socket()` is a stream whose `connect()` goes through the
 * knocker (tries the port, knocks if it does not answer, relays over the connection that
 * answered). So a pool that opens a connection after the grant ran out knocks again by
 * itself, and connections already open stay up.
 *
 *   SKNOCK_HOST=db.example.org SKNOCK_PORT=5432 SKNOCK_PFX=me.pfx SKNOCK_PASSPHRASE=… \
 *   SKNOCK_SERVER_CERT=server.cer PGUSER=app PGPASSWORD=… PGDATABASE=app \
 *   node examples/pg-pool.mjs [rounds [pause-seconds]]
 *
 * Each round runs four queries at once (so the pool opens up to four connections), on top
 * of one connection held for the whole run; rounds are `pause-seconds` apart, and the pool
 * closes idle connections after one second, so a pause longer than the grant makes the
 * next round connect after the grant ran out.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createKnocker, isSknockClientError } from '@sknock/client';
import { clientFromEnv } from './lib/local-lab.mjs';

const [rounds = 1, pauseSeconds = 0] = process.argv.slice(2).map(Number);
const { host, port, knockOptions } = await clientFromEnv({ needs: 'a PostgreSQL server' });
const { pfx, passphrase, serverCertificate, ...knock } = knockOptions;
const knocker = await createKnocker({ pfx, passphrase, serverCertificate });

let connections = 0;
const pool = new pg.Pool({
  host,
  port,
  max: 4,
  idleTimeoutMillis: 1000,
  connectionTimeoutMillis: 15_000,
  // A new stream per connection; pg connects it to host:port itself.
  stream: () => {
    connections++;
    return knocker.socket(knock);
  },
});
pool.on('error', (err) => console.error(`pool: idle client error: ${err.message}`));

let ok = 0;
let failed = 0;
const held = await pool.connect(); // one connection kept for the whole run
try {
  const { rows } = await held.query('SELECT pg_backend_pid() AS pid');
  const heldPid = rows[0].pid;
  for (let round = 1; round <= rounds; round++) {
    if (round > 1) await sleep(pauseSeconds * 1000);
    const results = await Promise.allSettled(
      Array.from({ length: 4 }, (_, i) => pool.query('SELECT $1::int AS n, inet_client_addr()::text AS client, pg_backend_pid() AS pid', [i])),
    );
    const good = results.filter((r) => r.status === 'fulfilled' && r.value.rows[0].n !== undefined).length;
    for (const r of results) if (r.status === 'rejected') console.error(`round ${round}: ${isSknockClientError(r.reason) ? r.reason.code : 'error'}: ${r.reason.message}`);
    const still = await held.query('SELECT pg_backend_pid() AS pid');
    const heldOk = still.rows[0].pid === heldPid;
    ok += good + (heldOk ? 1 : 0);
    failed += 4 - good + (heldOk ? 0 : 1);
    console.log(`round ${round}: ${good}/4 pool queries ok; held connection (backend ${heldPid}) ${heldOk ? 'still answers' : 'LOST'}; connections opened so far: ${connections}`);
  }
} finally {
  held.release();
  await pool.end();
}
console.log(`pg: ${ok} queries ok, ${failed} failed, ${connections} connections opened`);
process.exitCode = failed === 0 ? 0 : 1;
