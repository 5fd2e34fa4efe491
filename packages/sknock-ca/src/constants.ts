import {
  FRAME_OVERHEAD_IPV4,
  FRAME_OVERHEAD_IPV6,
  KNOCK_MAX_DATAGRAM_LENGTH,
  ORIGINAL_MIN_FRAME_LENGTH,
} from '@sknock/protocol';

/**
 * Every number and object identifier of `sknock-ca`, each with the RFC or PROTOCOL.md
 * section that fixes it. Nothing else in the package spells these.
 */

/** Default lifetime of a CA certificate (days). */
export const DEFAULT_CA_VALIDITY_DAYS = 3650;
/** Default lifetime of a server certificate (days). */
export const DEFAULT_SERVER_VALIDITY_DAYS = 825;
/** Default lifetime of a client certificate (days). */
export const DEFAULT_CLIENT_VALIDITY_DAYS = 365;
/** Default CRL lifetime: nextUpdate − thisUpdate (days). */
export const DEFAULT_CRL_VALIDITY_DAYS = 30;
/** Longest lifetime accepted for anything (days; 100 years). */
export const MAX_VALIDITY_DAYS = 36500;

/**
 * Certificates start this long before they are made, so that a verifier whose clock is a
 * little behind the CA's accepts them at once.
 */
export const NOT_BEFORE_BACKDATE_SECONDS = 300;

/** Milliseconds in a day. */
export const DAY_MS = 86_400_000;

/**
 * RFC 5280 §4.1.2.2: a serial is a positive INTEGER of at most 20 octets; CA/B Forum asks
 * for at least 64 random bits. Ours: 16 random octets, the first from 0x10 to 0x7f (positive,
 * no leading zero): about 126 random bits, always 16 content octets and 32 hex digits.
 */
export const SERIAL_LENGTH = 16;

/** RFC 5280 appendix A (ub-common-name): longest commonName. */
export const MAX_COMMON_NAME_LENGTH = 64;

/** RFC 5280 §4.2.1.6: subjectAltName. */
export const OID_SUBJECT_ALT_NAME = '2.5.29.17';
/** RFC 5280 §5.2.3: cRLNumber. */
export const OID_CRL_NUMBER = '2.5.29.20';
/**
 * Netscape certificate comment (nsComment, IA5String), a non-critical extension every
 * X.509 reader skips or shows as text: used to pad small client certificates (below).
 */
export const OID_NETSCAPE_COMMENT = '2.16.840.1.113730.1.13';

/** RFC 5280 §5.2.3: a CRL number is at most 20 octets, so below 2^159. */
export const CRL_NUMBER_MAX = (1n << 159n) - 1n;

/** PROTOCOL.md "Sizes": a client should not send a datagram above 1232 bytes. */
export const MAX_KNOCK_DATAGRAM_LENGTH = KNOCK_MAX_DATAGRAM_LENGTH;

/**
 * PROTOCOL.md "Sizes": an sKnock 1.0.0 server drops Ethernet frames under 800 bytes, so a
 * knock from a client certificate whose datagram is shorter than 800 − 42 = 758 bytes
 * (IPv4; 738 over IPv6) never reaches its checks. Client certificates are padded up to this
 * datagram length by default so that they knock on original servers too.
 */
export const ORIGINAL_SERVER_MIN_DATAGRAM_LENGTH = Math.max(
  ORIGINAL_MIN_FRAME_LENGTH - FRAME_OVERHEAD_IPV4,
  ORIGINAL_MIN_FRAME_LENGTH - FRAME_OVERHEAD_IPV6,
);

/** DER ECDSA P-256 signature at its longest (`SEQUENCE { INTEGER r, INTEGER s }`, both 33 octets). */
export const MAX_ECDSA_P256_SIGNATURE_LENGTH = 72;

/**
 * The CA key on disk: PKCS#8 EncryptedPrivateKeyInfo (RFC 5958 §3) with PBES2 (RFC 8018
 * §6.2), key derivation scrypt (RFC 7914 §7) and AES-256-CBC. N = 2^14, r = 8, p = 5 is
 * OWASP's scrypt setting that stays within the 32 MiB OpenSSL allows scrypt by default
 * (16 MiB of memory; p = 5 makes it as costly as N = 2^17 with p = 1), so `openssl pkey`
 * and Node (which decrypts through OpenSSL) read the file. About 0.3 s a derivation here.
 */
export const CA_KEY_SCRYPT = { N: 16_384, r: 8, p: 5 } as const;
/** scrypt salt length (octets), RFC 7914 §7 leaves it open; 16 as OpenSSL. */
export const CA_KEY_SALT_LENGTH = 16;
/** RFC 8018 appendix A.4: id-PBES2. */
export const OID_PBES2 = '1.2.840.113549.1.5.13';
/** RFC 7914 §7: id-scrypt. */
export const OID_SCRYPT = '1.3.6.1.4.1.11591.4.11';
/** RFC 3565 / NIST: id-aes256-CBC; its parameter is the 16-octet IV. */
export const OID_AES256_CBC = '2.16.840.1.101.3.4.1.42';

/**
 * RFC 5280 §4.1.2.5: validity dates through 2049 are UTCTime, from 2050 on GeneralizedTime.
 * sKnock 1.0.0 servers cannot read a certificate with a GeneralizedTime date, so they drop
 * every knock that carries one. This is the first instant written as GeneralizedTime.
 */
export const GENERALIZED_TIME_FROM = Date.UTC(2050, 0, 1);
