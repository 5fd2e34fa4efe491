import { DerReader } from '../der/der-reader.js';
import { decodeBoolean, decodeOid, decodeTime, decodeUnsigned, decodeWholeBitString, isTimeTag, readOid } from '../der/der-values.js';
import { TAG } from '../der/tags.js';
import { SknockCrlError } from '../errors/crl-error.js';
import {
  OID_AUTHORITY_KEY_IDENTIFIER,
  OID_CRL_NUMBER,
  OID_CRL_REASON,
  OID_DELTA_CRL_INDICATOR,
  OID_INVALIDITY_DATE,
  OID_ISSUING_DISTRIBUTION_POINT,
} from '../oids.js';
import { normaliseSerial } from '../x509/serial.js';

/**
 * An X.509 CRL (RFC 5280 §5.1) decoded from DER, with what a relying party needs: the signed
 * bytes, the signature, the dates, the CRL number and the revoked serials. (An encoder
 * belongs beside this file, `crl-encode.ts`.)
 *
 * | field (RFC 5280 §5.1)                         | DER                                  | kept as              |
 * | --------------------------------------------- | ------------------------------------ | -------------------- |
 * | CertificateList                               | SEQUENCE                             |                      |
 * | · tbsCertList                                 | SEQUENCE (the signed bytes)          | `tbs`                |
 * | · · version                                   | INTEGER, optional (1 = v2)           | `version`            |
 * | · · signature                                 | AlgorithmIdentifier                  | must equal outer alg |
 * | · · issuer                                    | Name (SEQUENCE)                      | `issuer` (DER)       |
 * | · · thisUpdate                                | UTCTime / GeneralizedTime            | `thisUpdate`         |
 * | · · nextUpdate                                | time, optional                       | `nextUpdate`         |
 * | · · revokedCertificates                       | SEQUENCE OF SEQUENCE, optional       | `revoked` (serials)  |
 * | · · · userCertificate, revocationDate, crlEntryExtensions? | INTEGER, time, Extensions |                    |
 * | · · crlExtensions                             | [0] EXPLICIT Extensions, optional    | `crlNumber`          |
 * | · signatureAlgorithm                          | AlgorithmIdentifier                  | `signatureAlgorithm` |
 * | · signatureValue                              | BIT STRING (no unused bits)          | `signature`          |
 *
 * Decoded by hand with the package's DER reader rather than a general ASN.1 library: those
 * take about 0.6–0.8 s and ~250 MB for a 10,000-entry CRL (and need their node limit raised
 * to read it at all); this takes a few milliseconds (docs/PROTOCOL-NOTES.md "Measured costs").
 * Every failure is a `SknockCrlError`: ERR_SKNOCK_CRL_MALFORMED, or ERR_SKNOCK_CRL_UNSUPPORTED
 * for a delta CRL or an unknown critical extension.
 */

export interface DecodedCrl {
  /** The whole CRL, DER. */
  readonly der: Uint8Array;
  /** tbsCertList, DER: what the signature covers. */
  readonly tbs: Uint8Array;
  readonly version: number;
  /** Issuer Name, DER. */
  readonly issuer: Uint8Array;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
  /** CRL number extension (RFC 5280 §5.2.3), if present. */
  readonly crlNumber: bigint | undefined;
  /** keyIdentifier of the authority key identifier extension (RFC 5280 §5.2.1), if present. */
  readonly authorityKeyId: Uint8Array | undefined;
  /** Signature algorithm OID (dotted). */
  readonly signatureAlgorithm: string;
  /** signatureValue bits (for ECDSA: a DER `SEQUENCE { r, s }`). */
  readonly signature: Uint8Array;
  /** Revoked serials, normalised (`normaliseSerial`). */
  readonly revoked: ReadonlySet<string>;
}

/** Critical CRL extensions this decoder understands (others make the CRL unusable, RFC 5280 §5.2). */
const KNOWN_CRL_EXTENSIONS = new Set([OID_CRL_NUMBER, OID_ISSUING_DISTRIBUTION_POINT, OID_AUTHORITY_KEY_IDENTIFIER]);
const KNOWN_ENTRY_EXTENSIONS = new Set([OID_CRL_REASON, OID_INVALIDITY_DATE]);

/** What a CRL's DER reader throws. */
export function crlDerFailure(message: string): SknockCrlError {
  return new SknockCrlError('ERR_SKNOCK_CRL_MALFORMED', `malformed DER: ${message}`);
}

function malformed(what: string): SknockCrlError {
  return new SknockCrlError('ERR_SKNOCK_CRL_MALFORMED', what);
}

