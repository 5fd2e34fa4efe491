/**
 * Object identifiers, sizes and limits of PKCS#12 credential files, each with the RFC that
 * fixes it. The credential modules spell no other OID or size. (Kept beside the PKCS#12
 * code rather than in `../constants.ts`, which holds the knock wire format.)
 */

// --- Content types (RFC 2315 §14, RFC 7292 §4) ---------------------------------------

/** RFC 2315 §14: pkcs7-data. */
export const OID_DATA = '1.2.840.113549.1.7.1';
/** RFC 2315 §14: pkcs7-encryptedData. */
export const OID_ENCRYPTED_DATA = '1.2.840.113549.1.7.6';
/** RFC 2315 §14: pkcs7-envelopedData (public-key privacy mode, not implemented). */
export const OID_ENVELOPED_DATA = '1.2.840.113549.1.7.3';
/** RFC 2315 §14: pkcs7-signedData (public-key integrity mode, not implemented). */
export const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';

/** RFC 7292 §4: `PFX.version` is v3. */
export const PFX_VERSION = 3;
/** RFC 2315 §13: `EncryptedData.version` is 0. */
export const ENCRYPTED_DATA_VERSION = 0;

// --- Bag types (RFC 7292 §4.2) ----------------------------------------------------------

export const OID_KEY_BAG = '1.2.840.113549.1.12.10.1.1';
export const OID_PKCS8_SHROUDED_KEY_BAG = '1.2.840.113549.1.12.10.1.2';
export const OID_CERT_BAG = '1.2.840.113549.1.12.10.1.3';
export const OID_SAFE_CONTENTS_BAG = '1.2.840.113549.1.12.10.1.6';
/** RFC 7292 §4.2.3: certBag holding a DER X.509 certificate in an OCTET STRING. */
export const OID_X509_CERTIFICATE = '1.2.840.113549.1.9.22.1';

// --- Bag attributes (RFC 2985 §5.5.1, §5.5.2) -------------------------------------------

/** friendlyName: one BMPString. */
export const OID_FRIENDLY_NAME = '1.2.840.113549.1.9.20';
/** localKeyId: one OCTET STRING pairing a key bag with its certificate bag. */
export const OID_LOCAL_KEY_ID = '1.2.840.113549.1.9.21';

// --- Password-based encryption (RFC 7292 appendix C, RFC 8018) --------------------------

/** RFC 7292 appendix C: pbeWithSHAAnd128BitRC4 and pbeWithSHAAnd40BitRC4 (not implemented). */
export const OID_PBE_SHA1_RC4_128 = '1.2.840.113549.1.12.1.1';
export const OID_PBE_SHA1_RC4_40 = '1.2.840.113549.1.12.1.2';
/** RFC 7292 appendix C: pbeWithSHAAnd3-KeyTripleDES-CBC. */
export const OID_PBE_SHA1_3DES_3KEY = '1.2.840.113549.1.12.1.3';
/** RFC 7292 appendix C: pbeWithSHAAnd2-KeyTripleDES-CBC. */
export const OID_PBE_SHA1_3DES_2KEY = '1.2.840.113549.1.12.1.4';
/** RFC 7292 appendix C: pbeWithSHAAnd128BitRC2-CBC. */
export const OID_PBE_SHA1_RC2_128 = '1.2.840.113549.1.12.1.5';
/** RFC 7292 appendix C: pbeWithSHAAnd40BitRC2-CBC. */
export const OID_PBE_SHA1_RC2_40 = '1.2.840.113549.1.12.1.6';

/** RFC 8018 appendix A.4: PBES2. */
export const OID_PBES2 = '1.2.840.113549.1.5.13';
/** RFC 8018 appendix A.2: PBKDF2. */
export const OID_PBKDF2 = '1.2.840.113549.1.5.12';
/** RFC 9579 §3: PBMAC1 as the PFX MAC (OpenSSL 3.4+ can write it; not implemented). */
export const OID_PBMAC1 = '1.2.840.113549.1.5.14';

