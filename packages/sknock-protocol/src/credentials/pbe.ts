import { createCipheriv, createDecipheriv, pbkdf2Sync, randomBytes } from 'node:crypto';
import { encodeNull, encodeOctetString, encodeOid, encodeSequence, encodeUnsignedInteger } from '../der/der-writer.js';
import { SknockProtocolError } from '../errors/protocol-error.js';
import {
  algorithmIdentifier,
  integer,
  isInteger,
  isSequence,
  malformed,
  octets,
  sequence,
  type AlgorithmIdentifier,
  type Asn1Node,
} from './asn1-read.js';
import {
  BLOCK_64,
  type CbcCipher,
  DES2_KEY_LENGTH,
  DES3_KEY_LENGTH,
  KDF_ID_IV,
  KDF_ID_KEY,
  MAX_ITERATIONS,
  OID_AES_256_CBC,
  OID_HMAC_WITH_SHA1,
  OID_HMAC_WITH_SHA256,
  OID_PBE_SHA1_3DES_2KEY,
  OID_PBE_SHA1_3DES_3KEY,
  OID_PBE_SHA1_RC2_128,
  OID_PBE_SHA1_RC2_40,
  OID_PBE_SHA1_RC4_128,
  OID_PBE_SHA1_RC4_40,
  OID_PBES2,
  OID_PBKDF2,
  PBES2_CIPHER_BY_OID,
  PBKDF2_PRF_BY_OID,
  RC2_128_KEY_LENGTH,
  RC2_40_KEY_LENGTH,
  SALT_LENGTH,
} from './constants.js';
import { pkcs12Kdf } from './pkcs12-kdf.js';
import { rc2CbcDecrypt, rc2CbcEncrypt } from './rc2.js';

/**
 * Password-based encryption of PKCS#12 bags: the legacy schemes of RFC 7292 appendix C
 * (SHA-1 and the appendix B KDF, with RC2-CBC or triple-DES-CBC) and PBES2 (RFC 8018 §6.2:
 * PBKDF2 with AES-CBC or triple-DES-CBC). Decrypting never throws anything but a
 * `SknockProtocolError`: a padding failure reads as a wrong password.
 */

/** The password in both forms the schemes use. */
export interface PbePassword {
  /** PBES2: PBKDF2 takes the password as UTF-8 (what OpenSSL does). */
  readonly utf8: Uint8Array;
  /** Legacy schemes: the BMPString form of RFC 7292 appendix B.1 (chosen by the MAC check). */
  readonly bmp: Uint8Array;
}

interface LegacyScheme {
  readonly cipher: 'rc2' | 'des-ede3-cbc';
  readonly keyLength: number;
  /** RC2 effective key bits (RFC 2268 T1); equal to the key length in bits for these schemes. */
  readonly effectiveBits: number;
}

/** RFC 7292 appendix C: the legacy schemes implemented. */
const LEGACY_SCHEMES: ReadonlyMap<string, LegacyScheme> = new Map([
  [OID_PBE_SHA1_RC2_40, { cipher: 'rc2', keyLength: RC2_40_KEY_LENGTH, effectiveBits: 8 * RC2_40_KEY_LENGTH }],
  [OID_PBE_SHA1_RC2_128, { cipher: 'rc2', keyLength: RC2_128_KEY_LENGTH, effectiveBits: 8 * RC2_128_KEY_LENGTH }],
  [OID_PBE_SHA1_3DES_3KEY, { cipher: 'des-ede3-cbc', keyLength: DES3_KEY_LENGTH, effectiveBits: 0 }],
  [OID_PBE_SHA1_3DES_2KEY, { cipher: 'des-ede3-cbc', keyLength: DES2_KEY_LENGTH, effectiveBits: 0 }],
]);

const NAMES: ReadonlyMap<string, string> = new Map([
  [OID_PBE_SHA1_RC4_128, 'pbeWithSHAAnd128BitRC4'],
  [OID_PBE_SHA1_RC4_40, 'pbeWithSHAAnd40BitRC4'],
]);

function unsupported(what: string, detail: string): SknockProtocolError {
  return new SknockProtocolError('ERR_SKNOCK_UNSUPPORTED_PKCS12', `${what}: ${detail}`);
}

function wrongPassword(what: string): SknockProtocolError {
  return new SknockProtocolError('ERR_SKNOCK_BAD_PASSPHRASE', `${what} did not decrypt: wrong passphrase`);
}

function iterationCount(node: Asn1Node | undefined, what: string): number {
  const n = integer(node, `${what} iteration count`, 1, Number.MAX_SAFE_INTEGER);
  if (n > MAX_ITERATIONS) throw unsupported(what, `iteration count ${n} is above the limit of ${MAX_ITERATIONS}`);
  return n;
}

