import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePem } from '@sknock/protocol';
import { createCa, createCrl, encodeCrlPem, issueServerCertificate } from '@sknock/ca';
import { checkConfig } from '../src/config/index.js';
import { createTestCrl, testCaFromAuthority } from './support/test-pki.js';

/** A folder with a real server PKCS#12 (password "right"), its CA in PEM and a CRL of that CA. */
async function site(): Promise<{ dir: string; done(): void; write(name: string, data: string | Uint8Array): string }> {
  const dir = mkdtempSync(join(tmpdir(), 'sknock-check-'));
  const ca = await createCa({ name: 'Check CA' });
  const other = await createCa({ name: 'Other CA' });
  const server = await issueServerCertificate(ca, { name: 'knock.example.org', pkcs12: { passphrase: 'right' } });
  const write = (name: string, data: string | Uint8Array): string => {
    const p = join(dir, name);
    writeFileSync(p, data, { mode: 0o600 }); // as an operator keeps secrets: no insecure-file warnings
    return p;
  };
  write('server.pfx', server.pfx as Uint8Array);
  write('ca.pem', encodePem('CERTIFICATE', ca.certificate));
  write('crl.pem', encodeCrlPem(await createCrl(ca, { revoked: [], crlNumber: 1 })));
  write('other-crl.der', await createCrl(other, { revoked: [], crlNumber: 1 }));
  write('stale-crl.der', await createCrl(ca, { revoked: [], crlNumber: 1, thisUpdate: new Date(Date.now() - 20 * 86_400_000), nextUpdate: new Date(Date.now() - 86_400_000) }));
  write('garbage.pem', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  write('other-ca.pem', encodePem('CERTIFICATE', other.certificate));
  write('both-crls.pem', encodeCrlPem(await createCrl(ca, { revoked: [], crlNumber: 2 })) + encodeCrlPem(await createCrl(other, { revoked: [], crlNumber: 7 })));
  const forged = await createTestCrl(await testCaFromAuthority(ca), { crlNumber: 9, signer: await testCaFromAuthority(other) });
  write('forged.pem', encodeCrlPem(await createCrl(other, { revoked: [], crlNumber: 8 })) + encodeCrlPem(forged));
  return { dir, write, done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('checkConfig: a good site is ok', async () => {
  const s = await site();
  try {
    const r = await checkConfig(s.write('config.ini', '[DEFAULT]\nserverPFXFile = server.pfx\nPFXPasswd = right\ncaFile = ca.pem\ncrlFile = crl.pem\n'));
    assert.deepEqual(r.problems, []);
    assert.equal(r.ok, true);
    assert.deepEqual(r.config?.crlFile, [join(s.dir, 'crl.pem')]);
  } finally {
    s.done();
  }
});

test('checkConfig: wrong PKCS#12 password, without showing the password', async () => {
  const s = await site();
  try {
    const r = await checkConfig(s.write('config.ini', '[DEFAULT]\nserverPFXFile = server.pfx\nPFXPasswd = wrong-pw\n'));
    assert.equal(r.ok, false);
    assert.equal(r.problems.length, 1, r.problems.join('\n'));
    assert.match(r.problems[0] as string, /^serverPFXFile .*server\.pfx in .*config\.ini does not open with the password that PFXPasswd \/ PFXPasswdFile gives$/);
    assert.doesNotMatch(r.problems.join('\n'), /wrong-pw/);
  } finally {
    s.done();
  }
});

test('checkConfig: a CRL of another CA, a stale CRL, an unreadable caFile', async () => {
  const s = await site();
  try {
    const other = await checkConfig(s.write('a.ini', '[DEFAULT]\nserverPFXFile = server.pfx\nPFXPasswd = right\ncrlFile = other-crl.der\n'));
    assert.equal(other.ok, false);
    assert.match(other.problems.join('\n'), /crlFile .*other-crl\.der in .*a\.ini: its issuer 'CN=[^']+' is not a trusted CA/);

    const stale = await checkConfig(s.write('b.ini', '[DEFAULT]\nserverPFXFile = server.pfx\nPFXPasswd = right\ncrlFile = stale-crl.der\n'));
    assert.equal(stale.ok, true, stale.problems.join('\n'));
    assert.match(stale.warnings.join('\n'), /crlFile .*stale-crl\.der is stale/);

    const badCa = await checkConfig(s.write('c.ini', '[DEFAULT]\nserverPFXFile = server.pfx\nPFXPasswd = right\ncaFile = garbage.pem\n'));
    assert.equal(badCa.ok, false);
    assert.match(badCa.problems.join('\n'), /^caFile .*garbage\.pem in .*c\.ini cannot be used: /m);

    const notCrl = await checkConfig(s.write('d.ini', '[DEFAULT]\nserverPFXFile = server.pfx\nPFXPasswd = right\ncrlFile = ca.pem\n'));
    assert.match(notCrl.problems.join('\n'), /crlFile .*ca\.pem in .*d\.ini is not a usable CRL: PEM text holds no "X509 CRL"/);
  } finally {
    s.done();
  }
});

test('checkConfig: reports every problem at once, file and PKCS#12 together', async () => {
  const s = await site();
  try {
    const r = await checkConfig(s.write('config.ini', '[DEFAULT]\nserverPFXFile = server.pfx\nPFXPasswd = nope\nknockPort = http\nSIGNATURE_SIZE = 71\nfoo = bar\n'));
    assert.equal(r.ok, false);
    assert.equal(r.problems.length, 4, r.problems.join('\n'));
    assert.match(r.problems[0] as string, /knockPort .* line 4/);
    assert.match(r.problems[1] as string, /SIGNATURE_SIZE .* line 5/);
    assert.match(r.problems[2] as string, /unknown key 'foo' .* line 6/);
    assert.match(r.problems[3] as string, /serverPFXFile .* does not open with the password/);
    assert.match(r.warnings.join('\n'), /neither crlFile nor crlUrl is set: revocation cannot be checked/);
  } finally {
    s.done();
  }
});

test('checkConfig: a missing config file is one problem, not a throw', async () => {
  const r = await checkConfig('/nonexistent/sknock/config.ini');
  assert.deepEqual(r, { ok: false, problems: ['config file /nonexistent/sknock/config.ini does not exist'], warnings: [] });
});

test('checkConfig: iptables with anyPortKnocks under reject or none is flagged (knock-shaped datagrams absorbed on every port); nftables, drop or anyPortKnocks off are not', async () => {
  const s = await site();
  try {
    const base = '[DEFAULT]\nserverPFXFile = server.pfx\nPFXPasswd = right\ncaFile = ca.pem\ncrlFile = crl.pem\n';
    const warned = async (extra: string): Promise<boolean> => {
      const r = await checkConfig(s.write('config.ini', base + extra));
      assert.equal(r.ok, true, r.problems.join('\n'));
      return r.warnings.some((w) => /absorbed silently on every port .* a scanner can tell/.test(w));
    };
    assert.equal(await warned('firewallBackend = iptables\nfirewallPolicy = reject\n'), true);
    assert.equal(await warned('firewallBackend = iptables\n'), true, 'policy none: the kernel answers the other ports');
    assert.equal(await warned('firewallBackend = iptables\nfirewallPolicy = drop\n'), false);
    assert.equal(await warned('firewallBackend = iptables\nfirewallPolicy = reject\nanyPortKnocks = off\n'), false);
    assert.equal(await warned('firewallPolicy = reject\n'), false, 'nftables answers knock-shaped datagrams like any closed port');
  } finally {
    s.done();
  }
});

test('checkConfig: firewallCheckIntervalSeconds is 5 by default, 1 to 3600', async () => {
  const s = await site();
  try {
    const base = '[DEFAULT]\nserverPFXFile = server.pfx\nPFXPasswd = right\ncaFile = ca.pem\ncrlFile = crl.pem\n';
    assert.equal((await checkConfig(s.write('config.ini', base))).config?.firewallCheckIntervalSeconds, 5);
    assert.equal((await checkConfig(s.write('config.ini', base + 'firewallCheckIntervalSeconds = 1\n'))).config?.firewallCheckIntervalSeconds, 1);
    const bad = await checkConfig(s.write('config.ini', base + 'firewallCheckIntervalSeconds = 0\n'));
    assert.equal(bad.ok, false);
    assert.match(bad.problems.join('\n'), /bad value for firewallCheckIntervalSeconds .*line 6/);
  } finally {
    s.done();
  }
});

test('checkConfig: two CAs, a bundle with one CRL each; a CRL naming one CA signed by the other; a CA with no CRL', async () => {
  const s = await site();
  try {
    const both = await checkConfig(s.write('two.ini', '[DEFAULT]\nserverPFXFile = server.pfx\nPFXPasswd = right\ncaFile = other-ca.pem\ncrlFile = both-crls.pem\nfirewallPolicy = drop\n'));
    assert.deepEqual(both.problems, []);
    assert.deepEqual(both.warnings, []);
    const forged = await checkConfig(s.write('forged.ini', '[DEFAULT]\nserverPFXFile = server.pfx\nPFXPasswd = right\ncaFile = other-ca.pem\ncrlFile = forged.pem\nrequireCrl = on\n'));
    assert.match(forged.problems.join('\n'), /CRL 2 of 2 in crlFile .*forged\.pem in .*forged\.ini: its signature does not verify with the key of the CA it names \('CN=Check CA'\)/);
    assert.match(forged.warnings.join('\n'), /no CRL of CA 'CN=Check CA' in .*forged\.pem: knocks through it are refused \(requireCrl\)/);
  } finally {
    s.done();
  }
});