/** RFC 8018 appendix B.1: the PBKDF2 pseudo-random functions, and their node:crypto digests. */
export const PBKDF2_PRF_BY_OID: ReadonlyMap<string, string> = new Map([
  ['1.2.840.113549.2.7', 'sha1'],
  ['1.2.840.113549.2.8', 'sha224'],
  ['1.2.840.113549.2.9', 'sha256'],
  ['1.2.840.113549.2.10', 'sha384'],
  ['1.2.840.113549.2.11', 'sha512'],
]);
/** RFC 8018 appendix A.2: the PRF when `prf` is absent. */
export const OID_HMAC_WITH_SHA1 = '1.2.840.113549.2.7';
export const OID_HMAC_WITH_SHA256 = '1.2.840.113549.2.9';

/** RFC 8018 appendix B.2 / RFC 3565: PBES2 encryption schemes: node:crypto cipher, key and IV length. */
export interface CbcCipher {
  readonly name: string;
  readonly keyLength: number;
  readonly ivLength: number;
}
export const OID_AES_256_CBC = '2.16.840.1.101.3.4.1.42';
export const PBES2_CIPHER_BY_OID: ReadonlyMap<string, CbcCipher> = new Map([
  ['2.16.840.1.101.3.4.1.2', { name: 'aes-128-cbc', keyLength: 16, ivLength: 16 }],
  ['2.16.840.1.101.3.4.1.22', { name: 'aes-192-cbc', keyLength: 24, ivLength: 16 }],
  [OID_AES_256_CBC, { name: 'aes-256-cbc', keyLength: 32, ivLength: 16 }],
  ['1.2.840.113549.3.7', { name: 'des-ede3-cbc', keyLength: 24, ivLength: 8 }],
]);

// --- Digests (RFC 3279 §2.2, RFC 5754 §2) -----------------------------------------------

export const OID_SHA1 = '1.3.14.3.2.26';
export const OID_SHA256 = '2.16.840.1.101.3.4.2.1';
/** MAC digests of `MacData` and their node:crypto names. */
export const DIGEST_BY_OID: ReadonlyMap<string, string> = new Map([
  [OID_SHA1, 'sha1'],
  ['2.16.840.1.101.3.4.2.4', 'sha224'],
  [OID_SHA256, 'sha256'],
  ['2.16.840.1.101.3.4.2.2', 'sha384'],
  ['2.16.840.1.101.3.4.2.3', 'sha512'],
]);

// --- RFC 7292 appendix B key derivation ---------------------------------------------------

/** RFC 7292 appendix B.3: the diversifier ID for key material. */
export const KDF_ID_KEY = 1;
/** RFC 7292 appendix B.3: the diversifier ID for IVs. */
export const KDF_ID_IV = 2;
/** RFC 7292 appendix B.3: the diversifier ID for MAC keys. */
export const KDF_ID_MAC = 3;

/** RFC 2268 / RFC 1423: RC2 and DES block size. */
export const BLOCK_64 = 8;
/** RFC 7292 appendix C: pbeWithSHAAnd40BitRC2-CBC key length (bytes) and effective key bits. */
export const RC2_40_KEY_LENGTH = 5;
/** RFC 7292 appendix C: pbeWithSHAAnd128BitRC2-CBC key length (bytes). */
export const RC2_128_KEY_LENGTH = 16;
/** RFC 7292 appendix C: the 3-key and 2-key triple-DES key lengths. */
export const DES3_KEY_LENGTH = 24;
export const DES2_KEY_LENGTH = 16;

// --- What `encodePkcs12` writes -------------------------------------------------------------

/** Iterations of every KDF written (OpenSSL's default `PKCS12_DEFAULT_ITER`; RFC 7292 appendix B recommends ≥ 1024). */
export const DEFAULT_ITERATIONS = 2048;
/** Salt length written for each bag and the MAC (OpenSSL's `PKCS5_SALT_LEN`; RFC 8018 §4.1 asks ≥ 8). */
export const SALT_LENGTH = 8;

// --- Limits on what is read -------------------------------------------------------------------

/**
 * Largest iteration count read. A hostile file could otherwise ask for hours of work:
 * the RFC 7292 KDF runs in JavaScript at about one hash per microsecond.
 */
export const MAX_ITERATIONS = 1_000_000;
/** Largest PKCS#12 file read (a few certificates and one key are a few kilobytes). */
export const MAX_PFX_LENGTH = 1 << 20;
/** Deepest nesting of safeContentsBag inside safeContentsBag that is followed. */
export const MAX_SAFE_CONTENTS_DEPTH = 4;
/** Most BER elements read of one PKCS#12 structure (a few certificates and one key are a few hundred). */
export const ASN1_MAX_NODES = 20_000;
