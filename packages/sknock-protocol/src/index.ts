/**
 * @sknock/protocol — the sKnock 1.0.0 wire format. Pure functions over bytes and keys;
 * no file or network I/O.
 */
export {
  KNOCK_MAGIC,
  KNOCK_VERSION,
  KNOCK_MIN_DATAGRAM_LENGTH,
  KNOCK_MAX_DATAGRAM_LENGTH,
  SIGNATURE_SLOT_LENGTH,
  GRANTS_OTHERNAME_OID,
  RANDOM_KNOCK_PORT_MIN,
  RANDOM_KNOCK_PORT_MAX,
  DEFAULT_TIMESTAMP_THRESHOLD_SECONDS,
  DEFAULT_PORT_OPEN_DURATION_SECONDS,
  ORIGINAL_MIN_FRAME_LENGTH,
  FRAME_OVERHEAD_IPV4,
  FRAME_OVERHEAD_IPV6,
} from './constants.js';
export { SknockProtocolError, isSknockProtocolError } from './errors/protocol-error.js';
export type { SknockProtocolErrorCode } from './errors/protocol-error.js';
export type { Credentials, IpFamily, KnockProtocol, KnockVersion, OpenedKnock, PortGrant, SignedRequest } from './types.js';
export { createKnockPacket, openKnockPacket, openKnockDatagram, knockPacketKeys, verifyKnockSignature, knockCertificateKey } from './knock.js';
export type { CreateKnockPacketOptions, OpenKnockPacketOptions } from './knock.js';
export { parseKnockDatagram, inspectKnockDatagram, encodeKnockDatagram, knockDatagramLength } from './datagram.js';
export type { KnockDatagram, KnockDatagramFault } from './datagram.js';
export { decodeSignedRequest, encodeSignedPart, encodeSignedRequest, signedRequestLength } from './signed-request.js';
export type { DecodedSignedRequest, SignedRequestFields } from './signed-request.js';
export { deriveKnockKeys } from './hkdf.js';
export type { KnockKeys } from './hkdf.js';
export { parsePortGrants, formatPortGrants, parseGrantString, encodeGrantsSubjectAltName, grantsAllow } from './grants.js';
export { parseIpAddress, canonicalIpAddress, encodeAddressField, decodeAddressField } from './address.js';
export type { ParsedAddress } from './address.js';
export { readCertificate, readCertificates } from './x509/read-certificates.js';
export { decodePem, encodePem } from './pem.js';
export type { PemBlock } from './pem.js';
export { loadCredentials } from './credentials/load-credentials.js';
export type { LoadCredentialsOptions, Pkcs12CredentialOptions, PemCredentialOptions } from './credentials/load-credentials.js';
export { encodePkcs12 } from './credentials/encode-pkcs12.js';
export type { EncodePkcs12Options } from './credentials/encode-pkcs12.js';
// The building blocks (DER, OIDs, PEM, P-256, X.509, CRLs, credentials, errors) are the
// subpath exports `@sknock/protocol/der`, `/oids`, `/pem`, `/p256`, `/x509`, `/crl`,
// `/credentials` and `/errors`; the root stays the wire format.