/** Decrypts `ciphertext` under the algorithm `algorithm` names. */
export function pbeDecrypt(algorithm: AlgorithmIdentifier, ciphertext: Uint8Array, password: PbePassword, what: string): Uint8Array {
  const legacy = LEGACY_SCHEMES.get(algorithm.oid);
  if (legacy !== undefined) return legacyDecrypt(legacy, algorithm.parameters, ciphertext, password, what);
  if (algorithm.oid === OID_PBES2) return pbes2Decrypt(algorithm.parameters, ciphertext, password, what);
  throw unsupported(what, `encryption algorithm ${NAMES.get(algorithm.oid) ?? algorithm.oid} is not implemented`);
}

/** RFC 7292 appendix C: `pkcs-12PbeParams ::= SEQUENCE { salt OCTET STRING, iterations INTEGER }`. */
function legacyDecrypt(
  scheme: LegacyScheme,
  parameters: Asn1Node | undefined,
  ciphertext: Uint8Array,
  password: PbePassword,
  what: string,
): Uint8Array {
  const [saltNode, iterationNode] = sequence(parameters, `${what} PBE parameters`, 2, 2);
  const salt = octets(saltNode, `${what} PBE salt`);
  const iterations = iterationCount(iterationNode, what);
  if (ciphertext.length === 0 || ciphertext.length % BLOCK_64 !== 0) throw malformed(what, 'ciphertext is not whole 8-byte blocks');
  const key = pkcs12Kdf('sha1', password.bmp, salt, KDF_ID_KEY, iterations, scheme.keyLength);
  const iv = pkcs12Kdf('sha1', password.bmp, salt, KDF_ID_IV, iterations, BLOCK_64);
  const plaintext =
    scheme.cipher === 'rc2'
      ? rc2CbcDecrypt(key, scheme.effectiveBits, iv, ciphertext)
      : nodeDecrypt('des-ede3-cbc', tripleDesKey(key), iv, ciphertext);
  key.fill(0);
  if (plaintext === undefined) throw wrongPassword(what);
  return plaintext;
}

/** A two-key triple-DES key K1 ‖ K2 becomes K1 ‖ K2 ‖ K1. */
function tripleDesKey(key: Uint8Array): Uint8Array {
  if (key.length === DES3_KEY_LENGTH) return key;
  return Uint8Array.from([...key, ...key.subarray(0, DES3_KEY_LENGTH - key.length)]);
}

function nodeDecrypt(cipher: string, key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array): Uint8Array | undefined {
  try {
    const d = createDecipheriv(cipher, key, iv);
    return Uint8Array.from(Buffer.concat([d.update(ciphertext), d.final()]));
  } catch {
    return undefined;
  }
}

/**
 * RFC 8018 appendix A.4: `PBES2-params ::= SEQUENCE { keyDerivationFunc, encryptionScheme }`,
 * with PBKDF2 (appendix A.2) as the only key derivation function.
 */
function pbes2Decrypt(parameters: Asn1Node | undefined, ciphertext: Uint8Array, password: PbePassword, what: string): Uint8Array {
  const [kdfNode, schemeNode] = sequence(parameters, `${what} PBES2 parameters`, 2, 2);
  const kdf = algorithmIdentifier(kdfNode, `${what} PBES2 key derivation`);
  if (kdf.oid !== OID_PBKDF2) throw unsupported(what, `PBES2 key derivation ${kdf.oid} is not implemented (only PBKDF2)`);
  const scheme = algorithmIdentifier(schemeNode, `${what} PBES2 encryption scheme`);
  const cipher = PBES2_CIPHER_BY_OID.get(scheme.oid);
  if (cipher === undefined) throw unsupported(what, `PBES2 encryption scheme ${scheme.oid} is not implemented`);
  const iv = octets(scheme.parameters, `${what} PBES2 IV`);
  if (iv.length !== cipher.ivLength) throw malformed(what, `${cipher.name} IV is ${iv.length} bytes, not ${cipher.ivLength}`);

  // PBKDF2-params ::= SEQUENCE { salt CHOICE { specified OCTET STRING, ... }, iterationCount,
  //   keyLength INTEGER OPTIONAL, prf AlgorithmIdentifier DEFAULT hmacWithSHA1 }
  const fields = sequence(kdf.parameters, `${what} PBKDF2 parameters`, 2, 4);
  const [saltNode, iterationNode] = fields;
  if (isSequence(saltNode)) throw unsupported(what, 'PBKDF2 salt "otherSource" is not implemented');
  const salt = octets(saltNode, `${what} PBKDF2 salt`);
  const iterations = iterationCount(iterationNode, what);
  let rest = fields.slice(2);
  if (isInteger(rest[0])) {
    const keyLength = integer(rest[0], `${what} PBKDF2 key length`, 1, 64);
    if (keyLength !== cipher.keyLength) throw malformed(what, `PBKDF2 key length ${keyLength} does not fit ${cipher.name}`);
    rest = rest.slice(1);
  }
  let prfOid = OID_HMAC_WITH_SHA1;
  if (rest.length > 0) prfOid = algorithmIdentifier(rest[0], `${what} PBKDF2 PRF`).oid;
  if (rest.length > 1) throw malformed(what, 'PBKDF2 parameters have extra fields');
  const prf = PBKDF2_PRF_BY_OID.get(prfOid);
  if (prf === undefined) throw unsupported(what, `PBKDF2 PRF ${prfOid} is not implemented`);

  if (ciphertext.length === 0 || ciphertext.length % cipher.ivLength !== 0) {
    throw malformed(what, `ciphertext is not whole ${cipher.ivLength}-byte blocks`);
  }
  const key = pbkdf2Sync(password.utf8, salt, iterations, cipher.keyLength, prf);
  const plaintext = nodeDecrypt(cipher.name, key, iv, ciphertext);
  key.fill(0);
  if (plaintext === undefined) throw wrongPassword(what);
  return plaintext;
}

