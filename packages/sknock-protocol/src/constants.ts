import { OID_SKNOCK_GRANTS } from './oids.js';

/**
 * Every magic number and limit of the sKnock 1.0.0 wire format, each with the section of
 * `PROTOCOL.md` (the project's `docs/PROTOCOL.md`, matching sKnock 1.0.0) or the RFC that
 * fixes it. Nothing else in the package spells these numbers.
 */

/** PROTOCOL.md "One UDP datagram": byte 0 of every knock, ASCII `a`. */
export const KNOCK_MAGIC = 0x61;

/** PROTOCOL.md "One UDP datagram": bytes 1–3, the version this package writes. */
export const KNOCK_VERSION: readonly [number, number, number] = Object.freeze([1, 0, 0]) as readonly [number, number, number];

/** PROTOCOL.md "One UDP datagram": magic (1) + version (3). */
export const KNOCK_HEADER_LENGTH = 4;

/** SEC 1 v2 §2.3.3: uncompressed point prefix. */
export const EC_POINT_UNCOMPRESSED_PREFIX = 0x04;

/** PROTOCOL.md "One UDP datagram": P-256 point, SEC 1 uncompressed, `0x04 ‖ X ‖ Y`. */
export const EPHEMERAL_PUBLIC_KEY_LENGTH = 65;

/** FIPS 197 / NIST SP 800-38A: AES block size; the ciphertext is a whole number of blocks. */
export const AES_BLOCK_LENGTH = 16;

/** PROTOCOL.md "Keys": AES-128, so a 16-byte key. */
export const AES_KEY_LENGTH = 16;

/** PROTOCOL.md "Keys": the CBC IV, 16 bytes. */
export const AES_IV_LENGTH = 16;

/** SEC 1 §3.3.1 / RFC 5903: the P-256 ECDH shared secret Z is the 32-byte X coordinate. */
export const ECDH_SECRET_LENGTH = 32;

/** P-256 private scalar length (SEC 2 §2.4.2). */
export const P256_PRIVATE_KEY_LENGTH = 32;

/** PROTOCOL.md "Keys": HKDF info for the AES key. */
export const HKDF_INFO_KEY = 'knock';

/** PROTOCOL.md "Keys": HKDF info for the IV. */
export const HKDF_INFO_IV = 'iv0AES128CBC';

/**
 * PROTOCOL.md "Keys": the HKDF salt `S`, 232 ASCII characters used as text (the hex
 * digits themselves, not the bytes they would decode to).
 */
export const HKDF_SALT_TEXT =
  '54686579206c6976696e272069742075702061742074686520486f74656c' +
  '2043616c69666f726e69610a576861742061206e69636520737572707269' +
  '73652028776861742061206e696365207375727072697365290a4272696e' +
  '6720796f757220616c69626973';

/** PROTOCOL.md "Signed request": byte 0 is always zero. */
export const REQUEST_LEADING_BYTE = 0x00;

/** PROTOCOL.md "Signed request": protocol byte for TCP (any non-zero byte reads as TCP). */
export const PROTOCOL_BYTE_TCP = 0x01;

/** PROTOCOL.md "Signed request": protocol byte for UDP. */
export const PROTOCOL_BYTE_UDP = 0x00;

/** PROTOCOL.md "Signed request": offsets of the fixed fields. */
export const REQUEST_OFFSET_PROTOCOL = 1;
export const REQUEST_OFFSET_PORT = 2;
export const REQUEST_OFFSET_ADDRESS = 4;
export const REQUEST_OFFSET_TIMESTAMP = 20;
export const REQUEST_OFFSET_CERTIFICATE = 24;

/** PROTOCOL.md "Signed request": the address field holds 16 bytes (IPv4 in the first 4). */
export const REQUEST_ADDRESS_LENGTH = 16;

/** PROTOCOL.md "Signed request": the signature slot is 72 bytes (`SIGNATURE_SIZE` of the original). */
export const SIGNATURE_SLOT_LENGTH = 72;

