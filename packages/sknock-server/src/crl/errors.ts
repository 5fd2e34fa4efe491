/**
 * Why a CRL was not taken: `SknockCrlError` lives in the protocol layer
 * (`@sknock/protocol/crl`), which decodes and verifies CRLs; the daemon adds the fetch and
 * "older than the one held" codes. Re-exported here for the daemon's modules and API.
 */
export { SknockCrlError, isSknockCrlError } from '@sknock/protocol/crl';
export type { SknockCrlErrorCode } from '@sknock/protocol/crl';
