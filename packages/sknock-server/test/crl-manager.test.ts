import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, createCrl, encodeCrlPem } from '@sknock/ca';
import type { CertificateAuthority } from '@sknock/ca';
import { caIdentity } from '@sknock/protocol/x509';
import { crlDersFrom } from '../src/crl/crl-bundle.js';
import { CrlManager } from '../src/crl/crl-manager.js';
import type { CrlManagerOptions } from '../src/crl/crl-manager.js';
import { recordingLogger } from './support/recording-logger.js';
import type { RecordingLogger } from './support/recording-logger.js';

const DAY = 86_400_000;
const ca = await createCa({ name: 'CRL Manager CA' });
const otherCa = await createCa({ name: 'Another CA' });
const caId = caIdentity(new X509Certificate(ca.certificate)).id;
const t0 = Date.UTC(2026, 0, 10, 12, 0, 0);

function crl(authority: CertificateAuthority, crlNumber: number, revoked: string[], thisUpdate = new Date(t0 + crlNumber * 60_000), nextUpdate?: Date): Promise<Uint8Array> {
  return createCrl(authority, {
    crlNumber,
    revoked: revoked.map((serial) => ({ serial, date: new Date(t0 - DAY) })),
    thisUpdate,
    nextUpdate: nextUpdate ?? new Date(thisUpdate.getTime() + 7 * DAY),
  });
}

/** A CRL publisher on 127.0.0.1: serves `body` with an ETag and Last-Modified, answers 304 when asked with them. */
interface Publisher {
  url: string;
  body: Uint8Array | undefined;
  status: number;
  /** Never answer (for timeouts). */
  hang: boolean;
  requests: IncomingHttpHeaders[];
  close(): Promise<void>;
}

