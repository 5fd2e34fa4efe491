import type { KeyObject } from 'node:crypto';
import type { KnockKeys } from '@sknock/protocol';
import type { CertificateRef } from '../crl/certificate-ref.js';
import type { Grant } from '../firewall/backend.js';
import type { TrustResult } from '../trust/types.js';
import type { RejectCode } from './reject-codes.js';

/** Where a datagram came from, normalised: an IPv4-mapped IPv6 source is IPv4 here. */
export interface KnockSource {
  /** Canonical IPv4 dotted quad or IPv6 text, without a zone. */
  readonly address: string;
  readonly family: 4 | 6;
  readonly port: number;
}

export interface Reject {
  readonly ok: false;
  readonly code: RejectCode;
  /** What exactly was wrong, for the log (never secret: no key material, no plaintext). */
  readonly detail: string;
}

/**
 * The one shape of every pipeline step (check-*.ts): what the step found out (`undefined`
 * when a pass finds nothing) or the `Reject` that ends the knock there. A reject is a plain
 * value: no `Error` is built for a refused datagram.
 */
export type StepResult<T = undefined> = T | Reject;

export interface Accept {
  readonly ok: true;
  /** What the firewall was asked to open. */
  readonly grant: Grant;
  /** Subject of the client certificate (RFC 4514 text as the trust store gives it). */
  readonly subject: string;
  /** Serial number of the client certificate, lower-case hex. */
  readonly serial: string;
  /** When the grant runs out (ms since epoch), counted from `nowMs`. */
  readonly expiresAt: number;
  /** Server clock minus the knock's timestamp, in seconds (positive: the knock is older). */
  readonly skewSeconds: number;
}

export type KnockResult = Accept | Reject;

/** The part of `TrustStore` the pipeline uses; its answer is the trust store's own `TrustResult` (src/trust/types.ts). */
export interface CertificateVerifier {
  verify(certificateDer: Uint8Array, nowMs: number): TrustResult;
}

/** A certificate the trust store accepted. */
export type TrustedCertificate = Extract<TrustResult, { ok: true }>;

/** Whose a grant is: the certificate that asked for it, and what a new CRL is checked against. */
export interface GrantMeta {
  readonly subject: string;
  readonly serial: string;
  /** Subject of the issuing CA, one line. */
  readonly issuer: string;
  /** SHA-256 of the certificate, base64. */
  readonly certificateId: string;
  /** Issuer and serial of every link a CRL can revoke (certificate first, then intermediates). */
  readonly chain: readonly CertificateRef[];
}

/** Step 9's side effect: hands a grant to whatever writes the firewall (daemon/grant-keeper.ts). */
export interface GrantOpener {
  /**
   * Asks for `grant` to be opened for `durationSeconds` (extending it when already open).
   * Returns false, without queueing, when too many grants are already waiting.
   */
  request(grant: Grant, durationSeconds: number, meta: GrantMeta): boolean;
}

/**
 * Step 3's public-key work: the AES key and IV for a datagram's ephemeral point (ECDH with the
 * server's key, then HKDF; `knockPacketKeys` of @sknock/protocol). Throws
 * `ERR_SKNOCK_DECRYPT_FAILED` for a point that is not on the curve.
 */
export type KeyAgreement = (ephemeralPublicKey: Uint8Array, privateKey: KeyObject) => KnockKeys;

/** Numbers from the config that the checks use (changed on reload). */
export interface PipelineSettings {
  /** KNOCKPACKET_MIN_LENGTH, counted on the whole Ethernet frame. */
  readonly knockPacketMinLength: number;
  /** RECV_BUFFER: the longest datagram considered. */
  readonly recvBuffer: number;
  readonly timestampThresholdSeconds: number;
  readonly portOpenDurationSeconds: number;
}

/** What the pipeline works over; everything with a side effect is behind an interface. */
export interface PipelineDependencies {
  readonly settings: PipelineSettings;
  /** The server's P-256 private key (from its PKCS#12 file). */
  readonly privateKey: KeyObject;
  readonly trust: CertificateVerifier;
  readonly opener: GrantOpener;
}
