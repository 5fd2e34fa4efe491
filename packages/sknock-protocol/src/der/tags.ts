/**
 * Every DER tag the sKnock packages read or write (ITU-T X.690 §8.1.2): universal tags as
 * their identifier octet, context-specific ones as `[n]` constructed (`0xa0 | n`) or
 * primitive (`0x80 | n`). Nothing else spells these numbers.
 */
export const TAG = Object.freeze({
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  TELETEX_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
  /** `[0]` constructed: tbsCertificate version, otherName and its EXPLICIT value, crlExtensions. */
  CONTEXT_0: 0xa0,
  /** `[1]` constructed. */
  CONTEXT_1: 0xa1,
  /** `[3]` constructed: tbsCertificate extensions. */
  CONTEXT_3: 0xa3,
  /** `[0]` primitive: keyIdentifier in AuthorityKeyIdentifier (RFC 5280 §4.2.1.1). */
  CONTEXT_PRIMITIVE_0: 0x80,
  /** `[1]` primitive: issuerUniqueID (RFC 5280 §4.1). */
  CONTEXT_PRIMITIVE_1: 0x81,
  /** `[2]` primitive: subjectUniqueID (RFC 5280 §4.1). */
  CONTEXT_PRIMITIVE_2: 0x82,
} as const);
