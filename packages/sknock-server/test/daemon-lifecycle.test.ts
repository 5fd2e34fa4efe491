import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createCrl } from '@sknock/ca';
import { createServer, type RejectEvent } from '../src/daemon/server.js';
import type { GrantEvent } from '../src/daemon/grant-keeper.js';
import { MemoryFirewallBackend } from '../src/firewall/memory.js';
import { createLogger } from '../src/logging/create-logger.js';
import { knockFixtures, makeKnock, PFX_PASSWORD, type KnockFixtures } from './support/knock-fixtures.js';
import { recordingLogger } from './support/recording-logger.js';
import { nextEvent, sendOnce, waitUntil } from './support/udp.js';

/** Grant expiry (`close`), reload of the CRL and credentials, stop during start, log redaction. */

let f: KnockFixtures;
let dir: string;

before(async () => {
  f = await knockFixtures();
  dir = mkdtempSync(join(tmpdir(), 'sknock-lifecycle-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('daemon lifecycle', () => {
  it('emits close when a grant runs out, and forgets it', async () => {
    const firewall = new MemoryFirewallBackend();
    const server = createServer({
      credentials: f.server,
      config: { listenAddress: '127.0.0.1', portOpenDurationSeconds: 1 },
      firewall,
      logger: false,
      listenPort: 0,
    });
    const { port } = await server.start();
    try {
      const opened = nextEvent<GrantEvent>(server, 'open');
      await sendOnce(makeKnock(f, f.alice), port);
      const o = await opened;
      const closed = await nextEvent<GrantEvent>(server, 'close', () => true, 4000);
      assert.deepEqual(closed.grant, o.grant);
      assert.ok(Date.now() >= o.expiresAt);
      assert.equal(server.grants().length, 0);
      assert.equal(firewall.isAllowed('127.0.0.1', 'tcp', 2000), false, 'the back end expired it too');
    } finally {
      await server.stop();
    }
  });

  it('reload() re-reads the CRL file: a certificate revoked since is refused', async () => {
    const crlFile = join(dir, 'reload-crl.der');
    writeFileSync(crlFile, f.emptyCrl);
    const logger = recordingLogger();
    const server = createServer({ credentials: f.server, config: { listenAddress: '127.0.0.1', crlFile }, logger, firewall: 'memory', listenPort: 0 });
    const { port } = await server.start();
    try {
      const opened = nextEvent<GrantEvent>(server, 'open');
      await sendOnce(makeKnock(f, f.bob, { port: 4000 }), port);
      await opened;
      writeFileSync(crlFile, await createCrl(f.ca, { revoked: [{ serial: f.bob.serial, date: new Date() }], crlNumber: 5 }));
      const reloaded = nextEvent(server, 'reload');
      await server.reload();
      await reloaded;
      assert.ok(logger.records.some((r) => r.fields.event === 'reload' && r.msg === 'configuration reloaded'));
      const revoked = nextEvent<RejectEvent>(server, 'reject', (e) => e.code === 'revoked');
      await sendOnce(makeKnock(f, f.bob, { port: 4000 }), port);
      await revoked;
      // a CRL file that no longer parses keeps the good one in force
      writeFileSync(crlFile, 'not a CRL');
      await server.reload();
      const still = nextEvent<RejectEvent>(server, 'reject', (e) => e.code === 'revoked');
      await sendOnce(makeKnock(f, f.bob, { port: 4000 }), port);
      await still;
    } finally {
      await server.stop();
    }
  });

  it('a failed reload keeps the configuration in force', async () => {
    const pfx = join(dir, 'server.pfx');
    writeFileSync(pfx, f.serverPfx);
    const config = join(dir, 'reload.ini');
    const write = (password: string): void =>
      writeFileSync(config, `[DEFAULT]\nserverPFXFile = server.pfx\nPFXPasswd = ${password}\nlistenAddress = 127.0.0.1\nfirewallBackend = memory\n`);
    write(PFX_PASSWORD);
    const logger = recordingLogger();
    const server = createServer({ config, logger, listenPort: 0 });
    const { port } = await server.start();
    try {
      write('wrong');
      await assert.rejects(server.reload(), /serverPFXFile .* password/);
      assert.ok(logger.records.some((r) => r.level === 'error' && r.fields.event === 'reload'));
      const opened = nextEvent<GrantEvent>(server, 'open');
      await sendOnce(makeKnock(f, f.alice), port);
      await opened;
    } finally {
      await server.stop();
    }
  });

  it('stop() during start() lets the start finish and undoes it', async () => {
    const firewall = new MemoryFirewallBackend();
    const server = createServer({ credentials: f.server, config: { listenAddress: '127.0.0.1' }, firewall, logger: false, listenPort: 0 });
    const starting = server.start();
    const stopping = server.stop();
    await starting;
    await stopping;
    assert.equal(server.state, 'stopped');
    assert.equal(server.address(), undefined);
    assert.deepEqual(firewall.events.map((e) => e.type), ['setup', 'teardown']);
    await assert.rejects(server.reload(), (err: Error & { code?: string }) => err.code === 'ERR_SKNOCK_STATE');
  });

  it('a listener that throws is logged and the daemon goes on', async () => {
    const logger = recordingLogger();
    const server = createServer({ credentials: f.server, config: { listenAddress: '127.0.0.1' }, firewall: 'memory', logger, listenPort: 0 });
    const { port } = await server.start();
    try {
      server.on('open', () => {
        throw new Error('listener bug');
      });
      server.on('reject', () => {
        throw new Error('listener bug');
      });
      await sendOnce(new Uint8Array(900).fill(1), port);
      await sendOnce(makeKnock(f, f.alice), port);
      await waitUntil(() => server.grants().length === 1, 3000, 'first grant');
      await sendOnce(makeKnock(f, f.alice, { port: 3000 }), port);
      await waitUntil(() => server.grants().length === 2, 3000, 'second grant');
      assert.equal(server.stats().accepted, 2);
      assert.equal(server.grants().length, 2);
      assert.ok(logger.records.filter((r) => r.level === 'error' && /listener threw/.test(r.msg ?? '')).length >= 2);
      assert.equal(server.state, 'running');
    } finally {
      await server.stop();
    }
  });

  it('the logger redacts secrets wherever they appear', () => {
    let out = '';
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        out += chunk.toString();
        done();
      },
    });
    const log = createLogger({ destination });
    log.info({ pfxPassword: 'hunter2', config: { PFXPasswd: 'hunter3', passphrase: 'hunter4', knockPort: 62201 }, privateKey: 'k' }, 'config');
    assert.doesNotMatch(out, /hunter/);
    assert.match(out, /\[redacted\]/);
    assert.match(out, /"knockPort":62201/);
    assert.match(out, /"level":"info"/);
  });
});
