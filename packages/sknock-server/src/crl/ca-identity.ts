import { createHash } from 'node:crypto';
import type { KeyObject, X509Certificate } from 'node:crypto';
import { DerReader, TAG, contentOf, decodeOid, encodingOf } from './der-reader.js';

/**
 * Who a CA is, as CRLs and the certificates it signs name it: its subject Name (DER, byte for
 * byte), its subject key identifier (RFC 5280 §4.2.1.2) when it has one, and its key.
 *
 * A CRL belongs to exactly one CA: the one whose subject equals the CRL's issuer field, whose
 * key identifier equals the CRL's authority key identifier (when both are present) and whose
 * key verifies the CRL's signature. Revocation is looked up by (CA id, serial); the id is the
 * SHA-256 of the subject Name and the SubjectPublicKeyInfo, so two certificates of one CA
 * (same name, same key: a CA certificate renewed) share it, and a CA of the same name with
 * another key does not.
 *
 *     Certificate  ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
 *     TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer,
 *                                   validity, subject, subjectPublicKeyInfo,
 *                                   [1] issuerUniqueID OPTIONAL, [2] subjectUniqueID OPTIONAL,
 *                                   [3] extensions OPTIONAL }
 */

export interface CaIdentity {
  /** SHA-256 of subject Name DER ‖ SubjectPublicKeyInfo DER, base64url: the key revocation is looked up by. */
  readonly id: string;
  /** Subject, one line (`CN=…, O=…`), for logs. */
  readonly name: string;
  /** Subject Name, DER: what a CRL's issuer field must equal. */
  readonly subject: Uint8Array;
  /** subjectKeyIdentifier, when the certificate has the extension. */
  readonly keyIdentifier: Uint8Array | undefined;
  readonly publicKey: KeyObject;
}

const OID_SUBJECT_KEY_IDENTIFIER = '2.5.29.14';
const TAG_ISSUER_UID = 0x81;
const TAG_SUBJECT_UID = 0x82;

/** A certificate's subject as one line, as the trust store writes it in messages. */
export function oneLineName(name: string): string {
  return name
    .split('\n')
    .filter((s) => s !== '')
    .join(', ');
}

/** The identity of a CA certificate. Throws `SknockCrlError` ERR_SKNOCK_CRL_MALFORMED if its DER cannot be walked. */
export function caIdentity(cert: X509Certificate): CaIdentity {
  const der = new Uint8Array(cert.raw);
  const outer = new DerReader(der);
  const tbs = outer.enter(TAG.SEQUENCE, 'Certificate').enter(TAG.SEQUENCE, 'tbsCertificate');
  if (tbs.peekTag() === TAG.CONTEXT_0) tbs.next(TAG.CONTEXT_0, 'version');
  tbs.next(TAG.INTEGER, 'serialNumber');
  tbs.next(TAG.SEQUENCE, 'signature');
  tbs.next(TAG.SEQUENCE, 'issuer');
  tbs.next(TAG.SEQUENCE, 'validity');
  const subject = encodingOf(der, tbs.next(TAG.SEQUENCE, 'subject'));
  const spki = encodingOf(der, tbs.next(TAG.SEQUENCE, 'subjectPublicKeyInfo'));
  if (tbs.peekTag() === TAG_ISSUER_UID) tbs.next(TAG_ISSUER_UID, 'issuerUniqueID');
  if (tbs.peekTag() === TAG_SUBJECT_UID) tbs.next(TAG_SUBJECT_UID, 'subjectUniqueID');
  let keyIdentifier: Uint8Array | undefined;
  if (tbs.peekTag() === TAG.CONTEXT_3) {
    const extensions = tbs.enter(TAG.CONTEXT_3, 'extensions').enter(TAG.SEQUENCE, 'extensions');
    while (!extensions.atEnd) {
      const ext = extensions.enter(TAG.SEQUENCE, 'extension');
      const oid = decodeOid(contentOf(der, ext.next(TAG.OID, 'extension id')));
      if (ext.peekTag() === TAG.BOOLEAN) ext.next(TAG.BOOLEAN, 'extension critical');
      const valueTlv = ext.next(TAG.OCTET_STRING, 'extension value');
      if (oid === OID_SUBJECT_KEY_IDENTIFIER) {
        const inner = new DerReader(der, valueTlv.contentStart, valueTlv.end);
        keyIdentifier = new Uint8Array(contentOf(der, inner.next(TAG.OCTET_STRING, 'subjectKeyIdentifier')));
      }
    }
  }
  const id = createHash('sha256').update(subject).update(spki).digest('base64url');
  return { id, name: oneLineName(cert.subject), subject: new Uint8Array(subject), keyIdentifier, publicKey: cert.publicKey };
}

/** RFC 4519 short names of the attribute types CAs put in names. */
const SHORT_NAMES: ReadonlyMap<string, string> = new Map([
  ['2.5.4.3', 'CN'],
  ['2.5.4.5', 'serialNumber'],
  ['2.5.4.6', 'C'],
  ['2.5.4.7', 'L'],
  ['2.5.4.8', 'ST'],
  ['2.5.4.10', 'O'],
  ['2.5.4.11', 'OU'],
  ['1.2.840.113549.1.9.1', 'emailAddress'],
  ['0.9.2342.19200300.100.1.25', 'DC'],
]);

/**
 * A Name (DER) as one line, `CN=…, O=…` in encoded order, for messages about a name that no
 * certificate at hand carries (the issuer of a CRL from an unknown CA). Never throws.
 */
export function nameText(der: Uint8Array): string {
  try {
    const parts: string[] = [];
    const rdns = new DerReader(der).enter(TAG.SEQUENCE, 'Name');
    while (!rdns.atEnd) {
      const set = rdns.enter(TAG.SET, 'RelativeDistinguishedName');
      while (!set.atEnd) {
        const atv = set.enter(TAG.SEQUENCE, 'AttributeTypeAndValue');
        const oid = decodeOid(contentOf(der, atv.next(TAG.OID, 'attribute type')));
        const valueTlv = atv.next(undefined, 'attribute value');
        parts.push(`${SHORT_NAMES.get(oid) ?? oid}=${stringValue(valueTlv.tag, contentOf(der, valueTlv))}`);
      }
    }
    return parts.length > 0 ? parts.join(', ') : '(empty name)';
  } catch {
    return `(unreadable name ${Buffer.from(der.subarray(0, 32)).toString('hex')}${der.length > 32 ? '…' : ''})`;
  }
}

function stringValue(tag: number, content: Uint8Array): string {
  const bytes = Buffer.from(content);
  switch (tag) {
    case 0x0c: // UTF8String
      return bytes.toString('utf8');
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x14: // TeletexString (read as Latin-1)
      return bytes.toString('latin1');
    case 0x1e: // BMPString (UTF-16BE)
      return Buffer.from(bytes).swap16().toString('utf16le');
    default:
      return `#${bytes.toString('hex')}`;
  }
}
