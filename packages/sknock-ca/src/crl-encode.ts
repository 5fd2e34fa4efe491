import { sign, type KeyObject } from 'node:crypto';
import { OID_AUTHORITY_KEY_IDENTIFIER, OID_CRL_NUMBER, OID_ECDSA_WITH_SHA256, OID_REASON_CODE } from './constants.js';
import { encodeOid, encodeTlv, readTlvHeader, type TlvHeader } from './der.js';
import { SknockCaError } from './errors.js';

/**
 * A CRL (RFC 5280 §5.1) written as DER in one pass: each revoked entry is encoded once and
 * the lists are joined once, so the time grows linearly with the entries (10,000 in a few
 * tens of milliseconds; `@peculiar/x509`'s X509CrlGenerator took 8.9 s, growing with the
 * square). Signed ECDSA P-256 / SHA-256 with node:crypto. The reader is
 * `@sknock/protocol/crl` (what the daemon reads CRLs with); the tests read every CRL back
 * through it and through `openssl crl`.
 *
 * | field (RFC 5280 §5.1)                   | written as                                              |
 * | --------------------------------------- | ------------------------------------------------------- |
 * | CertificateList                         | SEQUENCE { tbsCertList, signatureAlgorithm, signature } |
 * | · tbsCertList                           | SEQUENCE                                                |
 * | · · version                             | INTEGER 1 (v2)                                          |
 * | · · signature                           | AlgorithmIdentifier ecdsa-with-SHA256, no parameters    |
 * | · · issuer                              | the CA certificate's subject, its bytes unchanged       |
 * | · · thisUpdate, nextUpdate              | UTCTime before 2050, GeneralizedTime from 2050 (§5.1.2.4) |
 * | · · revokedCertificates                 | SEQUENCE OF, left out when no certificate is revoked    |
 * | · · · userCertificate                   | INTEGER (the serial, positive, minimal)                 |
 * | · · · revocationDate                    | Time as above                                           |
 * | · · · crlEntryExtensions                | reasonCode (ENUMERATED), only when a reason is given    |
 * | · · crlExtensions [0] EXPLICIT          | authorityKeyIdentifier, cRLNumber (both non-critical)   |
 * | · signatureAlgorithm                    | as `signature` above                                    |
 * | · signatureValue                        | BIT STRING, no unused bits: the DER `SEQUENCE { r, s }` |
 */

const TAG_INTEGER = 0x02;
const TAG_BIT_STRING = 0x03;
const TAG_OCTET_STRING = 0x04;
const TAG_ENUMERATED = 0x0a;
const TAG_UTC_TIME = 0x17;
const TAG_GENERALIZED_TIME = 0x18;
const TAG_SEQUENCE = 0x30;
const TAG_EXPLICIT_0 = 0xa0;
const TAG_KEY_IDENTIFIER = 0x80; // [0] IMPLICIT OCTET STRING in AuthorityKeyIdentifier

/** One revoked certificate, as the caller checked it. */
export interface CrlEntry {
  /** Canonical hex serial (`normalizeSerial`): lowercase, no leading zeros. */
  readonly serial: string;
  /** Whole seconds. */
  readonly date: Date;
  /** CRLReason code (RFC 5280 §5.3.1), when one is given. */
  readonly reason?: number;
}

export interface CrlContents {
  /** The CA certificate, DER: its subject is the CRL's issuer. */
  readonly caCertificate: Uint8Array;
  /** The CA key's identifier, for the authority key identifier extension. */
  readonly authorityKeyId: Uint8Array;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  readonly crlNumber: bigint;
  readonly entries: readonly CrlEntry[];
}

const VERSION_2 = Uint8Array.of(TAG_INTEGER, 1, 1);
const ECDSA_WITH_SHA256 = encodeTlv(TAG_SEQUENCE, encodeOid(OID_ECDSA_WITH_SHA256));
const REASON_CODE_OID = encodeOid(OID_REASON_CODE);

/** A non-negative INTEGER's contents (X.690 §8.3: minimal, a 00 before a high bit). */
function unsignedContents(hex: string): Uint8Array {
  const even = hex.length % 2 === 1 ? `0${hex}` : hex;
  const bytes = Buffer.from(even, 'hex');
  return (bytes[0] as number) >= 0x80 ? Buffer.concat([Buffer.of(0), bytes]) : bytes;
}

