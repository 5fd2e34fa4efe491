import { decodeCrl, SknockCrlError, type DecodedCrl } from '@sknock/protocol/crl';
import { crlDersFrom } from './crl-bundle.js';

/**
 * The one CRL of a crlFile or download (DER, or PEM with label `X509 CRL` or `CRL`),
 * decoded by the protocol layer (`@sknock/protocol/crl`, crl-decode.ts).
 */

/** A decoded CRL (`DecodedCrl` of `@sknock/protocol/crl`). */
export type ParsedCrl = DecodedCrl;

/**
 * Parses the one CRL in `input`. Throws `SknockCrlError` (MALFORMED or UNSUPPORTED); bytes
 * holding several CRLs are MALFORMED here (a bundle is read by `crlDersFrom`, then each CRL
 * by `parseCrl`).
 */
export function parseCrl(input: Uint8Array): ParsedCrl {
  const ders = crlDersFrom(input);
  if (ders.length !== 1) throw new SknockCrlError('ERR_SKNOCK_CRL_MALFORMED', `it holds ${ders.length} CRLs where one was expected`);
  return decodeCrl(ders[0] as Uint8Array);
}