/** PROTOCOL.md "Signed request": trailer after the certificate = `L` (1 byte) + 72-byte slot. */
export const REQUEST_TRAILER_LENGTH = 1 + SIGNATURE_SLOT_LENGTH;

/** Shortest plaintext: the fixed fields and the trailer around an empty certificate. */
export const REQUEST_MIN_LENGTH = REQUEST_OFFSET_CERTIFICATE + REQUEST_TRAILER_LENGTH;

/**
 * Shortest datagram that can carry a request: header + one full PKCS#7-padded request of
 * `REQUEST_MIN_LENGTH` bytes (RFC 5652 §6.3 padding always adds 1 to 16 bytes) + point.
 */
export const KNOCK_MIN_DATAGRAM_LENGTH =
  KNOCK_HEADER_LENGTH +
  AES_BLOCK_LENGTH * (Math.floor(REQUEST_MIN_LENGTH / AES_BLOCK_LENGTH) + 1) +
  EPHEMERAL_PUBLIC_KEY_LENGTH;

/**
 * PROTOCOL.md "Sizes": the largest datagram a client sends, so that it fits the smallest
 * IPv6 path MTU (RFC 8200 §5: 1280 bytes, less 40 of IPv6 and 8 of UDP).
 */
export const KNOCK_MAX_DATAGRAM_LENGTH = 1232;

/** The largest datagram a decoder will look at (UDP over IPv4, RFC 768 / RFC 791). */
export const UDP_MAX_PAYLOAD_LENGTH = 65507;

/**
 * RFC 8017-free sanity bound: the shortest DER ECDSA signature that can verify
 * (`SEQUENCE { INTEGER r, INTEGER s }`, each at least one byte: 30 06 02 01 r 02 01 s).
 */
export const SIGNATURE_MIN_LENGTH = 8;

/** PROTOCOL.md "Authorization inside the client certificate": the otherName type-id (the OID lives in oids.ts). */
export const GRANTS_OTHERNAME_OID = OID_SKNOCK_GRANTS;

/** PROTOCOL.md "Authorization inside the client certificate": protocol digits in a grant. */
export const GRANT_PROTOCOL_TCP = '1';
export const GRANT_PROTOCOL_UDP = '0';

/** RFC 793 / RFC 768: ports a knock may ask for (port 0 is not a service). */
export const PORT_MIN = 1;
export const PORT_MAX = 65535;

/** The sKnock 1.0.0 server's defaults (PROTOCOL.md "What the server checks"). */
export const DEFAULT_TIMESTAMP_THRESHOLD_SECONDS = 7;
export const DEFAULT_PORT_OPEN_DURATION_SECONDS = 15;

/** PROTOCOL.md "One UDP datagram": original clients pick a random knock port in 10000–60000. */
export const RANDOM_KNOCK_PORT_MIN = 10000;
export const RANDOM_KNOCK_PORT_MAX = 60000;

/**
 * PROTOCOL.md "One UDP datagram": an original server ignores frames shorter than 800 bytes,
 * counted on the whole Ethernet frame.
 */
export const ORIGINAL_MIN_FRAME_LENGTH = 800;
/** Ethernet (14) + IPv4 (20) + UDP (8). */
export const FRAME_OVERHEAD_IPV4 = 42;
/** Ethernet (14) + IPv6 (40) + UDP (8). */
export const FRAME_OVERHEAD_IPV6 = 62;

/** RFC 6234: SHA-256 output length, the HKDF hash length (RFC 5869 §2.2). */
export const SHA256_LENGTH = 32;

/**
 * Servers a client keeps the parsed public point of (by certificate bytes). Not a wire
 * limit: a bound on memory, so that a client knocking many servers stays small.
 */
export const SERVER_POINT_CACHE_MAX = 64;

/**
 * Client certificates whose public key a server keeps (by SHA-256 of the certificate).
 * Not a wire limit: a bound on memory; parsing a key again costs ~55 µs.
 */
export const PUBLIC_KEY_CACHE_MAX = 4096;