async function publisher(): Promise<Publisher> {
  let version = 0;
  let lastBody: Uint8Array | undefined;
  const state: Publisher = {
    url: '',
    body: undefined,
    status: 200,
    hang: false,
    requests: [],
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  const server: Server = createServer((req, res) => {
    state.requests.push(req.headers);
    if (state.hang) return;
    if (state.body !== lastBody) {
      version++;
      lastBody = state.body;
    }
    const etag = `"v${version}"`;
    const lastModified = new Date(t0 + version * 1000).toUTCString();
    if (state.status !== 200 || state.body === undefined) {
      res.writeHead(state.status === 200 ? 404 : state.status).end('no');
      return;
    }
    if (req.headers['if-none-match'] === etag || req.headers['if-modified-since'] === lastModified) {
      res.writeHead(304, { etag }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/pkix-crl', etag, 'last-modified': lastModified }).end(state.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sknock.crl`;
  return state;
}

interface Rig {
  dir: string;
  crlFile: string;
  log: RecordingLogger;
  pub: Publisher;
  manager(extra?: Partial<CrlManagerOptions>): CrlManager;
  done(): Promise<void>;
}

async function rig(): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'sknock-crl-'));
  const log = recordingLogger();
  const pub = await publisher();
  const managers: CrlManager[] = [];
  return {
    dir,
    crlFile: join(dir, 'crl.der'),
    log,
    pub,
    manager(extra = {}) {
      const m = new CrlManager({
        caCertificates: [ca.certificate],
        crlFile: join(dir, 'crl.der'),
        crlUrl: pub.url,
        intervalMinutes: 30,
        logger: log,
        now: () => t0 + 3_600_000,
        fetchTimeoutMs: 2_000,
        ...extra,
      });
      managers.push(m);
      return m;
    },
    async done() {
      for (const m of managers) m.stop();
      await pub.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const messages = (log: RecordingLogger, level?: string): string[] => log.records.filter((r) => level === undefined || r.level === level).map((r) => r.msg ?? '');

test('start: reads crlFile; isRevoked and status', async () => {
  const r = await rig();
  try {
    writeFileSync(r.crlFile, encodeCrlPem(await crl(ca, 1, ['0A', 'ff00'])));
    const m = r.manager({ crlUrl: undefined });
    await m.start();
    assert.equal(m.version, 1);
    assert.equal(m.isRevoked(caId, 'a'), true);
    assert.equal(m.isRevoked(caId, '000A'), true);
    assert.equal(m.isRevoked(caId, 'FF00'), true);
    assert.equal(m.isRevoked(caId, 'ff'), false);
    const s = m.status();
    assert.equal(s.haveCrl, true);
    assert.equal(s.stale, false);
    assert.equal(s.source, 'file');
    assert.equal(s.crlNumber, 1n);
    assert.equal(s.revokedCount, 2);
    assert.ok(messages(r.log, 'info').includes('CRL in force'));
  } finally {
    await r.done();
  }
});

test('a fresher CRL from crlUrl is taken and written atomically to crlFile', async () => {
  const r = await rig();
  try {
    writeFileSync(r.crlFile, await crl(ca, 1, ['0a']));
    const m = r.manager();
    const updates: unknown[] = [];
    m.on('updated', (s) => updates.push(s));
    r.pub.body = await crl(ca, 1, ['0a']); // the same one: not a change
    await m.start();
    assert.equal(m.version, 1);
    const second = await crl(ca, 2, ['0b']);
    r.pub.body = second;
    const inodeBefore = statSync(r.crlFile).ino;
    await m.refresh();
    assert.notEqual(statSync(r.crlFile).ino, inodeBefore, 'replaced by rename, not rewritten in place');
    assert.equal(m.version, 2);
    assert.equal(updates.length, 2);
    assert.equal(m.status().source, 'url');
    assert.equal(m.isRevoked(caId, '0a'), false);
    assert.equal(m.isRevoked(caId, '0b'), true);
    assert.deepEqual(new Uint8Array(readFileSync(r.crlFile)), second);
    assert.deepEqual(readdirSync(r.dir), ['crl.der'], 'no temporary file is left behind');
  } finally {
    await r.done();
  }
});

test('conditional GET: ETag and Last-Modified are sent back; 304 keeps the CRL', async () => {
  const r = await rig();
  try {
    r.pub.body = await crl(ca, 1, ['0a']);
    const m = r.manager();
    await m.start();
    assert.equal(m.version, 1);
    assert.equal(r.pub.requests[0]?.['if-none-match'], undefined);
    await m.refresh();
    assert.equal(r.pub.requests.length, 2);
    assert.equal(r.pub.requests[1]?.['if-none-match'], '"v1"');
    assert.equal(r.pub.requests[1]?.['if-modified-since'], new Date(t0 + 1000).toUTCString());
    assert.equal(m.version, 1);
    assert.ok(messages(r.log, 'debug').includes('CRL not modified since the last download'));
    assert.equal(m.isRevoked(caId, '0a'), true);
  } finally {
    await r.done();
  }
});

test('a CRL of a CA that is not trusted is refused and the old one kept', async () => {
  const r = await rig();
  try {
    const good = await crl(ca, 1, ['0a']);
    writeFileSync(r.crlFile, good);
    r.pub.body = await crl(otherCa, 5, []);
    const m = r.manager();
    await m.start();
    assert.equal(m.version, 1);
    assert.equal(m.isRevoked(caId, '0a'), true);
    const warn = r.log.records.find((x) => x.level === 'warn' && x.fields['code'] === 'ERR_SKNOCK_CRL_ISSUER');
    assert.ok(warn, messages(r.log).join('\n'));
    assert.match(warn.msg ?? '', /its issuer 'CN=Another CA' is not a trusted CA; keeping the CRL in force/);
    assert.deepEqual(new Uint8Array(readFileSync(r.crlFile)), good, 'crlFile untouched');
  } finally {
    await r.done();
  }
});

test('an older CRL (lower number, or earlier thisUpdate) is refused', async () => {
  const r = await rig();
  try {
    writeFileSync(r.crlFile, await crl(ca, 5, ['0a']));
    r.pub.body = await crl(ca, 4, []);
    const m = r.manager();
    await m.start();
    assert.equal(m.version, 1);
    assert.equal(m.isRevoked(caId, '0a'), true);
    assert.match(messages(r.log, 'warn').join('\n'), /downloaded CRL not taken: it is older/);
    r.pub.body = await crl(ca, 9, [], new Date(t0)); // higher number but thisUpdate goes back
    await m.refresh();
    assert.equal(m.version, 1);
    assert.match(messages(r.log, 'warn').at(-1) ?? '', /older \(thisUpdate/);
    r.pub.body = await crl(ca, 5, ['0c'], new Date(t0 + 5 * 60_000 + 1000)); // same number, other contents
    await m.refresh();
    assert.equal(m.version, 1);
    assert.match(messages(r.log, 'warn').at(-1) ?? '', /CRL number 5 of the CRL in force but different contents/);
  } finally {
    await r.done();
  }
});

test('publisher down, HTTP error, timeout: the last good CRL stays and the reason is logged', async () => {
  const r = await rig();
  try {
    r.pub.body = await crl(ca, 1, ['0a']);
    const m = r.manager({ fetchTimeoutMs: 300 });
    await m.start();
    assert.equal(m.version, 1);

    r.pub.status = 500;
    r.pub.body = await crl(ca, 2, []);
    await m.refresh();
    assert.match(messages(r.log, 'warn').at(-1) ?? '', /answered HTTP 500.*keeping the CRL in force/);

    r.pub.status = 200;
    r.pub.hang = true;
    const started = Date.now();
    await m.refresh();
    assert.ok(Date.now() - started < 2_000);
    assert.match(messages(r.log, 'warn').at(-1) ?? '', /timed out after 300 ms/);

    await r.pub.close();
    await m.refresh(); // may meet the pooled keep-alive socket the server just closed
    assert.match(messages(r.log, 'warn').at(-1) ?? '', /failed: .*(ECONNREFUSED|other side closed).*; keeping the CRL in force/);
    await m.refresh();
    assert.match(messages(r.log, 'warn').at(-1) ?? '', /failed: connect ECONNREFUSED 127\.0\.0\.1:\d+; keeping the CRL in force/);
    assert.equal(m.version, 1);
    assert.equal(m.isRevoked(caId, '0a'), true);
    assert.equal(m.status().haveCrl, true);
  } finally {
    await r.done();
  }
});

test('a stale CRL is logged at every check', async () => {
  const r = await rig();
  try {
    writeFileSync(r.crlFile, await crl(ca, 1, [], new Date(t0 - 10 * DAY), new Date(t0 - DAY)));
    r.pub.status = 404;
    const m = r.manager();
    await m.start();
    assert.equal(m.status().stale, true);
    await m.refresh();
    await m.reload();
    const stale = messages(r.log, 'warn').filter((x) => /CRL is stale/.test(x));
    assert.equal(stale.length, 3);
  } finally {
    await r.done();
  }
});

test('no CRL at all: the daemon goes on, logging loudly at every check', async () => {
  const r = await rig();
  try {
    const m = r.manager({ crlUrl: undefined });
    await m.start();
    assert.deepEqual(m.status(), { haveCrl: false, stale: false, issuers: [{ issuer: 'CN=CRL Manager CA', issuerId: caId, haveCrl: false, stale: false }] });
    assert.equal(m.isRevoked(caId, '0a'), false);
    assert.match(messages(r.log, 'error').join('\n'), /crlFile not taken: crlFile does not exist/);
    assert.match(messages(r.log, 'error').join('\n'), /NO CRL: revocation cannot be checked; knocks are accepted/);
    const m2 = r.manager({ requireCrl: true });
    r.pub.status = 503;
    await m2.start();
    assert.match(messages(r.log, 'error').at(-1) ?? '', /NO CRL: knocks are refused until a CRL verifies \(requireCrl\)/);
    assert.match(messages(r.log, 'info').join('\n'), /crlFile does not exist yet; it will be written from crlUrl/);
    // It arrives: taken, written.
    r.pub.status = 200;
    r.pub.body = await crl(ca, 1, ['0d']);
    await m2.refresh();
    assert.equal(m2.status().haveCrl, true);
    assert.equal(m2.isRevoked(caId, 'd'), true);
    assert.deepEqual(new Uint8Array(readFileSync(r.crlFile)), r.pub.body);
  } finally {
    await r.done();
  }
});

test('reload (SIGHUP) takes a newer crlFile and keeps the CRL when the file is broken', async () => {
  const r = await rig();
  try {
    writeFileSync(r.crlFile, await crl(ca, 1, ['0a']));
    const m = r.manager({ crlUrl: undefined });
    await m.start();
    writeFileSync(r.crlFile, encodeCrlPem(await crl(ca, 2, ['0b'])));
    await m.reload();
    assert.equal(m.version, 2);
    assert.equal(m.isRevoked(caId, '0b'), true);
    writeFileSync(r.crlFile, 'garbage');
    await m.reload();
    assert.equal(m.version, 2);
    assert.equal(m.isRevoked(caId, '0b'), true);
    assert.match(messages(r.log, 'error').at(-1) ?? '', /crlFile not taken on reload: .*; keeping the CRL in force/);
    writeFileSync(r.crlFile, await crl(otherCa, 3, []));
    await m.reload();
    assert.equal(m.version, 2);
    assert.match(messages(r.log, 'error').at(-1) ?? '', /its issuer 'CN=Another CA' is not a trusted CA/);
  } finally {
    await r.done();
  }
});

test('the schedule fetches every interval until stop()', async () => {
  const r = await rig();
  try {
    r.pub.body = await crl(ca, 1, []);
    const m = r.manager({ intervalMinutes: 0.002 }); // 120 ms
    await m.start();
    const deadline = Date.now() + 3_000;
    while (r.pub.requests.length < 3 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    assert.ok(r.pub.requests.length >= 3, `only ${r.pub.requests.length} requests`);
    m.stop();
    await new Promise((res) => setTimeout(res, 50));
    const after = r.pub.requests.length;
    await new Promise((res) => setTimeout(res, 400));
    assert.equal(r.pub.requests.length, after, 'no fetch after stop()');
  } finally {
    await r.done();
  }
});

const otherId = caIdentity(new X509Certificate(otherCa.certificate)).id;

test('several CAs: a PEM bundle in crlFile gives one CRL each, kept apart; status says what each CA has', async () => {
  const r = await rig();
  try {
    writeFileSync(r.crlFile, encodeCrlPem(await crl(ca, 3, ['0a'])) + encodeCrlPem(await crl(otherCa, 1, ['0b', '0c'])));
    const m = r.manager({ crlUrl: undefined, caCertificates: [ca.certificate, otherCa.certificate, ca.certificate] });
    await m.start();
    assert.equal(m.isRevoked(caId, '0a'), true);
    assert.equal(m.isRevoked(otherId, '0a'), false, 'a serial is revoked only by the CRL of the CA that issued it');
    assert.equal(m.isRevoked(otherId, '0b'), true);
    assert.equal(m.isRevoked(caId, '0b'), false);
    const s = m.status();
    assert.equal(s.haveCrl, true);
    assert.equal(s.crlNumber, undefined, 'two CRLs: no single number');
    assert.equal(s.revokedCount, 3);
    assert.equal(s.source, 'file');
    assert.deepEqual(s.thisUpdate, new Date(t0 + 60_000), 'the oldest');
    assert.deepEqual(
      s.issuers.map((i) => [i.issuer, i.haveCrl, i.crlNumber, i.revokedCount, i.origin]),
      [
        ['CN=CRL Manager CA', true, 3n, 1, r.crlFile],
        ['CN=Another CA', true, 1n, 2, r.crlFile],
      ],
      'one entry per CA (the duplicate certificate counted once)',
    );
    assert.equal(r.log.records.filter((x) => x.msg === 'CRL in force').length, 2);
  } finally {
    await r.done();
  }
});

test('a CRL fetched from crlUrl is saved to crlFile together with the other CAs\' CRLs it held', async () => {
  const r = await rig();
  try {
    const others = await crl(otherCa, 4, ['0b']);
    writeFileSync(r.crlFile, others);
    r.pub.body = await crl(ca, 2, ['0a']);
    const m = r.manager({ caCertificates: [ca.certificate, otherCa.certificate] });
    await m.start();
    assert.equal(m.isRevoked(caId, '0a'), true);
    assert.equal(m.isRevoked(otherId, '0b'), true);
    const saved = crlDersFrom(new Uint8Array(readFileSync(r.crlFile)));
    assert.deepEqual(saved, [r.pub.body, others], 'both CAs\' CRLs, as a PEM bundle');
    // A daemon started from that file alone has both.
    const fromFile = r.manager({ crlUrl: undefined, caCertificates: [ca.certificate, otherCa.certificate] });
    await fromFile.start();
    assert.equal(fromFile.isRevoked(caId, '0a'), true);
    assert.equal(fromFile.isRevoked(otherId, '0b'), true);
    // Another CA's newer CRL served at the URL replaces only that CA's.
    r.pub.body = await crl(otherCa, 5, []);
    await m.refresh();
    assert.equal(m.isRevoked(otherId, '0b'), false);
    assert.equal(m.isRevoked(caId, '0a'), true);
    assert.equal(crlDersFrom(new Uint8Array(readFileSync(r.crlFile))).length, 2);
  } finally {
    await r.done();
  }
});

test('several crlUrl and several crlFile: each read, each URL with its own conditional GET', async () => {
  const r = await rig();
  const second = await publisher();
  try {
    const extra = join(r.dir, 'extra.der');
    const extraCrl = await crl(otherCa, 1, ['0e']);
    writeFileSync(extra, extraCrl);
    r.pub.body = await crl(ca, 1, ['0a']);
    second.body = await crl(otherCa, 2, ['0f']);
    const m = r.manager({ crlUrl: [r.pub.url, second.url], crlFile: [r.crlFile, extra], caCertificates: [ca.certificate, otherCa.certificate] });
    await m.start();
    assert.equal(m.isRevoked(caId, '0a'), true);
    assert.equal(m.isRevoked(otherId, '0f'), true, 'the newer of the file and the URL');
    assert.equal(m.isRevoked(otherId, '0e'), false);
    await m.refresh();
    assert.equal(r.pub.requests[1]?.['if-none-match'], '"v1"');
    assert.equal(second.requests[1]?.['if-none-match'], '"v1"');
    assert.deepEqual(new Uint8Array(readFileSync(extra)), extraCrl, 'only the first crlFile is written');
    assert.equal(crlDersFrom(new Uint8Array(readFileSync(r.crlFile))).length, 2);
  } finally {
    await second.close();
    await r.done();
  }
});

test('a CRL going stale while nobody checks is said when its nextUpdate passes', async () => {
  const r = await rig();
  try {
    const start = Date.now();
    writeFileSync(r.crlFile, await crl(ca, 1, [], new Date(Math.floor(start / 1000) * 1000 - 60_000), new Date(Math.ceil(start / 1000) * 1000 + 1000)));
    const m = r.manager({ crlUrl: undefined, now: Date.now });
    await m.start();
    assert.equal(m.status().stale, false);
    const deadline = Date.now() + 8000;
    while (!messages(r.log, 'warn').some((x) => /CRL is stale/.test(x)) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    assert.ok(messages(r.log, 'warn').some((x) => /CRL is stale/.test(x)), 'logged by the timer at nextUpdate');
    assert.equal(m.status().stale, true);
  } finally {
    await r.done();
  }
});
