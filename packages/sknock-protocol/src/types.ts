import type { KeyObject } from 'node:crypto';

/** Transport protocol of a grant or knock. */
export type KnockProtocol = 'tcp' | 'udp';

/** IP version of a datagram. */
export type IpFamily = 4 | 6;

/** `[major, minor, patch]`. */
export type KnockVersion = readonly [number, number, number];

/** A key and certificate chain, as loaded by `loadCredentials`. Certificates are DER. */
export interface Credentials {
  /** EC P-256 private key. */
  readonly privateKey: KeyObject;
  /** The end-entity certificate matching `privateKey`, DER. */
  readonly certificate: Uint8Array;
  /** The other certificates that came with it (CA, intermediates), DER. */
  readonly caCertificates: readonly Uint8Array[];
}

/** One `protocol.port` pair of the sKnock grant otherName. */
export interface PortGrant {
  readonly protocol: KnockProtocol;
  readonly port: number;
}

/** The fields of a signed request (PROTOCOL.md "Signed request"). */
export interface SignedRequest {
  readonly protocol: KnockProtocol;
  readonly port: number;
  /** IPv4 dotted quad or IPv6 text. */
  readonly address: string;
  /** Seconds since the Unix epoch. */
  readonly timestamp: number;
  /** Client certificate, DER. */
  readonly certificate: Uint8Array;
  /** DER ECDSA signature over `signedBytes`. */
  readonly signature: Uint8Array;
  /** Bytes `[0, 24 + c)` of the request: what the signature covers. */
  readonly signedBytes: Uint8Array;
}

/** What `openKnockPacket` returns: the decrypted, framed request, nothing checked by policy. */
export interface OpenedKnock extends SignedRequest {
  readonly version: KnockVersion;
  /** The raw protocol byte (any non-zero byte reads as TCP, as the original did). */
  readonly protocolByte: number;
  /** The 65-byte ephemeral public key of the datagram. */
  readonly ephemeralPublicKey: Uint8Array;
}
