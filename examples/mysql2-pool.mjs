#!/usr/bin/env node
/**
 * MySQL / MariaDB through sKnock with `mysql2`: a pool whose every new connection knocks
 * when it needs to. mysql2's `stream` option is a factory called with `{ config }`; it does
 * not connect the stream itself, so the recipe calls `connect(port, host)` on the
 * `knocker.socket()` it returns.
 *
 *   SKNOCK_HOST=db.example.org SKNOCK_PORT=3306 SKNOCK_PFX=me.pfx SKNOCK_PASSPHRASE=… \
 *   SKNOCK_SERVER_CERT=server.cer MYSQL_USER=app MYSQL_PASSWORD=… \
 *   node examples/mysql2-pool.mjs [rounds [pause-seconds]]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { createKnocker } from '@sknock/client';
import { clientFromEnv } from './lib/local-lab.mjs';

const [rounds = 1, pauseSeconds = 0] = process.argv.slice(2).map(Number);
const { host, port, knockOptions } = await clientFromEnv({ needs: 'a MySQL or MariaDB server' });
const { pfx, passphrase, serverCertificate, ...knock } = knockOptions;
const knocker = await createKnocker({ pfx, passphrase, serverCertificate });

let connections = 0;
const pool = mysql.createPool({
  host,
  port,
  user: process.env.MYSQL_USER,
  password: process.env.MYSQL_PASSWORD,
  connectionLimit: 4,
  maxIdle: 0, // close idle connections (after idleTimeout), so later rounds connect anew
  idleTimeout: 1000,
  connectTimeout: 15_000,
  stream: ({ config }) => {
    connections++;
    return knocker.socket(knock).connect(config.port, config.host);
  },
});

let ok = 0;
let failed = 0;
try {
  for (let round = 1; round <= rounds; round++) {
    if (round > 1) await sleep(pauseSeconds * 1000);
    const results = await Promise.allSettled(Array.from({ length: 4 }, (_, i) => pool.query('SELECT ? AS n, CONNECTION_ID() AS id', [i])));
    const good = results.filter((r) => r.status === 'fulfilled').length;
    for (const r of results) if (r.status === 'rejected') console.error(`round ${round}: ${r.reason.code ?? 'error'}: ${r.reason.message}`);
    ok += good;
    failed += 4 - good;
    console.log(`round ${round}: ${good}/4 queries ok; connections opened so far: ${connections}`);
  }
} finally {
  await pool.end();
}
console.log(`mysql2: ${ok} queries ok, ${failed} failed, ${connections} connections opened`);
process.exitCode = failed === 0 ? 0 : 1;
