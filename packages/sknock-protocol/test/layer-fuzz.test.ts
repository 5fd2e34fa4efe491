import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, sign, X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { decodeCrl, findCrlIssuer } from '../src/crl/index.js';
import { DerReader, TAG, encodeExplicit, encodeOctetString, encodeOid, encodeSequence, encodeTime, encodeUnsignedInteger, readOid, readTime } from '../src/der/index.js';
import { SknockError } from '../src/errors/index.js';
import { parsePortGrants } from '../src/grants.js';
import { OID_CRL_NUMBER, OID_ECDSA_WITH_SHA256 } from '../src/oids.js';
import { caIdentity, certificateP256Key, nameText, normaliseSerial, readCertificateFields } from '../src/x509/index.js';
import { clientCertificate, golden, serverCertificate } from './support/golden.js';

// The DER, X.509 and CRL decoders of the protocol layer meet arbitrary and mutated input;
// only typed errors (a SknockError with an ERR_SKNOCK_ code) may come out, and the readers
// that promise never to throw do not.
function onlyTyped(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SknockError, `untyped error: ${String(err)} ${(err as Error)?.stack ?? ''}`);
    assert.match(err.code, /^ERR_SKNOCK_/);
  }
}

const runs = { numRuns: 400 };

/** Every element of `r`, recursively into constructed ones. */
function walk(r: DerReader, depth = 0): number {
  let n = 0;
  while (!r.atEnd) {
    const tlv = r.next(undefined, 'element');
    n++;
    if ((tlv.tag & 0x20) !== 0 && depth < 40) n += walk(r.inside(tlv), depth + 1);
    else if (tlv.tag === TAG.OID) readOid(new DerReader(r.encodingOf(tlv)), 'oid');
    else if (tlv.tag === TAG.UTC_TIME || tlv.tag === TAG.GENERALIZED_TIME) readTime(new DerReader(r.encodingOf(tlv)), 'time');
  }
  return n;
}

/** One byte range of `bytes` overwritten, or the bytes cut short. */
function mutated(samples: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.constantFrom(...samples), fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 4 }), fc.boolean()).map(([s, at, patch, cut]) => {
    const copy = new Uint8Array(s);
    const i = at % copy.length;
    if (cut) return copy.subarray(0, i);
    copy.set(patch.subarray(0, copy.length - i), i);
    return copy;
  });
}

const caKey = createPrivateKey(golden.serverKeyPem);
const issuer = readCertificateFields(serverCertificate).subject;

/** A small CRL written with the package's DER writer and signed by the golden server key. */
function sampleCrl(): Uint8Array {
  const algorithm = encodeSequence(encodeOid(OID_ECDSA_WITH_SHA256));
  const entry = (serial: number): Uint8Array => encodeSequence(encodeUnsignedInteger(serial), encodeTime(new Date('2026-01-01T00:00:00Z')));
  const tbs = encodeSequence(
    encodeUnsignedInteger(1),
    algorithm,
    issuer,
    encodeTime(new Date('2026-01-02T00:00:00Z')),
    encodeTime(new Date('2026-02-02T00:00:00Z')),
    encodeSequence(entry(10), entry(0xff00), entry(0x7b2c)),
    encodeExplicit(0, encodeSequence(encodeSequence(encodeOid(OID_CRL_NUMBER), encodeOctetString(encodeUnsignedInteger(7))))),
  );
  const signature = sign('sha256', tbs, caKey);
  return encodeSequence(tbs, algorithm, Uint8Array.from([TAG.BIT_STRING, ...derLength(signature.length + 1), 0, ...signature]));
}

function derLength(n: number): number[] {
  return n < 0x80 ? [n] : [0x81, n];
}

const crl = sampleCrl();

test('the sample CRL decodes and verifies (the fuzz below starts from a good one)', () => {
  const decoded = decodeCrl(crl);
  assert.deepEqual([...decoded.revoked].sort(), ['7b2c', 'a', 'ff00']);
  assert.equal(decoded.crlNumber, 7n);
  const ca = caIdentity(new X509Certificate(serverCertificate));
  assert.equal(findCrlIssuer(decoded, [ca]), ca);
});

test('DerReader (DER and BER modes): arbitrary and mutated DER give typed errors only', () => {
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), mutated([clientCertificate, crl])), fc.constantFrom('der' as const, 'ber' as const), (b, mode) =>
      onlyTyped(() => walk(new DerReader(b, 'ERR_SKNOCK_MALFORMED_DER', 0, b.length, mode))),
    ),
    runs,
  );
});

test('readCertificateFields, parsePortGrants, caIdentity: arbitrary and mutated certificates give typed errors only', () => {
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 900 }), mutated([clientCertificate, serverCertificate])), (b) => {
      onlyTyped(() => readCertificateFields(b));
      onlyTyped(() => parsePortGrants(b));
      let cert: X509Certificate | undefined;
      try {
        cert = new X509Certificate(b);
      } catch {
        cert = undefined; // node does not read it either
      }
      if (cert !== undefined) onlyTyped(() => caIdentity(cert));
      certificateP256Key(b); // never throws: null for anything but a P-256 certificate
      nameText(b); // never throws
    }),
    runs,
  );
});

test('decodeCrl and findCrlIssuer: arbitrary and mutated CRLs give typed errors only', () => {
  const ca = caIdentity(new X509Certificate(serverCertificate));
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), mutated([crl])), (b) =>
      onlyTyped(() => findCrlIssuer(decodeCrl(b), [ca])),
    ),
    runs,
  );
});

test('normaliseSerial: arbitrary text gives canonical hex or ERR_SKNOCK_INVALID_ARGUMENT', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 50 }), (s) => {
      try {
        assert.match(normaliseSerial(s), /^(0|[1-9a-f][0-9a-f]*)$/);
      } catch (err) {
        assert.equal((err as SknockError).code, 'ERR_SKNOCK_INVALID_ARGUMENT', String(err));
      }
    }),
    runs,
  );
  for (const s of ['0A:BC', '0x0abc', 'ABC', '00000abc', ' abc ']) assert.equal(normaliseSerial(s), 'abc');
  assert.equal(normaliseSerial('00'), '0');
  assert.equal(normaliseSerial(new Uint8Array([0, 0x0a, 0xbc])), 'abc');
});
