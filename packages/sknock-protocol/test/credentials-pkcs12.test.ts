import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, sign, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { encodePkcs12, loadCredentials, isSknockProtocolError, type SknockProtocolErrorCode } from '../src/index.js';
import * as asn1js from 'asn1js';
import { encodeMacData } from '../src/credentials/mac.js';
import { buildPkcs12 } from '../src/credentials/pkcs12-encode.js';
import { bmpPassword } from '../src/credentials/pkcs12-kdf.js';
import { exportPkcs12, makeFixtures, opensslInfo, opensslSubject, PASSWORD, type Fixtures } from './credentials-fixtures.js';

let f: Fixtures;
let clientDer: Uint8Array;
let caDer: Uint8Array;
let clientKey: KeyObject;
const pfx: Record<string, Buffer> = {};

function der(pemFile: string): Uint8Array {
  return new Uint8Array(new X509Certificate(f.read(pemFile)).raw);
}

async function rejectsWith(promise: Promise<unknown>, code: SknockProtocolErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isSknockProtocolError(err), `expected a SknockProtocolError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message !== undefined) assert.match(err.message, message);
    return true;
  });
}

/** The key really is the client's: a signature made with it verifies under the client certificate. */
function assertClientKey(key: KeyObject): void {
  assert.equal(key.asymmetricKeyType, 'ec');
  assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  const data = Buffer.from('knock');
  assert.ok(verify('sha256', data, new X509Certificate(clientDer).publicKey, sign('sha256', data, key)));
  assert.deepEqual(createPublicKey(key).export({ format: 'jwk' }), createPublicKey(clientKey).export({ format: 'jwk' }));
}

before(() => {
  f = makeFixtures();
  clientDer = der('client.pem');
  caDer = der('ca.pem');
  clientKey = createPrivateKey(f.read('client.key'));
  const chain = ['-inkey', 'client.key', '-in', 'client.pem', '-certfile', 'ca.pem', '-name', 'Test Client'];
  pfx['modern'] = exportPkcs12(f, 'modern.pfx', chain);
  pfx['legacy'] = exportPkcs12(f, 'legacy.pfx', [...chain, '-legacy']);
  pfx['nokeys'] = exportPkcs12(f, 'nokeys.pfx', ['-nokeys', '-in', 'client.pem']);
  pfx['nocerts'] = exportPkcs12(f, 'nocerts.pfx', ['-nocerts', '-inkey', 'client.key']);
  pfx['rsa'] = exportPkcs12(f, 'rsa.pfx', ['-inkey', 'rsa.key', '-in', 'rsa.pem']);
  pfx['p384'] = exportPkcs12(f, 'p384.pfx', ['-inkey', 'p384.key', '-in', 'p384.pem']);
  pfx['plain'] = exportPkcs12(f, 'plain.pfx', [...chain, '-keypbe', 'NONE', '-certpbe', 'NONE']);
  pfx['nomac'] = exportPkcs12(f, 'nomac.pfx', [...chain, '-nomac']);
  pfx['3des'] = exportPkcs12(f, '3des.pfx', [...chain, '-keypbe', 'PBE-SHA1-3DES', '-certpbe', 'PBE-SHA1-3DES', '-macalg', 'sha1']);
  pfx['aes128'] = exportPkcs12(f, 'aes128.pfx', [...chain, '-keypbe', 'AES-128-CBC', '-certpbe', 'AES-128-CBC', '-iter', '1000']);
  pfx['rc4'] = exportPkcs12(f, 'rc4.pfx', [...chain, '-legacy', '-certpbe', 'PBE-SHA1-RC4-128']);
  f.openssl(['pkcs12', '-export', '-passout', 'pass:', '-out', 'empty.pfx', ...chain]);
  pfx['empty'] = f.read('empty.pfx');
  f.openssl(['pkcs12', '-export', '-legacy', '-passout', 'pass:pässwörd €', '-out', 'unicode.pfx', ...chain]);
  pfx['unicode'] = f.read('unicode.pfx');
});

after(() => f?.cleanup());

describe('loadCredentials({ pfx }) with files from openssl pkcs12 -export', () => {
  for (const kind of ['modern', 'legacy', 'plain', 'nomac', '3des', 'aes128']) {
    test(`${kind}: key, end-entity certificate and CA certificate come out`, async () => {
      const c = await loadCredentials({ pfx: pfx[kind] as Buffer, passphrase: PASSWORD });
      assert.deepEqual(c.certificate, clientDer);
      assert.deepEqual(c.caCertificates, [caDer]);
      assertClientKey(c.privateKey);
    });
  }

  test('a pfx that is a view into a larger buffer loads', async () => {
    const bytes = pfx['legacy'] as Buffer;
    const big = Buffer.concat([Buffer.alloc(37, 0x30), bytes, Buffer.alloc(11, 0x30)]);
    const c = await loadCredentials({ pfx: big.subarray(37, 37 + bytes.length), passphrase: PASSWORD });
    assert.deepEqual(c.certificate, clientDer);
  });

  test('the openssl files are of the kinds the tests claim', () => {
    assert.match(opensslInfo(f, 'legacy.pfx', PASSWORD, true), /MAC: sha1[\s\S]*pbeWithSHA1And40BitRC2-CBC[\s\S]*pbeWithSHA1And3-KeyTripleDES-CBC/);
    assert.match(opensslInfo(f, 'modern.pfx', PASSWORD, false), /MAC: sha256[\s\S]*PBES2, PBKDF2, AES-256-CBC/);
    assert.doesNotMatch(opensslInfo(f, 'plain.pfx', PASSWORD, false), /Encrypted data|Shrouded/);
    assert.match(opensslInfo(f, 'nomac.pfx', PASSWORD, false), /MAC is absent/);
  });

  test('empty and non-ASCII passwords load, as openssl wrote them', async () => {
    const empty = await loadCredentials({ pfx: pfx['empty'] as Buffer, passphrase: '' });
    assert.deepEqual(empty.certificate, clientDer);
    const unicode = await loadCredentials({ pfx: pfx['unicode'] as Buffer, passphrase: 'pässwörd €' });
    assert.deepEqual(unicode.certificate, clientDer);
    await rejectsWith(loadCredentials({ pfx: pfx['unicode'] as Buffer, passphrase: 'passwort €' }), 'ERR_SKNOCK_BAD_PASSPHRASE');
  });

  test('a wrong password is ERR_SKNOCK_BAD_PASSPHRASE, with and without a MAC', async () => {
    for (const kind of ['modern', 'legacy', 'plain', 'nomac', '3des']) {
      await rejectsWith(loadCredentials({ pfx: pfx[kind] as Buffer, passphrase: 'wrong' }), 'ERR_SKNOCK_BAD_PASSPHRASE');
    }
    await rejectsWith(loadCredentials({ pfx: pfx['modern'] as Buffer, passphrase: '' }), 'ERR_SKNOCK_BAD_PASSPHRASE');
  });

  test('truncated at every 5th length: ERR_SKNOCK_MALFORMED_PKCS12 or ERR_SKNOCK_BAD_PASSPHRASE, nothing else', async () => {
    for (const kind of ['modern', 'legacy', 'nomac']) {
      const bytes = pfx[kind] as Buffer;
      let tried = 0;
      for (let n = 0; n < bytes.length; n += 5) {
        await assert.rejects(loadCredentials({ pfx: bytes.subarray(0, n), passphrase: PASSWORD }), (err: unknown) => {
          assert.ok(
            isSknockProtocolError(err, 'ERR_SKNOCK_MALFORMED_PKCS12') || isSknockProtocolError(err, 'ERR_SKNOCK_BAD_PASSPHRASE'),
            `${kind} cut to ${n} bytes: ${String(err)}`,
          );
          return true;
        });
        tried++;
      }
      assert.ok(tried > 100, `${kind}: only ${tried} lengths`);
    }
  });

  test('one flipped byte anywhere is a typed error (mostly the MAC: ERR_SKNOCK_BAD_PASSPHRASE)', async () => {
    const bytes = pfx['legacy'] as Buffer;
    const codes = new Map<string, number>();
    for (let i = 0; i < bytes.length; i += 23) {
      const copy = Buffer.from(bytes);
      copy[i] = (copy[i] as number) ^ 0x41;
      try {
        await loadCredentials({ pfx: copy, passphrase: PASSWORD });
        codes.set('loaded', (codes.get('loaded') ?? 0) + 1);
      } catch (err) {
        assert.ok(isSknockProtocolError(err), `byte ${i}: ${String(err)}`);
        codes.set(err.code, (codes.get(err.code) ?? 0) + 1);
      }
    }
    assert.ok((codes.get('ERR_SKNOCK_BAD_PASSPHRASE') ?? 0) > 10, JSON.stringify([...codes]));
  });

  test('an RSA or P-384 key is ERR_SKNOCK_UNSUPPORTED_KEY', async () => {
    await rejectsWith(loadCredentials({ pfx: pfx['rsa'] as Buffer, passphrase: PASSWORD }), 'ERR_SKNOCK_UNSUPPORTED_KEY', /RSA/);
    await rejectsWith(loadCredentials({ pfx: pfx['p384'] as Buffer, passphrase: PASSWORD }), 'ERR_SKNOCK_UNSUPPORTED_KEY', /secp384r1/);
  });

  test('certificates only (-nokeys) is ERR_SKNOCK_MISSING_KEY; key only (-nocerts) is ERR_SKNOCK_MISSING_CERTIFICATE', async () => {
    await rejectsWith(loadCredentials({ pfx: pfx['nokeys'] as Buffer, passphrase: PASSWORD }), 'ERR_SKNOCK_MISSING_KEY');
    await rejectsWith(loadCredentials({ pfx: pfx['nocerts'] as Buffer, passphrase: PASSWORD }), 'ERR_SKNOCK_MISSING_CERTIFICATE');
  });

  test('a key with only foreign certificates is ERR_SKNOCK_KEY_MISMATCH', async () => {
    const bytes = buildPkcs12({
      pkcs8: new Uint8Array(clientKey.export({ format: 'der', type: 'pkcs8' })),
      certificate: caDer,
      caCertificates: [],
      passphrase: PASSWORD,
      legacy: false,
      localKeyId: new Uint8Array(4),
      iterations: 1,
    });
    await rejectsWith(loadCredentials({ pfx: bytes, passphrase: PASSWORD }), 'ERR_SKNOCK_KEY_MISMATCH');
  });

  test('RC4 bags are ERR_SKNOCK_UNSUPPORTED_PKCS12', async () => {
    await rejectsWith(loadCredentials({ pfx: pfx['rc4'] as Buffer, passphrase: PASSWORD }), 'ERR_SKNOCK_UNSUPPORTED_PKCS12', /RC4/);
  });

  test('garbage, PEM text and empty input are ERR_SKNOCK_MALFORMED_PKCS12', async () => {
    await rejectsWith(loadCredentials({ pfx: new Uint8Array(0), passphrase: PASSWORD }), 'ERR_SKNOCK_MALFORMED_PKCS12');
    await rejectsWith(loadCredentials({ pfx: f.read('client.pem'), passphrase: PASSWORD }), 'ERR_SKNOCK_MALFORMED_PKCS12');
    await rejectsWith(loadCredentials({ pfx: Buffer.from('30030201', 'hex'), passphrase: PASSWORD }), 'ERR_SKNOCK_MALFORMED_PKCS12');
    // A certificate is a well-formed SEQUENCE, but not a PFX.
    await rejectsWith(loadCredentials({ pfx: clientDer, passphrase: PASSWORD }), 'ERR_SKNOCK_MALFORMED_PKCS12');
    // A valid file with bytes after its end.
    await rejectsWith(loadCredentials({ pfx: Buffer.concat([pfx['modern'] as Buffer, Buffer.of(0)]), passphrase: PASSWORD }), 'ERR_SKNOCK_MALFORMED_PKCS12');
  });

  test('wrong option types are ERR_SKNOCK_INVALID_ARGUMENT naming the option', async () => {
    await rejectsWith(loadCredentials({ pfx: 'abc' as unknown as Uint8Array, passphrase: PASSWORD }), 'ERR_SKNOCK_INVALID_ARGUMENT', /pfx/);
    await rejectsWith(loadCredentials({ pfx: pfx['modern'] as Buffer } as never), 'ERR_SKNOCK_INVALID_ARGUMENT', /passphrase/);
    await rejectsWith(loadCredentials({ pfx: pfx['modern'] as Buffer, passphrase: 5 } as never), 'ERR_SKNOCK_INVALID_ARGUMENT', /passphrase/);
    await rejectsWith(loadCredentials(null as never), 'ERR_SKNOCK_INVALID_ARGUMENT', /options/);
    await rejectsWith(loadCredentials({} as never), 'ERR_SKNOCK_INVALID_ARGUMENT', /pfx/);
    await rejectsWith(loadCredentials({ pfx: pfx['modern'] as Buffer, passphrase: PASSWORD, key: 'x' } as never), 'ERR_SKNOCK_INVALID_ARGUMENT', /not both/);
  });
});

/** Every constructed element of `node` in indefinite-length form (X.690 §8.1.3.6). */
function indefinite(node: asn1js.AsnType): void {
  if (!node.idBlock.isConstructed) return;
  node.lenBlock.isIndefiniteForm = true;
  for (const child of (node.valueBlock as { value?: asn1js.AsnType[] }).value ?? []) indefinite(child);
}

/** `bytes` as a constructed, indefinite-length string of 50-byte segments with the given tag. */
function segmented(bytes: Uint8Array, idBlock: { tagClass: number; tagNumber: number }): asn1js.Constructed {
  const value: asn1js.OctetString[] = [];
  for (let i = 0; i < bytes.length; i += 50) value.push(new asn1js.OctetString({ valueHex: bytes.subarray(i, i + 50) }));
  return new asn1js.Constructed({ idBlock, lenBlock: { isIndefiniteForm: true }, value });
}

/**
 * A BER form of a DER PKCS#12 file, as some other tools write: indefinite lengths throughout,
 * the contents and the encrypted bags as segmented OCTET STRINGs; the MAC recomputed over the
 * new AuthenticatedSafe encoding.
 */
function toBer(der: Uint8Array, passphrase: string): Uint8Array {
  const pfxNode = asn1js.fromBER(der).result as asn1js.Sequence;
  const [, authSafeInfo] = pfxNode.valueBlock.value as [asn1js.Integer, asn1js.Sequence];
  const explicitContent = authSafeInfo.valueBlock.value[1] as asn1js.Constructed;
  const authSafe = asn1js.fromBER((explicitContent.valueBlock.value[0] as asn1js.OctetString).getValue()).result as asn1js.Sequence;
  for (const info of authSafe.valueBlock.value as asn1js.Sequence[]) {
    const [type, content] = info.valueBlock.value as [asn1js.ObjectIdentifier, asn1js.Constructed];
    if (type.getValue() !== '1.2.840.113549.1.7.6') continue;
    const encryptedContentInfo = (content.valueBlock.value[0] as asn1js.Sequence).valueBlock.value[1] as asn1js.Sequence;
    const encrypted = encryptedContentInfo.valueBlock.value[2] as asn1js.Primitive;
    encryptedContentInfo.valueBlock.value[2] = segmented(encrypted.valueBlock.valueHexView, { tagClass: 3, tagNumber: 0 });
  }
  indefinite(authSafe);
  const authSafeBer = new Uint8Array(authSafe.toBER());
  explicitContent.valueBlock.value[0] = segmented(authSafeBer, { tagClass: 1, tagNumber: 4 });
  pfxNode.valueBlock.value[2] = asn1js.fromBER(encodeMacData('sha256', bmpPassword(passphrase), 16, authSafeBer)).result;
  pfxNode.lenBlock.isIndefiniteForm = true;
  authSafeInfo.lenBlock.isIndefiniteForm = true;
  explicitContent.lenBlock.isIndefiniteForm = true;
  return new Uint8Array(pfxNode.toBER());
}

describe('BER input', () => {
  test('indefinite lengths and segmented OCTET STRINGs load (and openssl reads the same file)', async () => {
    const der = await encodePkcs12({ privateKey: clientKey, certificate: clientDer, caCertificates: [caDer], passphrase: PASSWORD, iterations: 16 });
    const ber = toBer(der, PASSWORD);
    assert.equal(ber[1], 0x80, 'outer SEQUENCE has an indefinite length');
    assert.notDeepEqual(ber, der);
    f.write('ber.pfx', ber);
    const layout = f.openssl(['asn1parse', '-inform', 'DER', '-in', 'ber.pfx']).toString();
    assert.match(layout, /l=inf\s+cons: SEQUENCE[\s\S]*cons: OCTET STRING/);
    const inner = f.openssl(['asn1parse', '-inform', 'DER', '-in', 'ber.pfx', '-strparse', String(/^\s*(\d+):.*cons: OCTET STRING/m.exec(layout)?.[1])]).toString();
    assert.match(inner, /l=inf\s+cons: cont \[ 0 \]\s*\n.*prim: OCTET STRING/);
    assert.match(opensslInfo(f, 'ber.pfx', PASSWORD, false), /MAC: sha256, Iteration 16[\s\S]*Certificate bag[\s\S]*Shrouded Keybag/);
    const c = await loadCredentials({ pfx: ber, passphrase: PASSWORD });
    assert.deepEqual(c.certificate, clientDer);
    assert.deepEqual(c.caCertificates, [caDer]);
    assertClientKey(c.privateKey);
    await rejectsWith(loadCredentials({ pfx: ber, passphrase: 'wrong' }), 'ERR_SKNOCK_BAD_PASSPHRASE');
  });
});

describe('encodePkcs12', () => {
  for (const legacy of [false, true]) {
    const label = legacy ? 'legacy' : 'modern';
    test(`${label}: openssl pkcs12 -info reads it, with the expected algorithms and attributes, and loadCredentials reads it back`, async () => {
      const bytes = await encodePkcs12({ privateKey: clientKey, certificate: clientDer, caCertificates: [caDer], passphrase: PASSWORD, legacy, friendlyName: 'Knock Client' });
      f.write(`encoded-${label}.pfx`, bytes);
      const text = opensslInfo(f, `encoded-${label}.pfx`, PASSWORD, legacy);
      if (legacy) {
        assert.match(text, /MAC: sha1, Iteration 2048/);
        assert.match(text, /Encrypted data: pbeWithSHA1And40BitRC2-CBC, Iteration 2048/);
        assert.match(text, /Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2048/);
      } else {
        assert.match(text, /MAC: sha256, Iteration 2048/);
        assert.match(text, /Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256/);
        assert.match(text, /Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256/);
      }
      assert.match(text, /friendlyName: Knock Client/);
      const localKeyId = createHash('sha1').update(clientDer).digest('hex').toUpperCase().match(/../g)?.join(' ');
      assert.ok(text.includes(`localKeyID: ${localKeyId}`), text);
      assert.equal((text.match(/BEGIN CERTIFICATE/g) ?? []).length, 2);

      // openssl extracts the same private key.
      const keyPem = f.openssl(['pkcs12', ...(legacy ? ['-legacy'] : []), '-nocerts', '-nodes', '-in', `encoded-${label}.pfx`, '-passin', `pass:${PASSWORD}`]);
      assert.deepEqual(createPrivateKey(keyPem).export({ format: 'jwk' }), clientKey.export({ format: 'jwk' }));

      const c = await loadCredentials({ pfx: bytes, passphrase: PASSWORD });
      assert.deepEqual(c.certificate, clientDer);
      assert.deepEqual(c.caCertificates, [caDer]);
      assertClientKey(c.privateKey);
      assert.match(opensslSubject(f, c.certificate), /CN=Credentials Test Client/);
      await rejectsWith(loadCredentials({ pfx: bytes, passphrase: `${PASSWORD}!` }), 'ERR_SKNOCK_BAD_PASSPHRASE');
    });
  }

  test('each call uses fresh salts and IVs; iterations can be set', async () => {
    const a = await encodePkcs12({ privateKey: clientKey, certificate: clientDer, passphrase: 'p', iterations: 10 });
    const b = await encodePkcs12({ privateKey: clientKey, certificate: clientDer, passphrase: 'p', iterations: 10 });
    assert.notDeepEqual(a, b);
    const c = await loadCredentials({ pfx: a, passphrase: 'p' });
    assert.deepEqual(c.caCertificates, []);
    f.write('iter10.pfx', a);
    assert.match(opensslInfo(f, 'iter10.pfx', 'p', false), /MAC: sha256, Iteration 10\b[\s\S]*AES-256-CBC, Iteration 10\b/);
  });

  test('bad options: KEY_MISMATCH, UNSUPPORTED_KEY, INVALID_CERTIFICATE, INVALID_ARGUMENT', async () => {
    await rejectsWith(encodePkcs12({ privateKey: clientKey, certificate: caDer, passphrase: 'p' }), 'ERR_SKNOCK_KEY_MISMATCH');
    await rejectsWith(encodePkcs12({ privateKey: createPrivateKey(f.read('rsa.key')), certificate: der('rsa.pem'), passphrase: 'p' }), 'ERR_SKNOCK_UNSUPPORTED_KEY');
    await rejectsWith(encodePkcs12({ privateKey: clientKey, certificate: new Uint8Array(10), passphrase: 'p' }), 'ERR_SKNOCK_INVALID_CERTIFICATE');
    await rejectsWith(encodePkcs12({ privateKey: clientKey, certificate: 'x' as never, passphrase: 'p' }), 'ERR_SKNOCK_INVALID_ARGUMENT', /certificate/);
    await rejectsWith(encodePkcs12({ privateKey: 'k' as never, certificate: clientDer, passphrase: 'p' }), 'ERR_SKNOCK_INVALID_ARGUMENT', /privateKey/);
    await rejectsWith(encodePkcs12({ privateKey: clientKey, certificate: clientDer, passphrase: 1 as never }), 'ERR_SKNOCK_INVALID_ARGUMENT', /passphrase/);
    await rejectsWith(encodePkcs12({ privateKey: clientKey, certificate: clientDer, passphrase: 'p', legacy: 'yes' as never }), 'ERR_SKNOCK_INVALID_ARGUMENT', /legacy/);
    await rejectsWith(encodePkcs12({ privateKey: clientKey, certificate: clientDer, passphrase: 'p', caCertificates: [new Uint8Array(3)] }), 'ERR_SKNOCK_INVALID_CERTIFICATE', /caCertificates\[0\]/);
    await rejectsWith(encodePkcs12({ privateKey: clientKey, certificate: clientDer, passphrase: 'p', iterations: 0 }), 'ERR_SKNOCK_INVALID_ARGUMENT', /iterations/);
  });
});
