import type { CertificateAuthority } from './authority.js';
import { x509 } from './x509.js';

/**
 * The CA certificate's subject as an `@peculiar/x509` Name, the issuer of what it signs.
 * Kept out of authority.ts so that the public types of `@sknock/ca` do not pull in
 * `@peculiar/x509`'s (which need the DOM lib).
 */

// The CA's subject Name by certificate bytes: each issued certificate's issuer, parsed once.
const issuerNames = new WeakMap<Uint8Array, x509.Name>();

/** The CA certificate's subject, exactly as encoded (the issuer of what it signs). */
export function issuerName(ca: CertificateAuthority): x509.Name {
  let name = issuerNames.get(ca.certificate);
  if (name === undefined) {
    name = new x509.X509Certificate(ca.certificate).subjectName;
    issuerNames.set(ca.certificate, name);
  }
  return name;
}

