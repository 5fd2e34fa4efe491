/**
 * @sknock/server — the sKnock reference daemon as a library: `createServer(options)` checks
 * knocks (CA chain, CRL, signature, timestamp window, replay, grants, source address) and
 * drives the firewall (nftables, iptables/ip6tables, your commands (exec), in-memory, or your own back end).
 * The `sknock-server` command runs it in the foreground; the CA is the package `@sknock/ca`.
 */

// The server
export { createServer, SknockServer } from './daemon/server.js';
export type {
  AcceptEvent,
  CloseEvent,
  CrlIssuerSummary,
  CrlSummary,
  KnockEvent,
  OpenEvent,
  RejectEvent,
  ServerAddress,
  ServerEvents,
  ServerState,
  ServerStats,
} from './daemon/server.js';
export type { CreateServerOptions, ServerLimits } from './daemon/server-options.js';
export type { GrantCloseEvent, GrantEvent } from './daemon/grant-keeper.js';
export { REJECT_CODES } from './pipeline/reject-codes.js';
export type { RejectCode } from './pipeline/reject-codes.js';
export type { KnockSource } from './pipeline/types.js';

// Errors (each with a stable `code`)
export { SknockServerError, isSknockServerError } from './errors.js';
export type { SknockServerErrorCode } from './errors.js';
export { SknockConfigError, isSknockConfigError } from './config/index.js';
export type { ConfigProblem, SknockConfigErrorCode } from './config/index.js';
export { SknockFirewallError, isSknockFirewallError } from './firewall/index.js';
export type { SknockFirewallErrorCode, SknockFirewallErrorDetails } from './firewall/index.js';
export { SknockCrlError } from './crl/index.js';
export type { SknockCrlErrorCode } from './crl/index.js';

// Configuration
export { loadConfigFile, resolveServerConfig, checkConfig, CONFIG_KEYS } from './config/index.js';
export type { ServerConfig, ServerConfigInput, ConfigCheckResult, ConfigKeyInfo } from './config/index.js';

// Firewall back ends
export { createFirewallBackend, NftablesBackend, IptablesBackend, MemoryFirewallBackend, ExecFirewallBackend } from './firewall/index.js';
export type {
  FirewallBackend,
  FirewallBackendName,
  FirewallBackendOptionsByName,
  FirewallPolicy,
  FirewallProtocol,
  FirewallSetup,
  Grant,
  ListedGrant,
  PortSpec,
  NftablesBackendOptions,
  IptablesBackendOptions,
  MemoryBackendOptions,
  MemoryFirewallEvent,
  ExecBackendOptions,
} from './firewall/index.js';

// Logging
export { createLogger } from './logging/create-logger.js';
export type { CreateLoggerOptions } from './logging/create-logger.js';
export type { Logger, LogFn, LogLevel } from './logging/logger-type.js';