/** An encrypted payload and the `AlgorithmIdentifier` that decrypts it. */
export interface PbeEncrypted {
  /** The `AlgorithmIdentifier`, DER. */
  readonly algorithm: Uint8Array;
  readonly ciphertext: Uint8Array;
}

/** The legacy schemes `encodePkcs12({ legacy: true })` writes. */
export type LegacyEncryption = 'rc2-40' | 'des-ede3';

/** RFC 7292 appendix C encryption: pbeWithSHAAnd40BitRC2-CBC or pbeWithSHAAnd3-KeyTripleDES-CBC. */
export function legacyEncrypt(
  scheme: LegacyEncryption,
  plaintext: Uint8Array,
  password: PbePassword,
  iterations: number,
): PbeEncrypted {
  const oid = scheme === 'rc2-40' ? OID_PBE_SHA1_RC2_40 : OID_PBE_SHA1_3DES_3KEY;
  const params = LEGACY_SCHEMES.get(oid) as LegacyScheme;
  const salt = randomBytes(SALT_LENGTH);
  const key = pkcs12Kdf('sha1', password.bmp, salt, KDF_ID_KEY, iterations, params.keyLength);
  const iv = pkcs12Kdf('sha1', password.bmp, salt, KDF_ID_IV, iterations, BLOCK_64);
  let ciphertext: Uint8Array;
  if (params.cipher === 'rc2') {
    ciphertext = rc2CbcEncrypt(key, params.effectiveBits, iv, plaintext);
  } else {
    const c = createCipheriv('des-ede3-cbc', key, iv);
    ciphertext = Uint8Array.from(Buffer.concat([c.update(plaintext), c.final()]));
  }
  key.fill(0);
  const algorithm = encodeSequence(encodeOid(oid), encodeSequence(encodeOctetString(salt), encodeUnsignedInteger(iterations)));
  return { algorithm, ciphertext };
}

/** RFC 8018 PBES2 encryption as OpenSSL 3 writes it: PBKDF2-HMAC-SHA256 and AES-256-CBC. */
export function pbes2Encrypt(plaintext: Uint8Array, password: PbePassword, iterations: number): PbeEncrypted {
  const cipher = PBES2_CIPHER_BY_OID.get(OID_AES_256_CBC) as CbcCipher;
  const salt = randomBytes(SALT_LENGTH);
  const iv = randomBytes(cipher.ivLength);
  const key = pbkdf2Sync(password.utf8, salt, iterations, cipher.keyLength, 'sha256');
  const c = createCipheriv(cipher.name, key, iv);
  const ciphertext = Uint8Array.from(Buffer.concat([c.update(plaintext), c.final()]));
  key.fill(0);
  const kdf = encodeSequence(
    encodeOid(OID_PBKDF2),
    encodeSequence(encodeOctetString(salt), encodeUnsignedInteger(iterations), encodeSequence(encodeOid(OID_HMAC_WITH_SHA256), encodeNull())),
  );
  const algorithm = encodeSequence(encodeOid(OID_PBES2), encodeSequence(kdf, encodeSequence(encodeOid(OID_AES_256_CBC), encodeOctetString(iv))));
  return { algorithm, ciphertext };
}
