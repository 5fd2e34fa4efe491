import { crlDersFrom } from './crl-bundle.js';
import { DerReader, TAG, contentOf, decodeOid, decodeTime, encodingOf, integerToBigInt, isTimeTag } from './der-reader.js';
import { SknockCrlError } from './errors.js';
import { normaliseSerial } from './serial.js';

/**
 * An X.509 CRL (RFC 5280 §5.1) read from DER, with what the server needs: the signed bytes,
 * the signature, the dates, the CRL number and the revoked serials.
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
 * Parsing this by hand rather than through @peculiar/x509 or pkijs: both take about 0.6–0.8 s
 * and ~250 MB for a 10,000-entry CRL (and need their ASN.1 node limit raised to read it at
 * all), blocking the daemon's event loop; this reader takes a few milliseconds (see the
 * package README). pkijs also refuses CRLs that @peculiar/x509 writes (empty entry extensions).
 */

export interface ParsedCrl {
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

/** RFC 5280 §5.2.3 / §5.2.4 / §5.2.5 / §4.2.1.1 / §5.3.1. */
const OID_CRL_NUMBER = '2.5.29.20';
const OID_DELTA_CRL_INDICATOR = '2.5.29.27';
const OID_ISSUING_DISTRIBUTION_POINT = '2.5.29.28';
const OID_AUTHORITY_KEY_IDENTIFIER = '2.5.29.35';
const OID_REASON_CODE = '2.5.29.21';
const OID_INVALIDITY_DATE = '2.5.29.24';

/** `[0]` primitive: keyIdentifier inside AuthorityKeyIdentifier. */
const TAG_KEY_IDENTIFIER = 0x80;

/** Critical CRL extensions this reader understands (others make the CRL unusable, RFC 5280 §5.2). */
const KNOWN_CRL_EXTENSIONS = new Set([OID_CRL_NUMBER, OID_ISSUING_DISTRIBUTION_POINT, OID_AUTHORITY_KEY_IDENTIFIER]);
const KNOWN_ENTRY_EXTENSIONS = new Set([OID_REASON_CODE, OID_INVALIDITY_DATE]);

function malformed(what: string): never {
  throw new SknockCrlError('ERR_SKNOCK_CRL_MALFORMED', what);
}

/**
 * Parses the one CRL in `input` (DER, or PEM with label `X509 CRL` or `CRL`). Throws
 * `SknockCrlError` (MALFORMED or UNSUPPORTED); bytes holding several CRLs are MALFORMED here
 * (a bundle is read by `crlDersFrom`, then each CRL by `parseCrl`).
 */
export function parseCrl(input: Uint8Array): ParsedCrl {
  const ders = crlDersFrom(input);
  if (ders.length !== 1) malformed(`it holds ${ders.length} CRLs where one was expected`);
  const der = ders[0] as Uint8Array;
  const outer = new DerReader(der);
  const listTlv = outer.next(TAG.SEQUENCE, 'CertificateList');
  outer.expectEnd('CRL');
  const list = DerReader.inside(der, listTlv);
  const tbsTlv = list.next(TAG.SEQUENCE, 'tbsCertList');
  const outerAlgTlv = list.next(TAG.SEQUENCE, 'signatureAlgorithm');
  const sigTlv = list.next(TAG.BIT_STRING, 'signatureValue');
  list.expectEnd('CertificateList');

  const sigContent = contentOf(der, sigTlv);
  if (sigContent.length < 2 || sigContent[0] !== 0) malformed('signatureValue: BIT STRING with unused bits');
  const signatureAlgorithm = decodeOid(contentOf(der, new DerReader(der, outerAlgTlv.contentStart, outerAlgTlv.end).next(TAG.OID, 'signature algorithm')));

  const tbs = DerReader.inside(der, tbsTlv);
  let version = 0;
  if (tbs.peekTag() === TAG.INTEGER) {
    const v = contentOf(der, tbs.next(TAG.INTEGER, 'version'));
    if (v.length !== 1 || (v[0] as number) > 1) malformed('version: not v1 or v2');
    version = v[0] as number;
  }
  const innerAlgTlv = tbs.next(TAG.SEQUENCE, 'tbsCertList.signature');
  if (Buffer.compare(encodingOf(der, innerAlgTlv), encodingOf(der, outerAlgTlv)) !== 0) {
    malformed('tbsCertList.signature differs from signatureAlgorithm (RFC 5280 §5.1.1.2)');
  }
  const issuerTlv = tbs.next(TAG.SEQUENCE, 'issuer');
  const thisUpdateTlv = tbs.next(undefined, 'thisUpdate');
  if (!isTimeTag(thisUpdateTlv.tag)) malformed('thisUpdate: not a time');
  const thisUpdate = decodeTime(der, thisUpdateTlv, 'thisUpdate');
  let nextUpdate: Date | undefined;
  if (isTimeTag(tbs.peekTag())) nextUpdate = decodeTime(der, tbs.next(undefined, 'nextUpdate'), 'nextUpdate');

  const revoked = new Set<string>();
  if (tbs.peekTag() === TAG.SEQUENCE) {
    const entries = tbs.enter(TAG.SEQUENCE, 'revokedCertificates');
    while (!entries.atEnd) {
      const entry = entries.enter(TAG.SEQUENCE, 'revokedCertificates entry');
      const serial = contentOf(der, entry.next(TAG.INTEGER, 'userCertificate'));
      if (serial.length === 0) malformed('userCertificate: empty serial');
      const date = entry.next(undefined, 'revocationDate');
      if (!isTimeTag(date.tag)) malformed('revocationDate: not a time');
      if (!entry.atEnd) readExtensions(der, entry.enter(TAG.SEQUENCE, 'crlEntryExtensions'), KNOWN_ENTRY_EXTENSIONS, 'CRL entry');
      entry.expectEnd('revokedCertificates entry');
      revoked.add(normaliseSerial(serial));
    }
  }

  let crlNumber: bigint | undefined;
  let authorityKeyId: Uint8Array | undefined;
  if (tbs.peekTag() === TAG.CONTEXT_0) {
    const wrapper = tbs.enter(TAG.CONTEXT_0, 'crlExtensions');
    const extensions = readExtensions(der, wrapper.enter(TAG.SEQUENCE, 'crlExtensions'), KNOWN_CRL_EXTENSIONS, 'CRL');
    wrapper.expectEnd('crlExtensions');
    if (extensions.has(OID_DELTA_CRL_INDICATOR)) {
      throw new SknockCrlError('ERR_SKNOCK_CRL_UNSUPPORTED', 'delta CRLs are not supported; publish a full CRL');
    }
    const number = extensions.get(OID_CRL_NUMBER);
    if (number !== undefined) {
      const r = new DerReader(number);
      crlNumber = integerToBigInt(contentOf(number, r.next(TAG.INTEGER, 'CRL number')), 'CRL number');
      r.expectEnd('CRL number');
    }
    const aki = extensions.get(OID_AUTHORITY_KEY_IDENTIFIER);
    if (aki !== undefined) authorityKeyId = readKeyIdentifier(aki);
  }
  tbs.expectEnd('tbsCertList');

  return {
    der,
    tbs: encodingOf(der, tbsTlv),
    version,
    issuer: encodingOf(der, issuerTlv),
    thisUpdate,
    nextUpdate,
    crlNumber,
    authorityKeyId,
    signatureAlgorithm,
    signature: sigContent.subarray(1),
    revoked,
  };
}

/** RFC 5280 §4.2.1.1: AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING OPTIONAL, … }. */
function readKeyIdentifier(value: Uint8Array): Uint8Array | undefined {
  const seq = new DerReader(value).enter(TAG.SEQUENCE, 'authorityKeyIdentifier');
  if (seq.peekTag() !== TAG_KEY_IDENTIFIER) return undefined;
  const id = contentOf(value, seq.next(TAG_KEY_IDENTIFIER, 'keyIdentifier'));
  return id.length > 0 ? new Uint8Array(id) : undefined;
}

/** Extensions (RFC 5280 §4.1): OID → extnValue; an unknown critical one makes the CRL unusable. */
function readExtensions(der: Uint8Array, reader: DerReader, known: ReadonlySet<string>, where: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  while (!reader.atEnd) {
    const ext = reader.enter(TAG.SEQUENCE, `${where} extension`);
    const oid = decodeOid(contentOf(der, ext.next(TAG.OID, `${where} extension id`)));
    let critical = false;
    if (ext.peekTag() === TAG.BOOLEAN) {
      const b = contentOf(der, ext.next(TAG.BOOLEAN, `${where} extension critical`));
      if (b.length !== 1) malformed(`${where} extension ${oid}: bad BOOLEAN`);
      critical = b[0] !== 0;
    }
    const value = contentOf(der, ext.next(TAG.OCTET_STRING, `${where} extension value`));
    ext.expectEnd(`${where} extension ${oid}`);
    if (out.has(oid)) malformed(`${where} extension ${oid} appears twice`);
    if (critical && !known.has(oid) && oid !== OID_DELTA_CRL_INDICATOR) {
      throw new SknockCrlError('ERR_SKNOCK_CRL_UNSUPPORTED', `${where} has a critical extension ${oid} this server does not understand (RFC 5280 §5.2)`);
    }
    out.set(oid, value);
  }
  return out;
}
