/** Client certificate verification against the CA, caFile's intermediates and the CRL. */
export { TrustStore, DEFAULT_TRUST_CACHE_SIZE, MAX_CHAIN_LENGTH } from './trust-store.js';
export type { TrustStoreOptions } from './trust-store.js';
export type { TrustRejectReason, TrustResult } from './types.js';
