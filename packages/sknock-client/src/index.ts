/**
 * @sknock/client — `await knock({ host, port, pfx, passphrase, serverCertificate })` opens a
 * port behind an sKnock server; `await connect(...)` hands over a connection to it, knocking
 * only when needed; `createKnocker()` keeps loaded credentials (and its grants) for apps that
 * connect often, with agents and hooks for node:http, undici and stream-factory libraries.
 * The SDK never logs: it publishes `node:diagnostics_channel` messages.
 */
export { knock } from './knock.js';
export { connect, tlsConnect } from './connect.js';
export { createKnocker } from './create-knocker.js';
export type { Knocker, KnockResult } from './knocker.js';
export type { ClientCredentials, KnockOptions, KnockTargetOptions, KnockerOptions } from './options.js';
export type { ConnectOptions, SocketDefaults, TlsConnectOptions, TlsOptions } from './connect-options.js';
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
  DEFAULT_TIMEOUT_MS,
  DEFAULT_RETRIES,
  DEFAULT_KNOCK_AFTER_MS,
} from './constants.js';
export type { KnockSentMessage, PortOpenMessage, RetryMessage, FailureMessage, ConnectedMessage } from './diagnostics.js';
