import { encodeGrantsSubjectAltName, formatPortGrants, knockDatagramLength, type PortGrant } from '@sknock/protocol';
import type { CertificateAuthority } from './authority.js';
import {
  MAX_KNOCK_DATAGRAM_LENGTH,
  OID_NETSCAPE_COMMENT,
  OID_SUBJECT_ALT_NAME,
  ORIGINAL_SERVER_MIN_DATAGRAM_LENGTH,
} from './constants.js';
import { SknockCaError, invalidArgument } from './errors.js';
import { appendExtension, signatureSlack } from './certificate-splice.js';
import { signCertificate } from './sign-certificate.js';
import type { Validity } from './validity.js';
import { x509 } from './x509.js';

/**
 * A client certificate's sKnock parts and its size (PROTOCOL.md "Authorization inside the
 * client certificate", "Sizes"): keyUsage digitalSignature, extKeyUsage clientAuth, the grant
 * otherName in subjectAltName; refused when a knock would exceed 1232 bytes; padded (nsComment)
 * up to a 758-byte knock so that sKnock 1.0.0 servers, which drop frames under 800 bytes, see it.
 */

export interface ClientCertificateParts {
  readonly subject: x509.Name;
  /** SubjectPublicKeyInfo DER (P-256). */
  readonly publicKey: Uint8Array;
  readonly grants: readonly PortGrant[];
  readonly validity: Validity;
  /** Pad the certificate until a knock is at least this long (0: no padding). */
  readonly minimumDatagramLength: number;
}

export interface SignedClientCertificate {
  readonly certificate: Uint8Array;
  readonly serial: string;
  /** The knock datagram length this certificate gives (`knockDatagramLength`). */
  readonly datagramLength: number;
}

/** Checks the `minimumDatagramLength` option: 0 (no padding) up to 1232. */
export function checkMinimumDatagramLength(value: unknown): number {
  if (value === undefined) return ORIGINAL_SERVER_MIN_DATAGRAM_LENGTH;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_KNOCK_DATAGRAM_LENGTH) {
    throw invalidArgument(`minimumDatagramLength must be an integer from 0 to ${MAX_KNOCK_DATAGRAM_LENGTH}, got ${String(value)}`);
  }
  return value;
}

/** The shortest certificate length whose knock is at least `datagramLength` bytes. */
function certificateLengthFor(datagramLength: number): number {
  let c = 0;
  while (knockDatagramLength(c) < datagramLength) c++;
  return c;
}

const PAD_TEXT = 'sKnock 1.0.0 servers ignore knocks in frames under 800 bytes; this comment pads the certificate';
/**
 * SEQUENCE { OID (11), OCTET STRING { IA5String } } around the comment, and the longer
 * length octets of the enclosing SEQUENCEs: 17 bytes for a short comment, 23 for a long one.
 */
function paddingOverhead(deficit: number): number {
  return deficit - 17 < 0x80 ? 17 : 23;
}

/** nsComment extension (whole TLV) of `length` characters: the note, then spaces. */
function paddingExtension(length: number): Uint8Array {
  const text = Buffer.from(PAD_TEXT.slice(0, length).padEnd(length, ' '), 'ascii');
  const header = length < 0x80 ? Buffer.of(0x16, length) : Buffer.of(0x16, 0x82, length >> 8, length & 0xff);
  return new Uint8Array(new x509.Extension(OID_NETSCAPE_COMMENT, false, Buffer.concat([header, text])).rawData);
}

/** Signs a client certificate for `parts`, checking and adjusting its size. */
export async function signClientCertificate(ca: CertificateAuthority, parts: ClientCertificateParts): Promise<SignedClientCertificate> {
  const base = [
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
    new x509.Extension(OID_SUBJECT_ALT_NAME, false, encodeGrantsSubjectAltName(parts.grants)),
  ];
  const template = { subject: parts.subject, publicKey: parts.publicKey, validity: parts.validity };
  let signed = await signCertificate(ca, { ...template, extensions: base });
  const worst = signed.certificate.length + signatureSlack(signed.certificate);
  if (knockDatagramLength(worst) > MAX_KNOCK_DATAGRAM_LENGTH) {
    const grantText = formatPortGrants(parts.grants);
    throw new SknockCaError(
      'ERR_SKNOCK_CA_CERTIFICATE_TOO_LARGE',
      `the client certificate would be up to ${worst} bytes (${parts.grants.length} grants, a ${grantText.length}-character grant string), ` +
        `which makes a ${knockDatagramLength(worst)}-byte knock datagram; the limit is ${MAX_KNOCK_DATAGRAM_LENGTH} bytes ` +
        `(certificates up to ${certificateLengthFor(MAX_KNOCK_DATAGRAM_LENGTH + 1) - 1} bytes): grant fewer ports or use a shorter name`,
    );
  }
  const wanted = certificateLengthFor(parts.minimumDatagramLength);
  let certificate = signed.certificate;
  let padding = 0;
  for (let attempt = 0; attempt < 8 && certificate.length < wanted; attempt++) {
    const deficit = wanted - certificate.length;
    padding = padding === 0 ? Math.max(1, deficit - paddingOverhead(deficit)) : padding + deficit;
    certificate = appendExtension(signed.certificate, paddingExtension(padding), ca.privateKey);
  }
  return { certificate, serial: signed.serial, datagramLength: knockDatagramLength(certificate.length) };
}
