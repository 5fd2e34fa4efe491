import { sign, type KeyObject } from 'node:crypto';
import { MAX_ECDSA_P256_SIGNATURE_LENGTH } from './constants.js';
import { encodeTlv, readTlvHeader } from './der.js';
import { SknockCaError } from './errors.js';

/**
 * Changing a certificate this CA has just signed without building it again: append one
 * extension to its tbsCertificate and re-sign it (ECDSA P-256 / SHA-256 with node:crypto).
 * Building through `@peculiar/x509` costs about 3 ms a certificate; this costs about 0.1 ms,
 * which halves the time to issue a padded client certificate.
 *
 *     Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
 *     tbsCertificate ::= SEQUENCE { ..., extensions [3] EXPLICIT SEQUENCE OF Extension }
 */

const TAG_SEQUENCE = 0x30;
const TAG_BIT_STRING = 0x03;
const TAG_EXTENSIONS = 0xa3;

interface CertificateParts {
  /** Contents of tbsCertificate before `[3]`. */
  readonly tbsHead: Uint8Array;
  /** Contents of the extensions SEQUENCE. */
  readonly extensions: Uint8Array;
  /** signatureAlgorithm, whole TLV. */
  readonly algorithm: Uint8Array;
  /** The DER ECDSA signature inside the BIT STRING. */
  readonly signature: Uint8Array;
}

function split(certificate: Uint8Array): CertificateParts {
  const outer = readTlvHeader(certificate, 0);
  const tbs = readTlvHeader(certificate, outer.headerLength);
  const algorithm = readTlvHeader(certificate, tbs.end);
  const bits = readTlvHeader(certificate, algorithm.end);
  if (outer.tag !== TAG_SEQUENCE || tbs.tag !== TAG_SEQUENCE || bits.tag !== TAG_BIT_STRING) {
    throw new SknockCaError('ERR_SKNOCK_CA_INVALID_ARGUMENT', 'not a DER certificate');
  }
  let at = tbs.offset + tbs.headerLength;
  let wrapper = readTlvHeader(certificate, at);
  while (wrapper.tag !== TAG_EXTENSIONS) {
    if (wrapper.end >= tbs.end) throw new SknockCaError('ERR_SKNOCK_CA_INVALID_ARGUMENT', 'the certificate has no extensions');
    at = wrapper.end;
    wrapper = readTlvHeader(certificate, at);
  }
  const list = readTlvHeader(certificate, wrapper.offset + wrapper.headerLength);
  return {
    tbsHead: certificate.subarray(tbs.offset + tbs.headerLength, wrapper.offset),
    extensions: certificate.subarray(list.offset + list.headerLength, list.end),
    algorithm: certificate.subarray(algorithm.offset, algorithm.end),
    signature: certificate.subarray(bits.offset + bits.headerLength + 1, bits.end),
  };
}

/** `certificate` with `extension` (a whole Extension TLV) appended, signed again with `caKey`. */
export function appendExtension(certificate: Uint8Array, extension: Uint8Array, caKey: KeyObject): Uint8Array {
  const parts = split(certificate);
  const tbs = encodeTlv(
    TAG_SEQUENCE,
    parts.tbsHead,
    encodeTlv(TAG_EXTENSIONS, encodeTlv(TAG_SEQUENCE, parts.extensions, extension)),
  );
  const signature = new Uint8Array(sign('sha256', tbs, caKey));
  return encodeTlv(TAG_SEQUENCE, tbs, parts.algorithm, encodeTlv(TAG_BIT_STRING, Uint8Array.of(0), signature));
}

/**
 * How much longer the certificate could have been with the longest ECDSA P-256 signature
 * (DER signatures are mostly 70 to 72 bytes; size limits are checked at the worst, so that
 * the same request is refused or accepted every time).
 */
export function signatureSlack(certificate: Uint8Array): number {
  return Math.max(0, MAX_ECDSA_P256_SIGNATURE_LENGTH - split(certificate).signature.length);
}