/** UTCTime for 1950–2049, GeneralizedTime otherwise (RFC 5280 §5.1.2.4), to the second, Z. */
export function encodeTime(date: Date): Uint8Array {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  const year = date.getUTCFullYear();
  if (year >= 1950 && year < 2050) return encodeTlv(TAG_UTC_TIME, Buffer.from(digits.slice(2), 'latin1'));
  return encodeTlv(TAG_GENERALIZED_TIME, Buffer.from(digits, 'latin1'));
}

function extension(oid: string, value: Uint8Array): Uint8Array {
  return encodeTlv(TAG_SEQUENCE, encodeOid(oid), encodeTlv(TAG_OCTET_STRING, value));
}

function encodeEntry(entry: CrlEntry): Uint8Array {
  const serial = encodeTlv(TAG_INTEGER, unsignedContents(entry.serial));
  const date = encodeTime(entry.date);
  if (entry.reason === undefined) return encodeTlv(TAG_SEQUENCE, serial, date);
  const reason = encodeTlv(TAG_SEQUENCE, REASON_CODE_OID, encodeTlv(TAG_OCTET_STRING, encodeTlv(TAG_ENUMERATED, Uint8Array.of(entry.reason))));
  return encodeTlv(TAG_SEQUENCE, serial, date, encodeTlv(TAG_SEQUENCE, reason));
}

/**
 * The subject Name TLV of a DER certificate, its bytes unchanged:
 * tbsCertificate ::= SEQUENCE { [0] version?, serialNumber, signature, issuer, validity, subject, … }
 */
export function certificateSubject(certificate: Uint8Array): Uint8Array {
  const invalid = (): SknockCaError => new SknockCaError('ERR_SKNOCK_CA_INVALID_CA', 'the CA certificate is not a DER certificate with a subject where RFC 5280 puts it');
  let subject: TlvHeader;
  try {
    const outer = readTlvHeader(certificate, 0);
    const tbs = readTlvHeader(certificate, outer.headerLength);
    if (outer.tag !== TAG_SEQUENCE || tbs.tag !== TAG_SEQUENCE) throw invalid();
    let field = readTlvHeader(certificate, tbs.offset + tbs.headerLength);
    if (field.tag === TAG_EXPLICIT_0) field = readTlvHeader(certificate, field.end);
    // serialNumber, signature, issuer, validity: the subject is the fifth field after the version.
    for (let skip = 0; skip < 4; skip++) field = readTlvHeader(certificate, field.end);
    if (field.tag !== TAG_SEQUENCE || field.end > tbs.end) throw invalid();
    subject = field;
  } catch {
    throw invalid();
  }
  return certificate.subarray(subject.offset, subject.end);
}

/** tbsCertList, DER: what the CA signs. */
export function encodeTbsCertList(contents: CrlContents): Uint8Array {
  const revoked = contents.entries.length === 0 ? [] : [encodeTlv(TAG_SEQUENCE, Buffer.concat(contents.entries.map(encodeEntry)))];
  const authorityKeyId = extension(OID_AUTHORITY_KEY_IDENTIFIER, encodeTlv(TAG_SEQUENCE, encodeTlv(TAG_KEY_IDENTIFIER, contents.authorityKeyId)));
  const crlNumber = extension(OID_CRL_NUMBER, encodeTlv(TAG_INTEGER, unsignedContents(contents.crlNumber.toString(16))));
  return encodeTlv(
    TAG_SEQUENCE,
    VERSION_2,
    ECDSA_WITH_SHA256,
    certificateSubject(contents.caCertificate),
    encodeTime(contents.thisUpdate),
    encodeTime(contents.nextUpdate),
    ...revoked,
    encodeTlv(TAG_EXPLICIT_0, encodeTlv(TAG_SEQUENCE, authorityKeyId, crlNumber)),
  );
}

/** The signed CRL, DER: tbsCertList signed ECDSA P-256 / SHA-256 with the CA key. */
export function encodeCrl(contents: CrlContents, caKey: KeyObject): Uint8Array {
  const tbs = encodeTbsCertList(contents);
  const signature = sign('sha256', tbs, { key: caKey, dsaEncoding: 'der' });
  return encodeTlv(TAG_SEQUENCE, tbs, ECDSA_WITH_SHA256, encodeTlv(TAG_BIT_STRING, Uint8Array.of(0), signature));
}
