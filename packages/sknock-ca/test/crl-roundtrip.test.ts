import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeCrl, findCrlIssuer } from '@sknock/protocol/crl';
import { caIdentity } from '@sknock/protocol/x509';
import { createCa, createCrl, REVOCATION_REASONS, type RevocationReason } from '../src/index.js';

/**
 * CRL encode (src/crl-encode.ts) and decode (`@sknock/protocol/crl`, what the daemon reads
 * CRLs with) side by side: whatever the CA writes is read back field for field and verified
 * with the CA's key. (openssl reads the same CRLs in crl-encode.test.ts.)
 */

const ca = await createCa({ name: 'CRL Round-trip CA' });
const caId = caIdentity(new X509Certificate(ca.certificate));
const REASONS = Object.keys(REVOCATION_REASONS) as RevocationReason[];

const hexSerial = fc
  .uint8Array({ minLength: 1, maxLength: 20 })
  .map((b) => Buffer.from(b).toString('hex').replace(/^0+(?=.)/, ''));
// Whole seconds from 1950 to 2099: both UTCTime and GeneralizedTime.
const date = fc.integer({ min: Date.UTC(1950, 0, 1) / 1000, max: Date.UTC(2099, 11, 31) / 1000 }).map((s) => new Date(s * 1000));

describe('CRL round trip: @sknock/ca encodes, @sknock/protocol/crl decodes', () => {
  it('any entries, dates, reasons and CRL number come back as written, and the signature verifies', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.record({ serial: hexSerial, date, reason: fc.option(fc.constantFrom(...REASONS), { nil: undefined }) }), { selector: (e) => e.serial, maxLength: 30 }),
        date,
        fc.integer({ min: 1, max: 40 * 365 * 86_400 }),
        fc.bigInt({ min: 0n, max: (1n << 159n) - 1n }),
        async (entries, thisUpdate, seconds, crlNumber) => {
          const nextUpdate = new Date(thisUpdate.getTime() + seconds * 1000);
          const revoked = entries.map((e) => ({ serial: e.serial, date: e.date, ...(e.reason === undefined ? {} : { reason: e.reason }) }));
          const der = await createCrl(ca, { revoked, crlNumber, thisUpdate, nextUpdate });
          const crl = decodeCrl(der);
          assert.deepEqual(crl.der, der);
          assert.equal(crl.version, 1);
          assert.equal(crl.thisUpdate.toISOString(), thisUpdate.toISOString());
          assert.equal(crl.nextUpdate?.toISOString(), nextUpdate.toISOString());
          assert.equal(crl.crlNumber, crlNumber);
          assert.deepEqual(crl.authorityKeyId, ca.keyIdentifier);
          assert.deepEqual([...crl.revoked].sort(), entries.map((e) => e.serial).sort());
          assert.equal(crl.signatureAlgorithm, '1.2.840.10045.4.3.2');
          assert.equal(findCrlIssuer(crl, [caId]), caId, 'issuer bytes, key identifier and signature match the CA');
        },
      ),
      { numRuns: 60 },
    );
  });

  it('100,000 entries: every serial is read back', async () => {
    const revoked = Array.from({ length: 100_000 }, (_, i) => ({ serial: (0x80000000 + i * 7).toString(16), date: new Date(1_700_000_000_000 + i * 1000) }));
    const crl = decodeCrl(await createCrl(ca, { revoked, crlNumber: 9 }));
    assert.equal(crl.revoked.size, 100_000);
    assert.ok(crl.revoked.has('80000000') && crl.revoked.has((0x80000000 + 99_999 * 7).toString(16)));
    assert.equal(findCrlIssuer(crl, [caId]), caId);
  });
});
