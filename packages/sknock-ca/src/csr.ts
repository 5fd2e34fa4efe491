import { createPublicKey, type KeyObject } from 'node:crypto';
import type { PortGrant } from '@sknock/protocol';
import { checkCa, type CertificateAuthority } from './authority.js';
import { checkMinimumDatagramLength, signClientCertificate } from './client-certificate.js';
import { DEFAULT_CLIENT_VALIDITY_DAYS } from './constants.js';
import { after2049Warnings } from './after-2049.js';
import { SknockCaError, invalidArgument, type SknockCaWarning } from './errors.js';
import { checkGrants } from './grant-spec.js';
import { assertP256 } from './keys.js';
import { checkCommonName, commonNameSubject } from './names.js';
import { resolveValidity, type ValidityOptions } from './validity.js';
import { x509 } from './x509.js';

/**
 * Signing a PKCS#10 request (RFC 2986) as a client certificate: the holder keeps a key the
 * CA never sees. The request's self-signature must verify and its key must be P-256.
 */

export interface SignCsrOptions extends ValidityOptions {
  /** Ports the certificate lets its holder open. */
  readonly grants: readonly PortGrant[];
  /** commonName to certify instead of the request's subject. */
  readonly name?: string;
  /** As for `issueClientCertificate` (default 758; 0: no padding). */
  readonly minimumDatagramLength?: number;
  /** Validity past 2049 is meant: no `WARN_SKNOCK_CA_AFTER_2049`. */
  readonly allowAfter2049?: boolean;
}

export interface SignedCsrCertificate {
  /** The client certificate, DER. */
  readonly certificate: Uint8Array;
  readonly serial: string;
  /** The certified subject, RFC 4514 text. */
  readonly subject: string;
  /** Its commonName (or the whole subject when it has none). */
  readonly name: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly grants: readonly PortGrant[];
  readonly datagramLength: number;
  /** What the holder should know (`WARN_SKNOCK_CA_AFTER_2049`); usually none. */
  readonly warnings: readonly SknockCaWarning[];
}

function invalidCsr(message: string, cause?: unknown): SknockCaError {
  return new SknockCaError('ERR_SKNOCK_CA_INVALID_CSR', message, cause === undefined ? undefined : { cause });
}

/** Parses a request from PEM (`CERTIFICATE REQUEST`) text or DER bytes. */
function parseCsr(input: unknown): x509.Pkcs10CertificateRequest {
  let data: string | Uint8Array;
  if (typeof input === 'string') data = input;
  else if (input instanceof Uint8Array) {
    const head = Buffer.from(input.subarray(0, 64)).toString('latin1');
    data = head.includes('-----BEGIN') ? Buffer.from(input).toString('latin1') : input;
  } else throw invalidArgument('csr must be PEM text or DER bytes');
  try {
    if (typeof data === 'string') {
      const m = /-----BEGIN (NEW )?CERTIFICATE REQUEST-----[\s\S]*?-----END (NEW )?CERTIFICATE REQUEST-----/.exec(data);
      if (m === null) throw invalidCsr('the request holds no PEM CERTIFICATE REQUEST block');
      return new x509.Pkcs10CertificateRequest(m[0].replace(/NEW CERTIFICATE REQUEST/g, 'CERTIFICATE REQUEST'));
    }
    return new x509.Pkcs10CertificateRequest(data);
  } catch (cause) {
    if (cause instanceof SknockCaError) throw cause;
    throw invalidCsr('the certificate request is not a readable PKCS#10 request (PEM CERTIFICATE REQUEST or DER)', cause);
  }
}

/** Verifies `csr` and signs it as an sKnock client certificate with `options.grants`. */
export async function signCsr(ca: CertificateAuthority, csr: string | Uint8Array, options: SignCsrOptions): Promise<SignedCsrCertificate> {
  checkCa(ca);
  if (options === null || typeof options !== 'object') throw invalidArgument('signCsr options must be an object');
  const grants = checkGrants(options.grants);
  const minimumDatagramLength = checkMinimumDatagramLength(options.minimumDatagramLength);
  const name = options.name === undefined ? undefined : checkCommonName(options.name, 'name');
  const request = parseCsr(csr);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(request.publicKey.rawData), format: 'der', type: 'spki' });
  } catch (cause) {
    throw invalidCsr('the request\'s public key does not parse', cause);
  }
  assertP256(key, 'the request\'s public key');
  let ok = false;
  try {
    ok = await request.verify();
  } catch (cause) {
    throw invalidCsr('the request\'s signature could not be checked', cause);
  }
  if (!ok) throw invalidCsr('the request\'s signature does not verify: it was not signed by the key it holds');
  const subject = name === undefined ? request.subjectName : commonNameSubject(name);
  const cn = subject.getField('CN')[0];
  if (subject.toString() === '') throw invalidArgument('the request has an empty subject: give a name');
  const validity = resolveValidity(options, DEFAULT_CLIENT_VALIDITY_DAYS, ca.notAfter);
  const warnings = after2049Warnings(validity, 'the client certificate', { allowAfter2049: options.allowAfter2049 });
  const signed = await signClientCertificate(ca, {
    subject,
    publicKey: new Uint8Array(request.publicKey.rawData),
    grants,
    validity,
    minimumDatagramLength,
  });
  return { ...signed, subject: subject.toString(), name: cn ?? subject.toString(), grants, ...validity, warnings };
}
