import { X509Certificate, createHash } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { OID_EKU_ANY, OID_EKU_CLIENT_AUTH } from '@sknock/protocol/oids';
import { isP256Key } from '@sknock/protocol/p256';
import { caIdentity, normaliseSerial, oneLineName } from '@sknock/protocol/x509';
import type { CertificateRef } from '../crl/certificate-ref.js';
import type { CrlManager } from '../crl/crl-manager.js';
import { LruCache } from './lru-cache.js';
import type { TrustRejectReason, TrustResult } from './types.js';

/**
 * Client certificate verification: the chain to a trust anchor (directly, or through
 * intermediates from caFile), each signature, each validity period, revocation, and that the
 * certificate is a P-256 client certificate.
 *
 * Revocation binds the issuer: the chain built says which CA certificate issued each link,
 * and each link (the client certificate and every intermediate; not the anchor) is looked up
 * on the CRL of exactly that CA, by (CA id, serial), never on another CA's CRL. Under
 * `requireCrl` each of those CAs must have a CRL in force that is not past its nextUpdate.
 *
 * Done with node:crypto `X509Certificate` (parse 114–131 µs against 805+ for pkijs, and
 * `verify(issuer.publicKey)` for the signatures). A verified chain is kept by the SHA-256 of
 * the certificate in a bounded LRU, so a repeated knock costs one hash; the cache holds
 * signatures and issuers only, nothing taken from a CRL: validity, revocation and CRL
 * freshness are checked on every call (a Map and a Set lookup per link), so a new CRL of
 * any CA applies at once to every cached chain that goes through that CA, and to no other.
 */

/** Verified chains remembered. */
export const DEFAULT_TRUST_CACHE_SIZE = 10_000;
/** Longest chain followed: client ← intermediates ← anchor (RFC 5280 §6.1 puts no limit; we do). */
export const MAX_CHAIN_LENGTH = 6;

export interface TrustStoreOptions {
  /** Trust anchors, DER: the CA certificate(s) of the server's PKCS#12. */
  readonly caCertificates: readonly Uint8Array[];
  /**
   * caFile's certificates, DER: intermediates a client certificate may chain through (each
   * must itself chain to an anchor); a self-signed one among them is a further trust anchor.
   */
  readonly intermediates?: readonly Uint8Array[];
  /** The CRLs in force, by CA (`CrlManager.crlOf`). */
  readonly crl: Pick<CrlManager, 'crlOf'>;
  /**
   * Refuse a certificate (reason 'no-crl') unless every CA that issued a link of its chain has
   * a CRL in force that is not past its nextUpdate.
   */
  readonly requireCrl: boolean;
  /** Verified chains remembered (default 10,000). */
  readonly cacheSize?: number;
}

interface ChainLink {
  /** "certificate" or "issuing CA 'CN=…'", for messages. */
  readonly label: string;
  readonly serial: string;
  /**
   * Who revokes it: its issuer and serial. Undefined for the trust anchor, whose validity is
   * checked but not its serial (a CRL is about what a CA issued).
   */
  readonly ref: CertificateRef | undefined;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly validFrom: string;
  readonly validTo: string;
}

/** What the cache keeps of a certificate whose chain verified. */
interface VerifiedChain {
  readonly subject: string;
  readonly serial: string;
  /** The issuing CA's subject, one line. */
  readonly issuer: string;
  /** The links revocation applies to, leaf first (shared with every verdict: never copied). */
  readonly refs: readonly CertificateRef[];
  readonly notAfter: number;
  /** SHA-256 of the certificate, base64 (the cache key). */
  readonly certificateId: string;
  readonly publicKey: KeyObject;
  /** Leaf first, anchor last. */
  readonly links: readonly ChainLink[];
}

/** A CA certificate with its public key taken out once (the getter builds a new KeyObject each time) and its identity. */
interface Issuer {
  readonly cert: X509Certificate;
  readonly key: KeyObject;
  /** `CaIdentity.id`: what its CRL is found by. */
  readonly id: string;
  /** Its subject, one line. */
  readonly name: string;
}

function issuerOf(cert: X509Certificate): Issuer {
  const identity = caIdentity(cert);
  return { cert, key: identity.publicKey, id: identity.id, name: identity.name };
}

function reject(reason: TrustRejectReason, detail: string): TrustResult {
  return { ok: false, reason, detail };
}

export class TrustStore {
  readonly #anchors: Issuer[] = [];
  readonly #anchorDer = new Set<string>();
  readonly #intermediates: Issuer[] = [];
  readonly #crl: TrustStoreOptions['crl'];
  readonly #requireCrl: boolean;
  readonly #cache: LruCache<string, VerifiedChain>;

