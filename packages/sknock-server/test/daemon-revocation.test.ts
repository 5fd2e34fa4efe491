/**
 * A revocation closes the grants it covers: the daemon with the memory back end, a crlFile,
 * reload() (SIGHUP). Grants are an hour long here, so a grant that closes does so because of
 * the CRL, not its time.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeCrlPem, issueClientCertificate } from '@sknock/ca';
import { createServer } from '../src/daemon/server.js';
import type { GrantEvent } from '../src/daemon/grant-keeper.js';
import { MemoryFirewallBackend } from '../src/firewall/memory.js';
import { createKnockPacket } from '@sknock/protocol';
import type { TestClient } from './support/knock-fixtures.js';
import { recordingLogger, type RecordingLogger } from './support/recording-logger.js';
import { crlOf, GRANTS, makeTwoCaPki, type TwoCaPki } from './support/two-ca-pki.js';
import { nextEvent, sendOnce, waitUntil } from './support/udp.js';

let pki: TwoCaPki;
let dir: string;
let carol: TestClient;

before(async () => {
  pki = await makeTwoCaPki();
  const issued = await issueClientCertificate(pki.one, { name: 'carol', grants: GRANTS });
  carol = { name: 'carol', privateKey: issued.privateKey, certificate: issued.certificate, serial: issued.serial };
  dir = mkdtempSync(join(tmpdir(), 'sknock-revocation-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A knock from `who` for tcp/2000, bound to 127.0.0.1. */
function knockFrom(who: TestClient): Uint8Array {
  return createKnockPacket({
    credentials: { privateKey: who.privateKey, certificate: who.certificate },
    serverCertificate: pki.server.certificate,
    protocol: 'tcp',
    port: 2000,
    address: '127.0.0.1',
  });
}

async function daemon(name: string, crl: Uint8Array | string) {
  const crlFile = join(dir, `${name}.pem`);
  const caFile = join(dir, `${name}-ca.pem`);
  writeFileSync(crlFile, crl);
  writeFileSync(caFile, pki.caFilePem);
  const firewall = new MemoryFirewallBackend();
  const logger = recordingLogger();
  const server = createServer({
    credentials: pki.server,
    config: { listenAddress: '127.0.0.1', crlFile, caFile, portOpenDurationSeconds: 3600 },
    firewall,
    logger,
    listenPort: 0,
  });
  const { port } = await server.start();
  return {
    server,
    firewall,
    logger,
    async knock(who: TestClient) {
      const opened = nextEvent<GrantEvent>(server, 'open', (e) => e.subject === `CN=${who.name}`);
      await sendOnce(knockFrom(who), port);
      return opened;
    },
    async publish(contents: Uint8Array | string) {
      writeFileSync(crlFile, contents);
      await server.reload();
    },
  };
}

function closures(log: RecordingLogger): Array<Record<string, unknown>> {
  return log.records.filter((r) => r.level === 'warn' && r.fields['event'] === 'close' && r.fields['reason'] === 'revoked').map((r) => ({ ...r.fields, msg: r.msg }));
}

