/**
 * `@sknock/protocol/oids`: every OBJECT IDENTIFIER of X.509, CRLs and keys the sKnock
 * packages read or write, as dotted text, each with the document that assigns it. (The
 * PKCS#12 ones sit with the PKCS#12 reader, in credentials/constants.ts.)
 */

/** PROTOCOL notes "Authorization inside the client certificate": the sKnock grant otherName type-id. */
export const OID_SKNOCK_GRANTS = '1.3.6.1.4.1.19518';

// Keys (RFC 5480 §2.1.1, RFC 8410 §3)
export const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
/** secp256r1: P-256, `prime256v1` to OpenSSL. */
export const OID_P256 = '1.2.840.10045.3.1.7';
export const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
export const OID_ED25519 = '1.3.101.112';

// Signature algorithms (RFC 5758 §3.2, RFC 4055 §5, RFC 8410 §3)
export const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
export const OID_ECDSA_WITH_SHA384 = '1.2.840.10045.4.3.3';
export const OID_ECDSA_WITH_SHA512 = '1.2.840.10045.4.3.4';
export const OID_SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
export const OID_SHA384_WITH_RSA = '1.2.840.113549.1.1.12';
export const OID_SHA512_WITH_RSA = '1.2.840.113549.1.1.13';

// Certificate extensions (RFC 5280 §4.2.1)
export const OID_SUBJECT_KEY_IDENTIFIER = '2.5.29.14';
export const OID_KEY_USAGE = '2.5.29.15';
export const OID_SUBJECT_ALT_NAME = '2.5.29.17';
export const OID_BASIC_CONSTRAINTS = '2.5.29.19';
export const OID_AUTHORITY_KEY_IDENTIFIER = '2.5.29.35';
export const OID_EXTENDED_KEY_USAGE = '2.5.29.37';

// Extended key usages (RFC 5280 §4.2.1.12)
export const OID_EKU_ANY = '2.5.29.37.0';
export const OID_EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
export const OID_EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

// CRL and CRL entry extensions (RFC 5280 §5.2, §5.3)
export const OID_CRL_NUMBER = '2.5.29.20';
export const OID_CRL_REASON = '2.5.29.21';
export const OID_INVALIDITY_DATE = '2.5.29.24';
export const OID_DELTA_CRL_INDICATOR = '2.5.29.27';
export const OID_ISSUING_DISTRIBUTION_POINT = '2.5.29.28';

// Name attributes (RFC 4519, RFC 5280 Appendix A)
export const OID_COMMON_NAME = '2.5.4.3';
export const OID_SERIAL_NUMBER = '2.5.4.5';
export const OID_COUNTRY = '2.5.4.6';
export const OID_LOCALITY = '2.5.4.7';
export const OID_STATE = '2.5.4.8';
export const OID_ORGANIZATION = '2.5.4.10';
export const OID_ORGANIZATIONAL_UNIT = '2.5.4.11';
export const OID_EMAIL_ADDRESS = '1.2.840.113549.1.9.1';
export const OID_DOMAIN_COMPONENT = '0.9.2342.19200300.100.1.25';

/** RFC 4519 short names of the attribute types CAs put in names, as one-line names write them. */
export const NAME_ATTRIBUTE_SHORT_NAMES: ReadonlyMap<string, string> = new Map([
  [OID_COMMON_NAME, 'CN'],
  [OID_SERIAL_NUMBER, 'serialNumber'],
  [OID_COUNTRY, 'C'],
  [OID_LOCALITY, 'L'],
  [OID_STATE, 'ST'],
  [OID_ORGANIZATION, 'O'],
  [OID_ORGANIZATIONAL_UNIT, 'OU'],
  [OID_EMAIL_ADDRESS, 'emailAddress'],
  [OID_DOMAIN_COMPONENT, 'DC'],
]);