  constructor(options: TrustStoreOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError('TrustStore: options must be an object');
    const parse = (der: Uint8Array, what: string): X509Certificate => {
      try {
        return new X509Certificate(der);
      } catch (cause) {
        throw new TypeError(`TrustStore: ${what} is not a readable X.509 certificate`, { cause });
      }
    };
    if (!Array.isArray(options.caCertificates)) throw new TypeError('TrustStore: caCertificates must be an array of DER certificates');
    options.caCertificates.forEach((der, i) => this.#addAnchor(parse(der, `caCertificates[${i}]`), `caCertificates[${i}]`));
    (options.intermediates ?? []).forEach((der, i) => {
      const cert = parse(der, `intermediates[${i}]`);
      if (cert.checkIssued(cert) && cert.verify(cert.publicKey)) this.#addAnchor(cert, `intermediates[${i}]`);
      else this.#intermediates.push(this.#issuer(cert, `intermediates[${i}]`));
    });
    if (this.#anchors.length === 0) throw new TypeError('TrustStore: no trust anchor (the server PKCS#12 holds no CA certificate and caFile none self-signed)');
    if (typeof options.requireCrl !== 'boolean') throw new TypeError('TrustStore: requireCrl must be a boolean');
    if (options.crl === null || typeof options.crl !== 'object' || typeof options.crl.crlOf !== 'function') throw new TypeError('TrustStore: crl must have crlOf(issuerId) (a CrlManager)');
    this.#crl = options.crl;
    this.#requireCrl = options.requireCrl;
    this.#cache = new LruCache(options.cacheSize ?? DEFAULT_TRUST_CACHE_SIZE);
  }

  /** Verified chains currently remembered. */
  get cacheSize(): number {
    return this.#cache.size;
  }

  /** Checks a client certificate (DER) at time `nowMs`. Never throws. */
  verify(certificateDer: Uint8Array, nowMs: number): TrustResult {
    let key: string;
    try {
      key = createHash('sha256').update(certificateDer).digest('base64');
    } catch {
      return reject('unparseable', 'not a byte array');
    }
    const cached = this.#cache.get(key);
    if (cached !== undefined) return this.#checkTimeAndCrl(cached, nowMs, true);

    try {
      return this.#verifyNew(new X509Certificate(certificateDer), key, nowMs);
    } catch {
      // A certificate that parses but whose key, names or signatures do not decode.
      return reject('unparseable', 'not a readable X.509 certificate');
    }
  }

  /** The chain check of a certificate not in the cache. May throw on undecodable contents. */
  #verifyNew(cert: X509Certificate, key: string, nowMs: number): TrustResult {
    const subject = oneLineName(cert.subject);
    const keyObject = cert.publicKey;
    if (!isP256Key(keyObject, 'public')) {
      const what = keyObject.asymmetricKeyType === 'ec' ? `EC ${keyObject.asymmetricKeyDetails?.namedCurve ?? '?'}` : (keyObject.asymmetricKeyType ?? 'unknown');
      return reject('not-p256', `'${subject}' has a ${what} key; sKnock client keys are EC P-256`);
    }
    if (cert.ca) return reject('not-client', `'${subject}' is a CA certificate`);
    const eku = cert.keyUsage; // Node: the extendedKeyUsage OIDs, or undefined without the extension
    if (eku !== undefined && eku.length > 0 && !eku.includes(OID_EKU_CLIENT_AUTH) && !eku.includes(OID_EKU_ANY)) {
      return reject('not-client', `'${subject}' has extendedKeyUsage without clientAuth`);
    }

    const built = this.#buildChain(cert);
    if (typeof built === 'string') return reject('untrusted', `'${subject}': ${built}`);
    const { chain, issuers } = built;
    const links: ChainLink[] = chain.map((c, i) => {
      const serial = normaliseSerial(c.serialNumber);
      const name = i === 0 ? subject : oneLineName(c.subject);
      // chain[i] was issued by issuers[i]; the last certificate is the anchor (no issuer above it).
      const by = issuers[i];
      return {
        label: i === 0 ? 'certificate' : `issuing CA '${name}'`,
        ref: by === undefined ? undefined : Object.freeze({ issuerId: by.id, issuer: by.name, serial, subject: name }),
        serial,
        notBefore: Date.parse(c.validFrom),
        notAfter: Date.parse(c.validTo),
        validFrom: c.validFrom,
        validTo: c.validTo,
      };
    });
    const refs = Object.freeze(links.flatMap((l) => (l.ref === undefined ? [] : [l.ref])));
    const leaf = links[0] as ChainLink;
    const verified: VerifiedChain = {
      subject,
      serial: leaf.serial,
      issuer: (issuers[0] as Issuer).name,
      refs,
      notAfter: leaf.notAfter,
      certificateId: key,
      publicKey: keyObject,
      links,
    };
    this.#cache.set(key, verified);
    return this.#checkTimeAndCrl(verified, nowMs, false);
  }

  #issuer(cert: X509Certificate, what: string): Issuer {
    try {
      return issuerOf(cert);
    } catch (cause) {
      throw new TypeError(`TrustStore: ${what} is not a readable X.509 certificate`, { cause });
    }
  }

