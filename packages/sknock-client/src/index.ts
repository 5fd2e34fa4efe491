/**
 * @sknock/client — `await knock({ host, port, pfx, passphrase, serverCertificate })` opens a
 * port behind an sKnock server; `await connect(...)` hands over a connection to it, knocking
 * only when needed; `createKnocker()` keeps loaded credentials (and its grants) for apps that
 * connect often, with agents and hooks for node:http, undici and stream-factory libraries.
 * With `profile: true` or `profile: 'name'` the settings come from the profile file, read
 * only then. The SDK never logs: it publishes `node:diagnostics_channel` messages.
 */
export { knock } from './knock.js';
export { connect, tlsConnect } from './connect.js';
export { createKnocker } from './create-knocker.js';
export type { Knocker, KnockerCallProfile, KnockResult } from './knocker.js';
export type { ClientCredentials, KnockOptions, KnockTargetOptions, KnockerOptions } from './options.js';
export type { ProfileKnockOptions, ProfileKnockerOptions, ProfileOptions } from './profile/apply-profile.js';
export type { ConnectOptions, ProfileConnectOptions, ProfileTlsConnectOptions, SocketDefaults, TlsConnectOptions, TlsOptions } from './connect-options.js';
export { KnockingSocket } from './knocking-socket.js';
export { createHttpAgent, createHttpsAgent } from './http-agent.js';
export type { KnockingHttpAgentOptions, KnockingHttpsAgentOptions } from './http-agent.js';
export { createUndiciConnect } from './undici-connect.js';
export type { UndiciConnect, UndiciConnectCallback, UndiciConnectOptions, UndiciConnectRequest } from './undici-connect.js';
export { SknockClientError, isSknockClientError } from './errors.js';
export type { SknockClientErrorCode } from './errors.js';
export {
  CHANNEL_KNOCK_SENT,
  CHANNEL_PORT_OPEN,
  CHANNEL_RETRY,
  CHANNEL_FAILURE,
  CHANNEL_CONNECTED,
  CHANNEL_WARNING,
  CHANNEL_PUBLIC_ADDRESS,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_RETRIES,
  DEFAULT_KNOCK_AFTER_MS,
} from './constants.js';
export type { KnockSentMessage, PortOpenMessage, RetryMessage, FailureMessage, ConnectedMessage, WarningMessage, PublicAddressMessage } from './diagnostics.js';
