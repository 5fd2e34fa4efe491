import {
  FRAME_OVERHEAD_IPV4,
  FRAME_OVERHEAD_IPV6,
  KNOCK_MAX_DATAGRAM_LENGTH,
  ORIGINAL_MIN_FRAME_LENGTH,
} from '@sknock/protocol';

/**
 * Every number and object identifier of `sknock-ca`, each with the RFC or PROTOCOL.md
 * section that fixes it. Nothing else under `src/ca/` spells these.
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
