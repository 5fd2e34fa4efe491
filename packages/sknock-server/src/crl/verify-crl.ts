import { verify as cryptoVerify } from 'node:crypto';
import { nameText } from './ca-identity.js';
import type { CaIdentity } from './ca-identity.js';
import { SknockCrlError } from './errors.js';
import type { ParsedCrl } from './parse-crl.js';

/**
 * CRL signatures, checked with node:crypto (0.06 ms for ECDSA P-256, against 0.8 ms through
 * @peculiar/x509 or 1.6 ms through pkijs for a small CRL).
 */

interface SignatureScheme {
  /** node:crypto digest name; null for EdDSA. */
  readonly hash: string | null;
  /** Required `KeyObject.asymmetricKeyType`. */
  readonly keyType: 'ec' | 'rsa' | 'ed25519';
}

/** RFC 5758 §3.2 (ECDSA), RFC 4055 §5 (RSA PKCS#1 v1.5), RFC 8410 §3 (Ed25519). */
const SCHEMES: ReadonlyMap<string, SignatureScheme> = new Map([
  ['1.2.840.10045.4.3.2', { hash: 'sha256', keyType: 'ec' }],
  ['1.2.840.10045.4.3.3', { hash: 'sha384', keyType: 'ec' }],
  ['1.2.840.10045.4.3.4', { hash: 'sha512', keyType: 'ec' }],
  ['1.2.840.113549.1.1.11', { hash: 'sha256', keyType: 'rsa' }],
  ['1.2.840.113549.1.1.12', { hash: 'sha384', keyType: 'rsa' }],
  ['1.2.840.113549.1.1.13', { hash: 'sha512', keyType: 'rsa' }],
  ['1.3.101.112', { hash: null, keyType: 'ed25519' }],
]);

/**
 * The CA that issued `crl`, among `cas`: its subject equals the CRL's issuer field (byte for
 * byte), its subject key identifier equals the CRL's authority key identifier when both are
 * present, and its key verifies the CRL's signature. Nothing else may issue it: a CRL that
 * names one CA and is signed by another is refused, however trusted the other one is.
 *
 * Throws `SknockCrlError`: ERR_SKNOCK_CRL_ISSUER (the issuer it names is no trusted CA, or
 * its key identifier is none of that CA's), ERR_SKNOCK_CRL_SIGNATURE (the named CA's key does
 * not verify it), ERR_SKNOCK_CRL_UNSUPPORTED (a signature algorithm not implemented here;
 * SHA-1 is refused on purpose).
 */
export function findCrlIssuer(crl: ParsedCrl, cas: readonly CaIdentity[]): CaIdentity {
  const scheme = SCHEMES.get(crl.signatureAlgorithm);
  if (scheme === undefined) {
    throw new SknockCrlError('ERR_SKNOCK_CRL_UNSUPPORTED', `CRL signature algorithm ${crl.signatureAlgorithm} is not supported (use ECDSA or RSA with SHA-256/384/512, or Ed25519)`);
  }
  const named = cas.filter((ca) => Buffer.compare(ca.subject, crl.issuer) === 0);
  if (named.length === 0) {
    throw new SknockCrlError('ERR_SKNOCK_CRL_ISSUER', `its issuer '${nameText(crl.issuer)}' is not a trusted CA`);
  }
  const aki = crl.authorityKeyId;
  const candidates = aki === undefined ? named : named.filter((ca) => ca.keyIdentifier === undefined || Buffer.compare(ca.keyIdentifier, aki) === 0);
  if (candidates.length === 0) {
    throw new SknockCrlError(
      'ERR_SKNOCK_CRL_ISSUER',
      `its authority key identifier ${Buffer.from(aki as Uint8Array).toString('hex')} is not the key of the CA it names ('${(named[0] as CaIdentity).name}')`,
    );
  }
  for (const ca of candidates) {
    if (ca.publicKey.asymmetricKeyType !== scheme.keyType) continue;
    try {
      if (cryptoVerify(scheme.hash, crl.tbs, ca.publicKey, crl.signature)) return ca;
    } catch {
      // a malformed signature value: same as "does not verify"
    }
  }
  throw new SknockCrlError('ERR_SKNOCK_CRL_SIGNATURE', `its signature does not verify with the key of the CA it names ('${(candidates[0] as CaIdentity).name}')`);
}
