import { X509Certificate } from 'node:crypto';
import { SknockProtocolError } from '../errors/protocol-error.js';
import { decodePem, looksLikePem } from '../pem.js';

/**
 * Certificates as DER: what a client is handed for its server (DER or PEM, PROTOCOL.md
 * "Keys"), checked to parse as X.509.
 */

const CERTIFICATE_LABELS = new Set(['CERTIFICATE', 'X509 CERTIFICATE', 'TRUSTED CERTIFICATE']);

/** Every certificate in PEM text or DER bytes, as DER, each checked to parse. */
export function readCertificates(input: Uint8Array | string, argument = 'certificate'): Uint8Array[] {
  let ders: Uint8Array[];
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) {
    throw new SknockProtocolError('ERR_SKNOCK_INVALID_ARGUMENT', `${argument} must be DER bytes or PEM text`);
  }
  if (looksLikePem(input)) {
    const text = typeof input === 'string' ? input : Buffer.from(input).toString('latin1');
    ders = decodePem(text).filter((b) => CERTIFICATE_LABELS.has(b.label)).map((b) => b.der);
    if (ders.length === 0) {
      throw new SknockProtocolError('ERR_SKNOCK_INVALID_CERTIFICATE', `${argument} holds no PEM CERTIFICATE block`);
    }
  } else if (typeof input === 'string') {
    throw new SknockProtocolError('ERR_SKNOCK_INVALID_CERTIFICATE', `${argument} is text but not PEM`);
  } else {
    ders = [new Uint8Array(input)];
  }
  for (const der of ders) checkCertificate(der, argument);
  return ders;
}

/** The one certificate in PEM text or DER bytes, as DER (the first, if PEM holds several). */
export function readCertificate(input: Uint8Array | string, argument = 'certificate'): Uint8Array {
  return readCertificates(input, argument)[0] as Uint8Array;
}

function checkCertificate(der: Uint8Array, argument: string): void {
  try {
    new X509Certificate(der);
  } catch (cause) {
    throw new SknockProtocolError('ERR_SKNOCK_INVALID_CERTIFICATE', `${argument} is not a readable X.509 certificate`, { cause });
  }
}