/** Decodes one DER CRL filling all of `der`. */
export function decodeCrl(der: Uint8Array): DecodedCrl {
  const outer = new DerReader(der, crlDerFailure);
  const list = outer.enter(TAG.SEQUENCE, 'CertificateList');
  outer.expectEnd('CRL');
  const tbsTlv = list.next(TAG.SEQUENCE, 'tbsCertList');
  const outerAlgTlv = list.next(TAG.SEQUENCE, 'signatureAlgorithm');
  const sigContent = list.content(TAG.BIT_STRING, 'signatureValue');
  list.expectEnd('CertificateList');

  if (sigContent.length < 2 || sigContent[0] !== 0) throw malformed('signatureValue: BIT STRING with unused bits');
  const signature = decodeWholeBitString(list, sigContent, 'signatureValue');
  const signatureAlgorithm = readOid(list.inside(outerAlgTlv), 'signature algorithm');

  const tbs = list.inside(tbsTlv);
  let version = 0;
  if (tbs.peekTag() === TAG.INTEGER) {
    const v = tbs.content(TAG.INTEGER, 'version');
    if (v.length !== 1 || (v[0] as number) > 1) throw malformed('version: not v1 or v2');
    version = v[0] as number;
  }
  const innerAlgTlv = tbs.next(TAG.SEQUENCE, 'tbsCertList.signature');
  if (Buffer.compare(tbs.encodingOf(innerAlgTlv), list.encodingOf(outerAlgTlv)) !== 0) {
    throw malformed('tbsCertList.signature differs from signatureAlgorithm (RFC 5280 §5.1.1.2)');
  }
  const issuerTlv = tbs.next(TAG.SEQUENCE, 'issuer');
  const thisUpdateTlv = tbs.next(undefined, 'thisUpdate');
  if (!isTimeTag(thisUpdateTlv.tag)) throw malformed('thisUpdate: not a time');
  const thisUpdate = decodeTime(tbs, thisUpdateTlv, 'thisUpdate');
  let nextUpdate: Date | undefined;
  if (isTimeTag(tbs.peekTag())) nextUpdate = decodeTime(tbs, tbs.next(undefined, 'nextUpdate'), 'nextUpdate');

  const revoked = new Set<string>();
  if (tbs.peekTag() === TAG.SEQUENCE) {
    const entries = tbs.enter(TAG.SEQUENCE, 'revokedCertificates');
    while (!entries.atEnd) {
      const entry = entries.enter(TAG.SEQUENCE, 'revokedCertificates entry');
      const serial = entry.content(TAG.INTEGER, 'userCertificate');
      if (serial.length === 0) throw malformed('userCertificate: empty serial');
      const date = entry.next(undefined, 'revocationDate');
      if (!isTimeTag(date.tag)) throw malformed('revocationDate: not a time');
      if (!entry.atEnd) readExtensions(entry.enter(TAG.SEQUENCE, 'crlEntryExtensions'), KNOWN_ENTRY_EXTENSIONS, 'CRL entry');
      entry.expectEnd('revokedCertificates entry');
      revoked.add(normaliseSerial(serial));
    }
  }

  let crlNumber: bigint | undefined;
  let authorityKeyId: Uint8Array | undefined;
  if (tbs.peekTag() === TAG.CONTEXT_0) {
    const wrapper = tbs.enter(TAG.CONTEXT_0, 'crlExtensions');
    const extensions = readExtensions(wrapper.enter(TAG.SEQUENCE, 'crlExtensions'), KNOWN_CRL_EXTENSIONS, 'CRL');
    wrapper.expectEnd('crlExtensions');
    if (extensions.has(OID_DELTA_CRL_INDICATOR)) {
      throw new SknockCrlError('ERR_SKNOCK_CRL_UNSUPPORTED', 'delta CRLs are not supported; publish a full CRL');
    }
    const number = extensions.get(OID_CRL_NUMBER);
    if (number !== undefined) {
      const r = new DerReader(number, crlDerFailure);
      crlNumber = decodeUnsigned(r, r.content(TAG.INTEGER, 'CRL number'), 'CRL number');
      r.expectEnd('CRL number');
    }
    const aki = extensions.get(OID_AUTHORITY_KEY_IDENTIFIER);
    if (aki !== undefined) authorityKeyId = readKeyIdentifier(aki);
  }
  tbs.expectEnd('tbsCertList');

  return {
    der,
    tbs: list.encodingOf(tbsTlv),
    version,
    issuer: tbs.encodingOf(issuerTlv),
    thisUpdate,
    nextUpdate,
    crlNumber,
    authorityKeyId,
    signatureAlgorithm,
    signature,
    revoked,
  };
}

/** RFC 5280 §4.2.1.1: AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING OPTIONAL, … }. */
function readKeyIdentifier(value: Uint8Array): Uint8Array | undefined {
  const seq = new DerReader(value, crlDerFailure).enter(TAG.SEQUENCE, 'authorityKeyIdentifier');
  if (seq.peekTag() !== TAG.CONTEXT_PRIMITIVE_0) return undefined;
  const id = seq.content(TAG.CONTEXT_PRIMITIVE_0, 'keyIdentifier');
  return id.length > 0 ? new Uint8Array(id) : undefined;
}

/** Extensions (RFC 5280 §4.1): OID → extnValue; an unknown critical one makes the CRL unusable. */
function readExtensions(reader: DerReader, known: ReadonlySet<string>, where: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  while (!reader.atEnd) {
    const ext = reader.enter(TAG.SEQUENCE, `${where} extension`);
    const oid = decodeOid(ext, ext.content(TAG.OID, `${where} extension id`));
    let critical = false;
    if (ext.peekTag() === TAG.BOOLEAN) {
      const b = ext.content(TAG.BOOLEAN, `${where} extension critical`);
      if (b.length !== 1) throw malformed(`${where} extension ${oid}: bad BOOLEAN`);
      critical = decodeBoolean(ext, b, `${where} extension ${oid}`);
    }
    const value = ext.content(TAG.OCTET_STRING, `${where} extension value`);
    ext.expectEnd(`${where} extension ${oid}`);
    if (out.has(oid)) throw malformed(`${where} extension ${oid} appears twice`);
    if (critical && !known.has(oid) && oid !== OID_DELTA_CRL_INDICATOR) {
      throw new SknockCrlError('ERR_SKNOCK_CRL_UNSUPPORTED', `${where} has a critical extension ${oid} this server does not understand (RFC 5280 §5.2)`);
    }
    out.set(oid, value);
  }
  return out;
}
