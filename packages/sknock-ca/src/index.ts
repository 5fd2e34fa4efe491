/**
 * @sknock/ca — a certificate authority for sKnock: CA, server and client
 * certificates (port grants inside), CSR signing, CRLs. P-256 throughout.
 */
export { createCa, loadCa } from './authority.js';
export type { CertificateAuthority, CreateCaOptions, LoadCaOptions } from './authority.js';
export { issueServerCertificate, issueClientCertificate } from './issue.js';
export type {
  IssueServerOptions,
  IssueClientOptions,
  IssuedCertificate,
  IssuedClientCertificate,
  Pkcs12Request,
} from './issue.js';
export { signCsr } from './csr.js';
export type { SignCsrOptions, SignedCsrCertificate } from './csr.js';
export { createCrl, encodeCrlPem } from './crl.js';
export type { CreateCrlOptions, RevokedEntry } from './crl.js';
export { parseRevocationReason, REVOCATION_REASONS } from './revocation-reason.js';
export type { RevocationReason } from './revocation-reason.js';
export { parseGrantSpec, formatGrantSpec } from './grant-spec.js';
export { normalizeSerial } from './serial.js';
export type { ValidityOptions } from './validity.js';
export { ORIGINAL_SERVER_MIN_DATAGRAM_LENGTH } from './constants.js';
export { SknockCaError, isSknockCaError } from './errors.js';
export type { SknockCaErrorCode, SknockCaWarning, SknockCaWarningCode } from './errors.js';
