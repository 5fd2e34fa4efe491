/**
 * @sknock/client — `await knock({ host, port, pfx, passphrase, serverCertificate })` opens a
 * port behind an sKnock server, and `createKnocker()` keeps loaded credentials for apps that
 * knock often. With `profile: true` or `profile: 'name'` the settings come from the profile
 * file, read only then. The SDK never logs: it publishes `node:diagnostics_channel` messages.
 */
export { knock } from './knock.js';
export { createKnocker } from './knocker.js';
export type { Knocker, KnockResult } from './knocker.js';
export type { ClientCredentials, KnockOptions, KnockTargetOptions, KnockerOptions } from './options.js';
export type { ProfileKnockOptions, ProfileKnockerOptions, ProfileOptions } from './profile/apply-profile.js';
export { SknockClientError, isSknockClientError } from './errors.js';
export type { SknockClientErrorCode } from './errors.js';
export {
  CHANNEL_KNOCK_SENT,
  CHANNEL_PORT_OPEN,
  CHANNEL_RETRY,
  CHANNEL_FAILURE,
  CHANNEL_WARNING,
  CHANNEL_PUBLIC_ADDRESS,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_RETRIES,
} from './constants.js';
export type { KnockSentMessage, PortOpenMessage, RetryMessage, FailureMessage, WarningMessage, PublicAddressMessage } from './diagnostics.js';
