/**
 * The firewall back ends' one error class and the union of its codes. Callers
 * `switch (err.code)`; messages are for people and may change, codes never do.
 *
 * | code | when |
 * | --- | --- |
 * | `ERR_SKNOCK_FIREWALL_UNAVAILABLE` | the tool (`nft`, `iptables-restore`, `ip`) is missing, or we may not change the firewall (not root / no CAP_NET_ADMIN), or the named network namespace does not exist |
 * | `ERR_SKNOCK_FIREWALL_COMMAND` | a firewall command ran and failed; `stderr` and `exitCode` say how |
 * | `ERR_SKNOCK_FIREWALL_TIMEOUT` | a firewall command did not finish in time and was killed |
 * | `ERR_SKNOCK_INVALID_ARGUMENT` | a grant, duration, setup or option is malformed; the message names it |
 * | `ERR_SKNOCK_FIREWALL_STATE` | `open`/`close` before `setup` or after `teardown` |
 * | `ERR_SKNOCK_FIREWALL_IN_USE` | another live instance (another daemon, or another back end of this process) owns the table or chains in this network namespace; nothing was changed |
 */

import { SknockError } from '@sknock/protocol/errors';

export type SknockFirewallErrorCode =
  | 'ERR_SKNOCK_FIREWALL_UNAVAILABLE'
  | 'ERR_SKNOCK_FIREWALL_COMMAND'
  | 'ERR_SKNOCK_FIREWALL_TIMEOUT'
  | 'ERR_SKNOCK_INVALID_ARGUMENT'
  | 'ERR_SKNOCK_FIREWALL_STATE'
  | 'ERR_SKNOCK_FIREWALL_IN_USE';

export interface SknockFirewallErrorDetails {
  /** The command line that failed, for logs (arguments joined by spaces). */
  readonly command?: string;
  /** What the command wrote on its standard error (trimmed, at most 4 KiB). */
  readonly stderr?: string;
  /** The command's exit status, or null when a signal ended it. */
  readonly exitCode?: number | null;
  readonly cause?: unknown;
}

export class SknockFirewallError extends SknockError {
  declare readonly code: SknockFirewallErrorCode;
  readonly command: string | undefined;
  readonly stderr: string | undefined;
  readonly exitCode: number | null | undefined;

  constructor(code: SknockFirewallErrorCode, message: string, details: SknockFirewallErrorDetails = {}) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'SknockFirewallError';
    this.command = details.command;
    this.stderr = details.stderr;
    this.exitCode = details.exitCode;
  }
}

/** True when `err` is a firewall error, optionally with one given code. */
export function isSknockFirewallError(
  err: unknown,
  code?: SknockFirewallErrorCode,
): err is SknockFirewallError {
  return err instanceof SknockFirewallError && (code === undefined || err.code === code);
}