  #addAnchor(cert: X509Certificate, what: string): void {
    const der = cert.raw.toString('base64');
    if (this.#anchorDer.has(der)) return;
    this.#anchorDer.add(der);
    this.#anchors.push(this.#issuer(cert, what));
  }

  /**
   * Leaf … anchor, every signature verified, with the CA certificate that issued each
   * (`issuers[i]` issued `chain[i]`; the anchor has none); or why not.
   */
  #buildChain(leaf: X509Certificate): { chain: X509Certificate[]; issuers: Issuer[] } | string {
    const chain = [leaf];
    const issuers: Issuer[] = [];
    let current = leaf;
    for (let depth = 0; depth < MAX_CHAIN_LENGTH; depth++) {
      let signatureFailed = false;
      for (const anchor of this.#anchors) {
        if (current.checkIssued(anchor.cert)) {
          if (current.verify(anchor.key)) {
            if (!this.#anchorDer.has(current.raw.toString('base64'))) {
              issuers.push(anchor);
              chain.push(anchor.cert);
            }
            return { chain, issuers };
          }
          signatureFailed = true;
        }
      }
      let next: Issuer | undefined;
      for (const candidate of this.#intermediates) {
        if (!candidate.cert.ca || chain.includes(candidate.cert) || !current.checkIssued(candidate.cert)) continue;
        if (current.verify(candidate.key)) {
          next = candidate;
          break;
        }
        signatureFailed = true;
      }
      if (next === undefined) {
        const who = current === leaf ? 'its' : `issuing CA '${oneLineName(current.subject)}':`;
        return signatureFailed
          ? `${who} signature does not verify with the key of issuer '${oneLineName(current.issuer)}'`
          : `${who} issuer '${oneLineName(current.issuer)}' is not a trusted CA`;
      }
      issuers.push(next);
      chain.push(next.cert);
      current = next.cert;
    }
    return `no trusted CA within ${MAX_CHAIN_LENGTH} certificates`;
  }

  #checkTimeAndCrl(chain: VerifiedChain, nowMs: number, fromCache: boolean): TrustResult {
    for (const link of chain.links) {
      if (nowMs < link.notBefore) return reject('not-yet-valid', `'${chain.subject}': ${link.label} is valid from ${link.validFrom}`);
      if (nowMs > link.notAfter) return reject('expired', `'${chain.subject}': ${link.label} expired ${link.validTo}`);
    }
    // Each link on the CRL of the CA that issued it; a revocation wins over a stale or missing CRL.
    for (const ref of chain.refs) {
      if (this.#crl.crlOf(ref.issuerId)?.revoked.has(ref.serial)) {
        const label = ref === chain.refs[0] ? 'certificate' : `issuing CA '${ref.subject}'`;
        return reject('revoked', `'${chain.subject}': ${label} (serial ${ref.serial}) is revoked by the CRL of '${ref.issuer}'`);
      }
    }
    if (this.#requireCrl) {
      for (const ref of chain.refs) {
        const held = this.#crl.crlOf(ref.issuerId);
        if (held === undefined) return reject('no-crl', `'${chain.subject}': no verified CRL of '${ref.issuer}' is held and requireCrl is on`);
        if (nowMs > held.nextUpdateMs) {
          return reject('no-crl', `'${chain.subject}': the CRL of '${ref.issuer}' is stale (nextUpdate ${new Date(held.nextUpdateMs).toISOString()} has passed) and requireCrl is on`);
        }
      }
    }
    return {
      ok: true,
      subject: chain.subject,
      serial: chain.serial,
      issuer: chain.issuer,
      chain: chain.refs,
      notAfter: chain.notAfter,
      fromCache,
      certificateId: chain.certificateId,
      publicKey: chain.publicKey,
    };
  }
}
