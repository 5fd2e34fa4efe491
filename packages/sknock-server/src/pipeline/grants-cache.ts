import { isSknockProtocolError, parsePortGrants, type PortGrant } from '@sknock/protocol';
import { GRANTS_CACHE_MAX } from '../constants.js';

/**
 * The port grants of each client certificate, parsed once and kept by certificate hash
 * (returning clients send the same certificate each time). Bounded: the entry cached
 * longest is dropped first. A certificate whose grant otherName is malformed is cached as
 * granting nothing, with the reason.
 */

export interface CertificateGrants {
  readonly grants: readonly PortGrant[];
  /** Set when the grant otherName did not parse. */
  readonly problem?: string;
}

export class GrantsCache {
  readonly #entries = new Map<string, CertificateGrants>();
  readonly max: number;

  constructor(max = GRANTS_CACHE_MAX) {
    this.max = max;
  }

  get(certificateHash: string, certificate: Uint8Array): CertificateGrants {
    let entry = this.#entries.get(certificateHash);
    if (entry === undefined) {
      try {
        entry = { grants: parsePortGrants(certificate) };
      } catch (err) {
        if (!isSknockProtocolError(err)) throw err;
        entry = { grants: [], problem: err.message };
      }
      if (this.#entries.size >= this.max) {
        const oldest = this.#entries.keys().next().value;
        if (oldest !== undefined) this.#entries.delete(oldest);
      }
      this.#entries.set(certificateHash, entry);
    }
    return entry;
  }

  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    this.#entries.clear();
  }
}