describe('a revocation closes the grants already open', () => {
  it('a CRL revoking alice, taken on reload, closes her grant at once and logs it', async () => {
    const d = await daemon('leaf', await crlOf(pki.one, 1, []));
    try {
      const opened = await d.knock(pki.alice);
      assert.ok(opened.expiresAt - Date.now() > 3_000_000, 'an hour-long grant');
      assert.equal(d.firewall.isAllowed('127.0.0.1', 'tcp', 2000), true);
      const closed = nextEvent<GrantEvent & { reason?: string }>(d.server, 'close', () => true, 2000);
      const startedAt = Date.now();
      await d.publish(await crlOf(pki.one, 2, [pki.alice.serial]));
      const event = await closed;
      assert.equal(event.reason, 'revoked');
      assert.ok(Date.now() - startedAt < 2000, 'at once, not at expiry');
      await waitUntil(() => !d.firewall.isAllowed('127.0.0.1', 'tcp', 2000), 2000, 'the back end to close the grant');
      assert.ok(d.firewall.events.some((e) => e.type === 'close'), 'closed through FirewallBackend.close');
      assert.deepEqual(d.server.grants(), []);
      const [line, ...more] = closures(d.logger);
      assert.equal(more.length, 0);
      assert.ok(line, 'the closure is logged at warn');
      assert.equal(line['subject'], 'CN=alice');
      assert.equal(line['serial'], pki.alice.serial.replace(/^0+/, ''));
      assert.equal(line['issuer'], 'CN=Trust CA One');
      assert.deepEqual(line['grant'], { address: '127.0.0.1', family: 4, protocol: 'tcp', port: 2000 });
      assert.match(String(line['msg']), /grant closed at once: its certificate is revoked/);
      assert.equal(d.server.stats().grants.revoked, 1);
    } finally {
      await d.server.stop();
    }
  });

  it('the root\'s CRL revoking the intermediate closes the grant of a certificate that chains through it', async () => {
    const d = await daemon('intermediate', encodeCrlPem(await crlOf(pki.one, 1, [])) + encodeCrlPem(await crlOf(pki.issuing, 1, [])));
    try {
      await d.knock(pki.dave);
      const closed = nextEvent<GrantEvent>(d.server, 'close', () => true, 2000);
      await d.publish(await crlOf(pki.one, 2, [pki.issuing.serial]));
      assert.equal((await closed).subject, 'CN=dave');
      await waitUntil(() => !d.firewall.isAllowed('127.0.0.1', 'tcp', 2000), 2000, 'the back end to close the grant');
      const [line] = closures(d.logger);
      assert.equal(line?.['subject'], 'CN=dave');
      assert.equal(line?.['issuer'], 'CN=Trust Issuing CA');
      assert.equal(line?.['revokedCa'], 'CN=Trust Issuing CA');
      assert.match(String(line?.['msg']), /issuing CA 'CN=Trust Issuing CA' of its certificate is revoked/);
    } finally {
      await d.server.stop();
    }
  });

  it('a CRL of another CA, or one revoking someone else, closes nothing', async () => {
    const d = await daemon('other', encodeCrlPem(await crlOf(pki.one, 1, [])) + encodeCrlPem(await crlOf(pki.two, 1, [])));
    try {
      await d.knock(pki.alice);
      // CA Two revokes a certificate with alice's serial, and CA One revokes bob's serial: neither is alice.
      await d.publish(encodeCrlPem(await crlOf(pki.two, 2, [pki.alice.serial])) + encodeCrlPem(await crlOf(pki.one, 2, [pki.bob.serial])));
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(d.firewall.isAllowed('127.0.0.1', 'tcp', 2000), true);
      assert.equal(d.server.grants().length, 1);
      assert.deepEqual(closures(d.logger), []);
    } finally {
      await d.server.stop();
    }
  });

  it('a grant two certificates hold stays for the one not revoked', async () => {
    const d = await daemon('shared', await crlOf(pki.one, 1, []));
    try {
      await d.knock(carol);
      await d.knock(pki.alice);
      assert.equal(d.server.grants()[0]?.subject, 'CN=alice');
      await d.publish(await crlOf(pki.one, 2, [pki.alice.serial]));
      await waitUntil(() => d.server.grants()[0]?.subject === 'CN=carol', 2000, 'carol to be the holder');
      await waitUntil(() => d.firewall.isAllowed('127.0.0.1', 'tcp', 2000) && d.server.stats().grants.pending === 0, 2000, 'the grant to stay open for carol');
      assert.match(String(closures(d.logger)[0]?.['msg']), /dropped from a grant another certificate still holds/);
      assert.equal(d.server.stats().grants.revoked, 0, 'no grant was closed for good');
    } finally {
      await d.server.stop();
    }
  });
});
