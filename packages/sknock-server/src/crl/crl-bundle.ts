import { crlDerFailure, SknockCrlError } from '@sknock/protocol/crl';
import { DerReader, TAG } from '@sknock/protocol/der';
import { decodePem, encodePem, looksLikePem } from '@sknock/protocol/pem';

/**
 * One CRL source (a crlFile, a crlUrl download) may carry one CRL per CA:
 *
 * - PEM: any number of `X509 CRL` (OpenSSL) or `CRL` (WebCrypto-based X.509 libraries) blocks, other blocks
 *   and text between them ignored (`cat ca1.crl.pem ca2.crl.pem > crl.pem`);
 * - DER: one CRL, or several DER CRLs one after the other (`cat ca1.crl ca2.crl > crl.der`):
 *   each is one complete SEQUENCE, so the boundaries are exact.
 *
 * When the daemon writes a crlFile, one CRL is written as DER (as before) and several as a
 * PEM bundle, which OpenSSL (`openssl crl -in`, `crl_verify` bundles) also reads.
 */

/** Largest CRL source accepted, bytes (about 700,000 entries). */
export const MAX_CRL_BYTES = 32 * 1024 * 1024;
/** Most CRLs one source may carry: far more than anyone has CAs. */
export const MAX_CRLS_PER_SOURCE = 256;

const CRL_PEM_LABELS = new Set(['X509 CRL', 'CRL']);

function malformed(what: string): never {
  throw new SknockCrlError('ERR_SKNOCK_CRL_MALFORMED', what);
}

/** The DER of every CRL in `input`, in order. Throws `SknockCrlError` ERR_SKNOCK_CRL_MALFORMED. */
export function crlDersFrom(input: Uint8Array): Uint8Array[] {
  if (input.length > MAX_CRL_BYTES) malformed(`CRL is ${input.length} bytes, more than the ${MAX_CRL_BYTES} accepted`);
  let ders: Uint8Array[];
  if (looksLikePem(input)) {
    ders = decodePem(Buffer.from(input).toString('latin1'))
      .filter((b) => CRL_PEM_LABELS.has(b.label))
      .map((b) => b.der);
    if (ders.length === 0) malformed('PEM text holds no "X509 CRL" (or "CRL") block');
  } else {
    ders = [];
    const reader = new DerReader(input, crlDerFailure);
    do {
      if (reader.peekTag() !== TAG.SEQUENCE && ders.length > 0) malformed('CRL: unexpected data after its last field');
      ders.push(reader.encodingOf(reader.next(TAG.SEQUENCE, 'CertificateList')));
    } while (!reader.atEnd && ders.length <= MAX_CRLS_PER_SOURCE);
  }
  if (ders.length > MAX_CRLS_PER_SOURCE) malformed(`it holds more than ${MAX_CRLS_PER_SOURCE} CRLs`);
  return ders;
}

/** Bytes for a crlFile holding `ders`: the DER itself for one CRL, a PEM bundle (`X509 CRL`) for several. */
export function encodeCrlBundle(ders: readonly Uint8Array[]): Uint8Array {
  if (ders.length === 1) return ders[0] as Uint8Array;
  return new Uint8Array(Buffer.from(ders.map((der) => encodePem('X509 CRL', der)).join(''), 'latin1'));
}
