import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createCrl } from '@sknock/ca';
import { METRIC_NAMES } from '../src/metrics/metrics-registry.js';
import { DaemonProcess, freeTcpPort, freeUdpPort, writeConfigFile } from './support/daemon-process.js';
import { knockFixtures, makeKnock, PFX_PASSWORD, type KnockFixtures } from './support/knock-fixtures.js';
import { sendOnce } from './support/udp.js';

/**
 * The metrics endpoint of a real `sknock-server run` (memory back end) scraped over loopback
 * (IPv4 and IPv6) after real knocks: counter values, the verify histogram's counts, the CRL
 * gauges per CA, OpenMetrics framing; /healthz 200, and 503 once the CRL is past its
 * nextUpdate under requireCrl. (/healthz after `nft delete table`: test/e2e/admin.test.ts.)
 */

let f: KnockFixtures;
let dir: string;

async function scrape(url: string): Promise<{ status: number; type: string | null; body: string }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: r.status, type: r.headers.get('content-type'), body: await r.text() };
}

/** The value of one series (`name{labels}` as printed), or undefined. */
function value(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function baseLines(extra: readonly string[]): Promise<string[]> {
  return [
    'serverPFXFile = server.pfx',
    `PFXPasswd = ${PFX_PASSWORD}`,
    'firewallBackend = memory',
    'listenAddress = ::',
    `knockPort = ${await freeUdpPort('::')}`,
    'controlSocket = none',
    ...extra,
  ];
}

before(async () => {
  f = await knockFixtures();
  dir = mkdtempSync(join(tmpdir(), 'sknock-metrics-'));
  writeFileSync(join(dir, 'server.pfx'), f.serverPfx, { mode: 0o600 });
  writeFileSync(join(dir, 'crl.der'), f.crl);
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('metrics endpoint', () => {
  it('counts real knocks: received, accepted, rejected by code, grants open, verify latency, CRL per CA', async () => {
    const metricsPort = await freeTcpPort('::1');
    const lines = await baseLines(['crlFile = crl.der', `metricsAddress = [::1]:${metricsPort}`]);
    const knockPort = Number(lines.find((l) => l.startsWith('knockPort'))?.split('= ')[1]);
    const daemon = await DaemonProcess.start(writeConfigFile(dir, 'metrics.ini', lines));
    try {
      await daemon.waitFor((l) => l['event'] === 'metrics-listening', 'metrics-listening');
      await sendOnce(makeKnock(f, f.alice, { port: 2000 }), knockPort, '127.0.0.1');
      await sendOnce(makeKnock(f, f.alice, { port: 3000, address: '::1' }), knockPort, '::1');
      await sendOnce(makeKnock(f, f.bob, { port: 4000 }), knockPort, '127.0.0.1');
      await sendOnce(makeKnock(f, f.expired), knockPort, '127.0.0.1');
      await sendOnce(makeKnock(f, f.revoked), knockPort, '127.0.0.1');
      await sendOnce(new Uint8Array(20), knockPort, '127.0.0.1');
      await daemon.waitForCount((l) => l['event'] === 'open', 3, 'three grants');
      await daemon.waitForCount((l) => l['event'] === 'reject', 3, 'three rejects');

      const r = await scrape(`http://[::1]:${metricsPort}/metrics`);
      assert.equal(r.status, 200);
      assert.match(r.type ?? '', /^application\/openmetrics-text; version=1\.0\.0/);
      assert.ok(r.body.endsWith('# EOF\n'));
      console.log(`--- metrics scrape (excerpt)\n${r.body.split('\n').filter((l) => /^sknock_(knocks|grants_open|verify_duration_seconds_(count|bucket\{le="0.005")|crl_|queue_depth|firewall_write|info)/.test(l) && !/ 0$/.test(l.replace(/^sknock_crl.*/, ''))).join('\n')}`);
      for (const name of METRIC_NAMES) assert.match(r.body, new RegExp(`^# TYPE ${name.replace(/_total$/, '')} `, 'm'), name);
      assert.ok(r.body.split('\n').filter((l) => l !== '' && !l.startsWith('#')).every((l) => l.startsWith('sknock_')), 'every series starts with sknock_');
      assert.equal(value(r.body, 'sknock_knocks_received_total'), 6);
      assert.equal(value(r.body, 'sknock_knocks_accepted_total'), 3);
      assert.equal(value(r.body, 'sknock_knocks_rejected_total{code="expired"}'), 1);
      assert.equal(value(r.body, 'sknock_knocks_rejected_total{code="revoked"}'), 1);
      assert.equal(value(r.body, 'sknock_knocks_rejected_total{code="too-short"}'), 1);
      assert.equal(value(r.body, 'sknock_knocks_rejected_total{code="bad-signature"}'), 0);
      assert.equal(value(r.body, 'sknock_grants_open'), 3);
      assert.equal(value(r.body, 'sknock_grant_writes_total'), 3);
      assert.equal(value(r.body, 'sknock_firewall_write_errors_total'), 0);
      assert.equal(value(r.body, 'sknock_queue_depth'), 0);
      assert.equal(value(r.body, 'sknock_verify_duration_seconds_count{result="accepted"}'), 3);
      assert.equal(value(r.body, 'sknock_verify_duration_seconds_count{result="rejected"}'), 2, 'too-short never reaches the crypto checks');
      assert.equal(value(r.body, 'sknock_verify_duration_seconds_bucket{le="+Inf",result="accepted"}'), 3);
      assert.equal(value(r.body, 'sknock_info{version="0.1.0",backend="memory",policy="none"}'), 1);
      assert.equal(value(r.body, 'sknock_crl_present{ca="CN=sKnock Test CA"}'), 1);
      assert.equal(value(r.body, 'sknock_crl_stale{ca="CN=sKnock Test CA"}'), 0);
      const age = value(r.body, 'sknock_crl_age_seconds{ca="CN=sKnock Test CA"}') ?? -1;
      assert.ok(age >= 0 && age < 600, `CRL age ${age}`);
      const next = value(r.body, 'sknock_crl_next_update_timestamp_seconds{ca="CN=sKnock Test CA"}') ?? 0;
      assert.ok(next > Date.now() / 1000 + 29 * 86_400, 'nextUpdate 30 days on');
      assert.match(r.body, /^sknock_process_resident_memory_bytes \d+/m);

      const h = await scrape(`http://[::1]:${metricsPort}/healthz`);
      assert.equal(h.status, 200, h.body);
      assert.equal(JSON.parse(h.body).status, 'ok');
      assert.equal((await scrape(`http://[::1]:${metricsPort}/nope`)).status, 404);
      const post = await fetch(`http://[::1]:${metricsPort}/metrics`, { method: 'POST', signal: AbortSignal.timeout(5000) });
      assert.equal(post.status, 405);
    } finally {
      assert.equal(await daemon.stop(), 0);
    }
  });

  it('/healthz turns 503 when the CRL passes its nextUpdate under requireCrl', async () => {
    const soon = await createCrl(f.ca, { revoked: [], crlNumber: 7, nextUpdate: new Date(Date.now() + 3000) });
    writeFileSync(join(dir, 'soon.der'), soon);
    const metricsPort = await freeTcpPort();
    const daemon = await DaemonProcess.start(writeConfigFile(dir, 'stale.ini', await baseLines(['crlFile = soon.der', 'requireCrl = on', `metricsAddress = 127.0.0.1:${metricsPort}`])));
    try {
      await daemon.waitFor((l) => l['event'] === 'metrics-listening', 'metrics-listening');
      const fresh = await scrape(`http://127.0.0.1:${metricsPort}/healthz`);
      assert.equal(fresh.status, 200, fresh.body);
      const deadline = Date.now() + 8000;
      let h = fresh;
      while (h.status === 200 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        h = await scrape(`http://127.0.0.1:${metricsPort}/healthz`);
      }
      assert.equal(h.status, 503, h.body);
      const report = JSON.parse(h.body) as { status: string; reasons: string[] };
      assert.equal(report.status, 'fail');
      assert.match(report.reasons.join(' '), /CRL of 'CN=sKnock Test CA' is stale .* requireCrl is on/);
      const m = await scrape(`http://127.0.0.1:${metricsPort}/metrics`);
      assert.equal(value(m.body, 'sknock_crl_stale{ca="CN=sKnock Test CA"}'), 1);
    } finally {
      await daemon.stop();
    }
  });
});
