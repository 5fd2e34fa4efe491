import { X509Certificate, type KeyObject } from 'node:crypto';
import { SknockProtocolError, type SknockProtocolErrorCode } from '../errors/protocol-error.js';
import { describeKey, isP256Key } from '../p256.js';
import type { Credentials } from '../types.js';

/**
 * Pairs a private key with its certificate, the same way for PKCS#12 and PEM input: the
 * end-entity certificate is the one whose public key belongs to the private key; every
 * other certificate goes to `caCertificates`, in the order given. Only EC P-256 keys
 * serve sKnock (PROTOCOL.md "Keys").
 */

export interface CertificateInput {
  readonly der: Uint8Array;
  /** What to call it in messages, e.g. `certificate[1]`. */
  readonly label: string;
}


/** Parses each certificate; unreadable ones throw with `code`. */
export function parseCertificates(inputs: readonly CertificateInput[], code: SknockProtocolErrorCode): X509Certificate[] {
  return inputs.map((c) => {
    try {
      return new X509Certificate(c.der);
    } catch (cause) {
      throw new SknockProtocolError(code, `${c.label} is not a readable X.509 certificate`, { cause });
    }
  });
}

function belongsTo(certificate: X509Certificate, key: KeyObject): boolean {
  try {
    return certificate.checkPrivateKey(key);
  } catch {
    return false;
  }
}

/**
 * `Credentials` from candidate keys and certificates (`source` names the input in
 * messages). `extraCa` is appended to `caCertificates` as it is.
 */
export function selectCredentials(
  source: string,
  keys: readonly KeyObject[],
  certificates: readonly CertificateInput[],
  parsed: readonly X509Certificate[],
  extraCa: readonly Uint8Array[] = [],
): Credentials {
  if (keys.length === 0) throw new SknockProtocolError('ERR_SKNOCK_MISSING_KEY', `${source} holds no private key`);
  const usable = keys.filter((key) => isP256Key(key, 'private'));
  if (usable.length === 0) {
    throw new SknockProtocolError('ERR_SKNOCK_UNSUPPORTED_KEY', `${source}: the private key is ${describeKey(keys[0] as KeyObject)}; sKnock needs EC P-256`);
  }
  if (certificates.length === 0) throw new SknockProtocolError('ERR_SKNOCK_MISSING_CERTIFICATE', `${source} holds no certificate`);
  for (const key of usable) {
    const index = parsed.findIndex((c) => belongsTo(c, key));
    if (index >= 0) {
      return {
        privateKey: key,
        certificate: Uint8Array.from((certificates[index] as CertificateInput).der),
        caCertificates: [
          ...certificates.filter((_, i) => i !== index).map((c) => Uint8Array.from(c.der)),
          ...extraCa.map((c) => Uint8Array.from(c)),
        ],
      };
    }
  }
  throw new SknockProtocolError('ERR_SKNOCK_KEY_MISMATCH', `${source}: no certificate belongs to the private key`);
}
