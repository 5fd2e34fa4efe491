import { DerReader, type DerFailureSpec } from '../der/der-reader.js';
import { decodeBoolean, decodeOid, decodeWholeBitString, readOid, readTime } from '../der/der-values.js';
import { TAG } from '../der/tags.js';

/**
 * The fields of an X.509 certificate (RFC 5280 §4.1) the sKnock packages read, from DER,
 * without checking any signature (that is the chain check's work):
 *
 *     Certificate  ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
 *     TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer,
 *                                   validity, subject, subjectPublicKeyInfo,
 *                                   [1] issuerUniqueID OPTIONAL, [2] subjectUniqueID OPTIONAL,
 *                                   [3] extensions OPTIONAL }
 *
 * Byte fields are views into the input. Malformed DER throws `ERR_SKNOCK_INVALID_CERTIFICATE`
 * (or the error the caller chose).
 */

export interface CertificateExtension {
  readonly critical: boolean;
  /** extnValue's content: the DER of the extension's own structure. */
  readonly value: Uint8Array;
}

export interface CertificateFields {
  /** tbsCertificate, DER: what the signature covers. */
  readonly tbs: Uint8Array;
  /** 0 for v1, 2 for v3 (RFC 5280 §4.1.2.1). */
  readonly version: number;
  /** serialNumber's content octets (big-endian, as encoded). */
  readonly serial: Uint8Array;
  /** Issuer Name, DER. */
  readonly issuer: Uint8Array;
  /** Subject Name, DER. */
  readonly subject: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SubjectPublicKeyInfo, DER. */
  readonly subjectPublicKeyInfo: Uint8Array;
  /** The key's algorithm OID (`OID_EC_PUBLIC_KEY` for EC keys). */
  readonly publicKeyAlgorithm: string;
  /** The algorithm's parameters when they are an OID (the named curve of an EC key). */
  readonly publicKeyParameter: string | undefined;
  /** subjectPublicKey's bits (for EC: the SEC 1 point). */
  readonly subjectPublicKey: Uint8Array;
  /** Extensions by OID (each OID at most once, RFC 5280 §4.2). */
  readonly extensions: ReadonlyMap<string, CertificateExtension>;
  /** The outer signatureAlgorithm OID. */
  readonly signatureAlgorithm: string;
  /** signatureValue's bits. */
  readonly signature: Uint8Array;
}

/** The fields of the DER certificate `der`, which must be exactly one certificate. */
export function readCertificateFields(der: Uint8Array, fail: DerFailureSpec = 'ERR_SKNOCK_INVALID_CERTIFICATE'): CertificateFields {
  const outer = new DerReader(der, fail);
  const cert = outer.enter(TAG.SEQUENCE, 'Certificate');
  outer.expectEnd('Certificate');
  const tbsTlv = cert.next(TAG.SEQUENCE, 'tbsCertificate');
  const algorithm = cert.enter(TAG.SEQUENCE, 'signatureAlgorithm');
  const signatureAlgorithm = readOid(algorithm, 'signatureAlgorithm');
  const signature = decodeWholeBitString(cert, cert.content(TAG.BIT_STRING, 'signatureValue'), 'signatureValue');
  cert.expectEnd('Certificate');

  const tbs = cert.inside(tbsTlv);
  let version = 0;
  if (tbs.peekTag() === TAG.CONTEXT_0) {
    const v = tbs.enter(TAG.CONTEXT_0, 'version').content(TAG.INTEGER, 'version');
    if (v.length !== 1 || (v[0] as number) > 2) throw tbs.error('version: not v1, v2 or v3');
    version = v[0] as number;
  }
  const serial = tbs.content(TAG.INTEGER, 'serialNumber');
  if (serial.length === 0) throw tbs.error('serialNumber: empty INTEGER');
  tbs.next(TAG.SEQUENCE, 'signature');
  const issuer = tbs.encodingOf(tbs.next(TAG.SEQUENCE, 'issuer'));
  const validity = tbs.enter(TAG.SEQUENCE, 'validity');
  const notBefore = readTime(validity, 'notBefore');
  const notAfter = readTime(validity, 'notAfter');
  validity.expectEnd('validity');
  const subject = tbs.encodingOf(tbs.next(TAG.SEQUENCE, 'subject'));
  const spkiTlv = tbs.next(TAG.SEQUENCE, 'subjectPublicKeyInfo');
  const spki = tbs.inside(spkiTlv);
  const keyAlgorithm = spki.enter(TAG.SEQUENCE, 'subjectPublicKeyInfo.algorithm');
  const publicKeyAlgorithm = readOid(keyAlgorithm, 'subjectPublicKeyInfo.algorithm');
  const publicKeyParameter = keyAlgorithm.peekTag() === TAG.OID ? readOid(keyAlgorithm, 'subjectPublicKeyInfo.parameters') : undefined;
  const subjectPublicKey = decodeWholeBitString(spki, spki.content(TAG.BIT_STRING, 'subjectPublicKey'), 'subjectPublicKey');
  spki.expectEnd('subjectPublicKeyInfo');
  if (tbs.peekTag() === TAG.CONTEXT_PRIMITIVE_1) tbs.next(TAG.CONTEXT_PRIMITIVE_1, 'issuerUniqueID');
  if (tbs.peekTag() === TAG.CONTEXT_PRIMITIVE_2) tbs.next(TAG.CONTEXT_PRIMITIVE_2, 'subjectUniqueID');
  const extensions = new Map<string, CertificateExtension>();
  if (tbs.peekTag() === TAG.CONTEXT_3) {
    const wrapper = tbs.enter(TAG.CONTEXT_3, 'extensions');
    const list = wrapper.enter(TAG.SEQUENCE, 'extensions');
    wrapper.expectEnd('extensions');
    while (!list.atEnd) {
      const ext = list.enter(TAG.SEQUENCE, 'extension');
      const oid = decodeOid(ext, ext.content(TAG.OID, 'extension id'), 'extension id');
      const critical = ext.peekTag() === TAG.BOOLEAN ? decodeBoolean(ext, ext.content(TAG.BOOLEAN, 'extension critical'), `extension ${oid} critical`) : false;
      const value = ext.content(TAG.OCTET_STRING, `extension ${oid} value`);
      ext.expectEnd(`extension ${oid}`);
      if (extensions.has(oid)) throw ext.error(`extension ${oid} appears twice`);
      extensions.set(oid, { critical, value });
    }
  }
  tbs.expectEnd('tbsCertificate');
  return {
    tbs: cert.encodingOf(tbsTlv),
    version,
    serial,
    issuer,
    subject,
    notBefore,
    notAfter,
    subjectPublicKeyInfo: tbs.encodingOf(spkiTlv),
    publicKeyAlgorithm,
    publicKeyParameter,
    subjectPublicKey,
    extensions,
    signatureAlgorithm,
    signature,
  };
}
