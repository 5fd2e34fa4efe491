import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import fc from 'fast-check';
import { encodePkcs12, loadCredentials, SknockProtocolError } from '../src/index.js';
import { loadPemCredentials } from '../src/credentials/pem-credentials.js';
import { loadPkcs12Credentials } from '../src/credentials/pkcs12-credentials.js';
import { makeFixtures, type Fixtures } from './credentials-fixtures.js';

/**
 * Arbitrary and mutated bytes into the credential loaders: only `SknockProtocolError` may
 * come out (or, for a mutation that happens to leave a valid file, credentials). The
 * loaders are called below `loadCredentials`, whose last-resort wrapper would otherwise
 * hide an untyped error.
 */

let f: Fixtures;
/** A legacy file at one iteration without its MAC, so mutations reach the bag decryption and parsing. */
let legacyNoMac: Uint8Array;
/** The same in PBES2 form. */
let modernNoMac: Uint8Array;

const PASS = 'fuzz';

function withoutMac(pfx: Uint8Array): Uint8Array {
  const { result } = asn1js.fromBER(pfx);
  const seq = result as asn1js.Sequence;
  seq.valueBlock.value.splice(2, 1);
  return new Uint8Array(seq.toBER());
}

/** PFX { 3, data(content) } around `content`, no MAC: the AuthenticatedSafe is the fuzzed part. */
function pfxAround(content: Uint8Array): Uint8Array {
  const data = (bytes: Uint8Array): asn1js.Sequence =>
    new asn1js.Sequence({
      value: [
        new asn1js.ObjectIdentifier({ value: '1.2.840.113549.1.7.1' }),
        new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [new asn1js.OctetString({ valueHex: bytes })] }),
      ],
    });
  return new Uint8Array(new asn1js.Sequence({ value: [new asn1js.Integer({ value: 3 }), data(content)] }).toBER());
}

/** AuthenticatedSafe { data(safeContents) }: the SafeContents is the fuzzed part. */
function authSafeAround(safeContents: Uint8Array): Uint8Array {
  const ci = new asn1js.Sequence({
    value: [
      new asn1js.ObjectIdentifier({ value: '1.2.840.113549.1.7.1' }),
      new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [new asn1js.OctetString({ valueHex: safeContents })] }),
    ],
  });
  return new Uint8Array(new asn1js.Sequence({ value: [ci] }).toBER());
}

async function onlyTypedErrors(pfx: Uint8Array, passphrase = PASS): Promise<void> {
  try {
    loadPkcs12Credentials(pfx, passphrase);
  } catch (err) {
    if (!(err instanceof SknockProtocolError)) throw new Error(`untyped error: ${String(err)}`, { cause: err });
  }
}

before(async () => {
  f = makeFixtures({ unusable: false });
  const privateKey = createPrivateKey(f.read('client.key'));
  const certificate = new Uint8Array(new X509Certificate(f.read('client.pem')).raw);
  const caCertificates = [new Uint8Array(new X509Certificate(f.read('ca.pem')).raw)];
  legacyNoMac = withoutMac(await encodePkcs12({ privateKey, certificate, caCertificates, passphrase: PASS, legacy: true, iterations: 1 }));
  modernNoMac = withoutMac(await encodePkcs12({ privateKey, certificate, caCertificates, passphrase: PASS, iterations: 1 }));
  // The MAC-less files still load: the mutations below start from a valid file.
  assert.ok((await loadCredentials({ pfx: legacyNoMac, passphrase: PASS })).certificate.length > 0);
  assert.ok((await loadCredentials({ pfx: modernNoMac, passphrase: PASS })).certificate.length > 0);
});

after(() => f?.cleanup());

test('arbitrary bytes as pfx: only SknockProtocolError', async () => {
  await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 1500 }), fc.string({ maxLength: 8 }), onlyTypedErrors), { numRuns: 300 });
});

test('arbitrary bytes as the AuthenticatedSafe and as a SafeContents: only SknockProtocolError', async () => {
  await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), (b) => onlyTypedErrors(pfxAround(b))), { numRuns: 200 });
  await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), (b) => onlyTypedErrors(pfxAround(authSafeAround(b)))), { numRuns: 200 });
});

test('valid MAC-less files (legacy and PBES2) with bytes changed, cut or inserted: only SknockProtocolError', async () => {
  const edit = fc.record({
    which: fc.boolean(),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }),
    mode: fc.constantFrom('overwrite', 'insert', 'cut'),
  });
  await fc.assert(
    fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 3 }), async (edits) => {
      let bytes = Buffer.from(edits[0]?.which ? legacyNoMac : modernNoMac);
      for (const e of edits) {
        const at = e.at % (bytes.length + 1);
        if (e.mode === 'overwrite') bytes.set(e.bytes.subarray(0, Math.max(0, bytes.length - at)), at);
        else if (e.mode === 'insert') bytes = Buffer.concat([bytes.subarray(0, at), e.bytes, bytes.subarray(at)]);
        else bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + e.bytes.length)]);
      }
      await onlyTypedErrors(bytes);
    }),
    { numRuns: 300 },
  );
});

test('arbitrary key and certificate input: only SknockProtocolError', async () => {
  const input = fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.string({ maxLength: 300 }), fc.constant('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'));
  await fc.assert(
    fc.asyncProperty(input, input, fc.option(fc.string({ maxLength: 6 }), { nil: undefined }), async (key, certificate, passphrase) => {
      try {
        loadPemCredentials({ key, certificate, ...(passphrase === undefined ? {} : { passphrase }) });
      } catch (err) {
        if (!(err instanceof SknockProtocolError)) throw new Error(`untyped error: ${String(err)}`, { cause: err });
      }
    }),
    { numRuns: 200 },
  );
});
