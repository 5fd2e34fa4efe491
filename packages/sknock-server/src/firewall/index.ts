/**
 * The daemon's firewall back ends: nftables (default), iptables/ip6tables, exec (the
 * operator's own commands), and an in-memory one for tests and embedding, behind one interface (`FirewallBackend`, backend.ts).
 */
import type { FirewallBackend } from './backend.js';
import { SknockFirewallError } from './errors.js';
import { ExecFirewallBackend, type ExecBackendOptions } from './exec.js';
import { IptablesBackend, type IptablesBackendOptions } from './iptables.js';
import { MemoryFirewallBackend, type MemoryBackendOptions } from './memory.js';
import { NftablesBackend, type NftablesBackendOptions } from './nftables.js';

export type { FirewallBackend, FirewallPolicy, FirewallProtocol, FirewallSetup, Grant, PortSpec } from './backend.js';
export { SknockFirewallError, isSknockFirewallError } from './errors.js';
export type { SknockFirewallErrorCode, SknockFirewallErrorDetails } from './errors.js';
export type { ListedGrant } from './grant-table.js';
export { NftablesBackend } from './nftables.js';
export type { NftablesBackendOptions } from './nftables.js';
export { IptablesBackend } from './iptables.js';
export type { IptablesBackendOptions } from './iptables.js';
export { MemoryFirewallBackend } from './memory.js';
export { ExecFirewallBackend } from './exec.js';
export type { ExecBackendOptions } from './exec.js';
export type { MemoryBackendOptions, MemoryFirewallEvent } from './memory.js';

export type FirewallBackendName = 'nftables' | 'iptables' | 'memory' | 'exec';

/** Options of each built-in back end, by name. */
export interface FirewallBackendOptionsByName {
  readonly nftables: NftablesBackendOptions;
  readonly iptables: IptablesBackendOptions;
  readonly memory: MemoryBackendOptions;
  readonly exec: ExecBackendOptions;
}

/**
 * Makes a built-in back end by its config name (`firewallBackend`). Nothing runs until
 * `setup()`; option errors throw here (ERR_SKNOCK_INVALID_ARGUMENT).
 */
export function createFirewallBackend<N extends FirewallBackendName>(
  name: N,
  options?: FirewallBackendOptionsByName[N],
): FirewallBackend {
  switch (name) {
    case 'nftables':
      return new NftablesBackend(options as NftablesBackendOptions | undefined);
    case 'iptables':
      return new IptablesBackend(options as IptablesBackendOptions | undefined);
    case 'memory':
      return new MemoryFirewallBackend(options as MemoryBackendOptions | undefined);
    case 'exec':
      return new ExecFirewallBackend(options as ExecBackendOptions);
    default:
      throw new SknockFirewallError(
        'ERR_SKNOCK_INVALID_ARGUMENT',
        `firewallBackend must be nftables, iptables, exec or memory, got ${JSON.stringify(name)}`,
      );
  }
}
