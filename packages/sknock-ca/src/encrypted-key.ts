import { createCipheriv, randomBytes, scrypt, type KeyObject } from 'node:crypto';
import { encodePem } from '@sknock/protocol';
import { CA_KEY_SALT_LENGTH, CA_KEY_SCRYPT, OID_AES256_CBC, OID_PBES2, OID_SCRYPT } from './constants.js';
import { encodeOid, encodeTlv, encodeUnsigned, readTlvHeader } from './der.js';
import { invalidArgument } from './errors.js';

/**
 * A private key encrypted with a passphrase, as PKCS#8 `ENCRYPTED PRIVATE KEY` PEM:
 *
 *   EncryptedPrivateKeyInfo ::= SEQUENCE {                      -- RFC 5958 §3
 *     encryptionAlgorithm  SEQUENCE { id-PBES2, PBES2-params ::= SEQUENCE {   -- RFC 8018 A.4
 *       keyDerivationFunc  SEQUENCE { id-scrypt, scrypt-params ::= SEQUENCE {  -- RFC 7914 §7
 *         salt OCTET STRING, costParameter INTEGER, blockSize INTEGER, parallelizationParameter INTEGER } },
 *       encryptionScheme   SEQUENCE { id-aes256-CBC, iv OCTET STRING } } },
 *     encryptedData        OCTET STRING }                       -- AES-256-CBC(PKCS#8 DER), PKCS#7 padding
 *
 * Written here because node:crypto's own `export({ cipher, passphrase })` derives the key
 * with PBKDF2 at OpenSSL's default 2048 iterations, far below any current advice. Reading
 * is left to node:crypto (`createPrivateKey({ key, passphrase })`), that is to OpenSSL, so
 * what this writes is checked by an implementation other than this one. The passphrase is
 * taken as its UTF-8 octets, as OpenSSL takes it.
 */

const SCRYPT_MAX_MEMORY = 64 * 1024 * 1024;

function scryptKey(passphrase: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(Buffer.from(passphrase, 'utf8'), salt, 32, { ...CA_KEY_SCRYPT, maxmem: SCRYPT_MAX_MEMORY }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

const octetString = (bytes: Uint8Array): Uint8Array => encodeTlv(0x04, bytes);
const sequence = (...parts: Uint8Array[]): Uint8Array => encodeTlv(0x30, ...parts);

/** `key` as `ENCRYPTED PRIVATE KEY` PEM under `passphrase` (PBES2, scrypt, AES-256-CBC). */
export async function encryptPrivateKey(key: KeyObject, passphrase: string): Promise<string> {
  if (typeof passphrase !== 'string' || passphrase === '') throw invalidArgument('the key passphrase must be a non-empty string');
  const salt = randomBytes(CA_KEY_SALT_LENGTH);
  const iv = randomBytes(16);
  const secret = await scryptKey(passphrase, salt);
  const cipher = createCipheriv('aes-256-cbc', secret, iv);
  const encrypted = Buffer.concat([cipher.update(key.export({ type: 'pkcs8', format: 'der' })), cipher.final()]);
  secret.fill(0);
  const der = sequence(
    sequence(
      encodeOid(OID_PBES2),
      sequence(
        sequence(
          encodeOid(OID_SCRYPT),
          sequence(octetString(salt), encodeUnsigned(CA_KEY_SCRYPT.N), encodeUnsigned(CA_KEY_SCRYPT.r), encodeUnsigned(CA_KEY_SCRYPT.p)),
        ),
        sequence(encodeOid(OID_AES256_CBC), octetString(iv)),
      ),
    ),
    octetString(encrypted),
  );
  return encodePem('ENCRYPTED PRIVATE KEY', der);
}

/**
 * True when `input` is a passphrase-protected private key: PKCS#8 `ENCRYPTED PRIVATE KEY`
 * (PEM, or DER whose first field is an AlgorithmIdentifier rather than the version
 * INTEGER), or a traditional PEM key with `Proc-Type: 4,ENCRYPTED`.
 */
export function isEncryptedPrivateKey(input: Uint8Array | string): boolean {
  const head = typeof input === 'string' ? input : Buffer.from(input.subarray(0, 4096)).toString('latin1');
  if (head.includes('-----BEGIN')) return /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/.test(head);
  if (typeof input === 'string') return false;
  try {
    const outer = readTlvHeader(input, 0);
    return outer.tag === 0x30 && input[outer.offset + outer.headerLength] === 0x30;
  } catch {
    return false;
  }
}
