import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SknockClientError, knock } from '../src/index.js';
import { FakeKnockServer, freePort } from './support/knock-server.js';
import { TestCa, type TestIdentity } from './support/pki.js';
import { lacking, runtime, scriptCommand } from './support/runtime.js';

/**
 * Name resolution and routes: a name resolves once (family 4/6), a name that does not resolve rejects
 * with ERR_SKNOCK_RESOLVE_FAILED and no route gives ERR_SKNOCK_SEND_FAILED (checked inside a network namespace of its own, so that no
 * query leaves the machine), and a resolver slower than `timeout` gives ERR_SKNOCK_TIMEOUT.
 */

let server: TestIdentity;
let client: TestIdentity;
let port: number;

before(async () => {
  port = await freePort('127.0.0.1');
  const ca = await TestCa.create();
  [server, client] = await Promise.all([ca.issue({ name: 'server' }), ca.issue({ name: 'client', grants: [{ protocol: 'tcp', port }] })]);
});

test('a host name is resolved with dns.lookup (family 4)', async () => {
  const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port });
  try {
    const result = await knock({
      credentials: { privateKey: client.privateKey, certificate: client.certificate },
      serverCertificate: server.certificate,
      host: 'localhost',
      family: 4,
      port,
      knockPort: fake.knockPort,
    });
    assert.equal(result.address, '127.0.0.1');
    assert.equal(result.sourceAddress, '127.0.0.1');
  } finally {
    await fake.close();
  }
});

function canUnshare(): boolean {
  return spawnSync('unshare', ['-n', 'true']).status === 0;
}

test('a name that does not resolve: ERR_SKNOCK_RESOLVE_FAILED (in an empty network namespace)', (t) => {
  if (!canUnshare()) {
    if (process.env['CI'] === 'true') assert.fail('unshare -n is needed for this test on CI');
    t.skip('unshare -n not permitted here (needs root)');
    return;
  }
  const child = fileURLToPath(new URL('./support/knock-child.js', import.meta.url));
  const options = {
    key: client.keyPem,
    certificate: client.certificatePem,
    serverCertificate: server.certificatePem,
    host: 'no-such-host.sknock.invalid',
    port,
    timeout: 5000,
  };
  const out = execFileSync('unshare', ['-n', ...scriptCommand(child, [JSON.stringify(options)])], { encoding: 'utf8', timeout: 20_000 });
  const outcome = JSON.parse(out) as { ok: boolean; code?: string; message?: string };
  assert.equal(outcome.ok, false);
  assert.equal(outcome.code, 'ERR_SKNOCK_RESOLVE_FAILED', outcome.message);
  assert.match(outcome.message ?? '', /no-such-host\.sknock\.invalid/);
});

const noLibuvPool = lacking({
  deno: "the test delays dns.lookup by filling libuv's thread pool with FIFO opens; Deno resolves names elsewhere",
  bun: "the test delays dns.lookup by filling libuv's thread pool with FIFO opens, which Bun does not have; there the test hung in 3 of 6 tries (Bun 1.4.5)",
});
test('a resolver slower than timeout: ERR_SKNOCK_TIMEOUT with no knock sent', { skip: noLibuvPool }, async () => {
  // dns.lookup runs on libuv's thread pool: fill the pool with opens of a FIFO that nobody
  // writes (they wait without using CPU), so the lookup queues behind them.
  const dir = await mkdtemp(join(tmpdir(), 'sknock-client-fifo-'));
  const fifo = join(dir, 'block');
  execFileSync('mkfifo', [fifo]);
  const poolSize = Number(process.env['UV_THREADPOOL_SIZE'] ?? 4);
  const blockers: Promise<FileHandle>[] = [];
  for (let i = 0; i < poolSize; i++) blockers.push(open(fifo, 'r'));
  try {
    const t0 = performance.now();
    const err = await knock({
      credentials: { privateKey: client.privateKey, certificate: client.certificate },
      serverCertificate: server.certificate,
      host: 'localhost',
      port,
      timeout: 80,
    }).then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e,
    );
    const took = performance.now() - t0;
    assert.ok(err instanceof SknockClientError);
    assert.equal(err.code, 'ERR_SKNOCK_TIMEOUT', err.message);
    assert.equal(err.attempts, 0);
    assert.ok(took >= 75 && took < 1000, `took ${took} ms`);
  } finally {
    // Release the pool: a writer that opens without blocking lets every waiting reader go.
    let released = 0;
    const end = performance.now() + 5000;
    while (released < poolSize && performance.now() < end) {
      try {
        closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
        released++;
      } catch {
        await new Promise((r) => setTimeout(r, 5)); // ENXIO: no reader waiting yet
      }
    }
    for (const h of await Promise.all(blockers)) await h.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('no route (an empty network namespace, loopback down): ERR_SKNOCK_SEND_FAILED', (t) => {
  if (!canUnshare()) {
    if (process.env['CI'] === 'true') assert.fail('unshare -n is needed for this test on CI');
    t.skip('unshare -n not permitted here (needs root)');
    return;
  }
  const child = fileURLToPath(new URL('./support/knock-child.js', import.meta.url));
  const base = { key: client.keyPem, certificate: client.certificatePem, serverCertificate: server.certificatePem, host: '127.0.0.1', port, timeout: 2000 };
  for (const [options, message] of [
    [base, /source address.*ENETUNREACH/],
    // Deno's node:dgram reports every failed send as UNKNOWN: the errno name is lost there.
    [{ ...base, sourceAddress: '127.0.0.1' }, new RegExp(`cannot send the knock to 127\\.0\\.0\\.1 port \\d+: ${runtime === 'deno' ? 'UNKNOWN' : 'ENETUNREACH'}`)],
  ] as const) {
    const out = execFileSync('unshare', ['-n', ...scriptCommand(child, [JSON.stringify(options)])], { encoding: 'utf8', timeout: 20_000 });
    const outcome = JSON.parse(out) as { ok: boolean; code?: string; message?: string };
    assert.equal(outcome.code, 'ERR_SKNOCK_SEND_FAILED', outcome.message);
    assert.match(outcome.message ?? '', message);
  }
});
