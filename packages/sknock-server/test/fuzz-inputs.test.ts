import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { CONFIG_KEYS, loadConfigFile } from '../src/config/index.js';
import { parseIni } from '../src/config/ini.js';
import { createCa, issueClientCertificate, parseGrantSpec, signCsr } from '@sknock/ca';
import { TrustStore } from '../src/trust/index.js';

// Every decoder of outside input in the server package meets arbitrary input: only its own
// typed error may come out (the CRL parser and the knock pipeline have their own property tests).

function onlyTyped(name: string, codePattern: RegExp, fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    assert.equal((err as Error)?.name, name, `untyped error: ${String(err)}`);
    assert.match((err as { code: string }).code, codePattern);
  }
}

async function onlyTypedAsync(name: string, codePattern: RegExp, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    assert.equal((err as Error)?.name, name, `untyped error: ${String(err)}`);
    assert.match((err as { code: string }).code, codePattern);
  }
}

test('parseIni: arbitrary text gives a map or SknockConfigError', () => {
  const line = fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.constantFrom('[DEFAULT]', '[default]', '[other]', '# c', '; c', '', '  x = 1', 'k: v', '='),
    fc.tuple(fc.constantFrom(...CONFIG_KEYS.map((k) => k.key)), fc.string({ maxLength: 30 })).map(([k, v]) => `${k} = ${v}`),
  );
  fc.assert(
    fc.property(fc.array(line, { maxLength: 12 }), (lines) => {
      onlyTyped('SknockConfigError', /^ERR_SKNOCK_CONFIG$/, () => parseIni(lines.join('\n'), '/etc/sknock/config.ini'));
    }),
    { numRuns: 500 },
  );
});

test('loadConfigFile: arbitrary values for every key give a config or SknockConfigError', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sknock-fuzz-config-'));
  try {
    const file = join(dir, 'config.ini');
    const value = fc.oneof(fc.string({ maxLength: 40 }), fc.integer().map(String), fc.constantFrom('', 'on', 'off', 'tcp/22', 'udp/0', '-1', '1e9', '::', 'memory'));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom(...CONFIG_KEYS.map((k) => k.key)), value), { maxLength: 8 }), async (pairs) => {
        const body = pairs.map(([k, v]) => `${k} = ${v.replace(/[\r\n]/g, ' ')}`).join('\n');
        writeFileSync(file, `[DEFAULT]\nserverPFXFile = server.pfx\n${body}\n`);
        await onlyTypedAsync('SknockConfigError', /^ERR_SKNOCK_CONFIG$/, () => loadConfigFile(file));
      }),
      { numRuns: 200 },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('parseGrantSpec: arbitrary text gives a grant or SknockCaError', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('tcp/22', 'udp/8000', 'tcp/', '/22', 'TCP/22', 'tcp/70000', 'icmp/1')), (s) => {
      onlyTyped('SknockCaError', /^ERR_SKNOCK_CA_/, () => parseGrantSpec(s));
    }),
    { numRuns: 500 },
  );
});

test('signCsr and the trust store: arbitrary bytes give typed errors or a rejection', async () => {
  const ca = await createCa({ name: 'Fuzz CA', validityDays: 30 });
  const client = await issueClientCertificate(ca, { name: 'c', grants: [{ protocol: 'tcp', port: 22 }] });
  const trust = new TrustStore({ caCertificates: [ca.certificate], crl: { crlOf: () => undefined }, requireCrl: false });
  assert.equal(trust.verify(client.certificate, Date.now()).ok, true);
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 900 }), fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 4 }), async (junk, at, patch) => {
      const mutated = new Uint8Array(client.certificate);
      mutated.set(patch.subarray(0, mutated.length - (at % mutated.length)), at % mutated.length);
      for (const der of [junk, mutated]) {
        const r = trust.verify(der, Date.now());
        if (der === junk) assert.equal(r.ok, false);
      }
      await onlyTypedAsync('SknockCaError', /^ERR_SKNOCK_CA_/, () => signCsr(ca, junk, { grants: [{ protocol: 'tcp', port: 22 }] }));
      await onlyTypedAsync('SknockCaError', /^ERR_SKNOCK_CA_/, () => signCsr(ca, `-----BEGIN CERTIFICATE REQUEST-----\n${Buffer.from(junk).toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`, { grants: [{ protocol: 'tcp', port: 22 }] }));
    }),
    { numRuns: 150 },
  );
});
