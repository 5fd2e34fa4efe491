/**
 * The daemon's firewall back ends: nftables (default), iptables/ip6tables, and an in-memory
 * one for tests and embedding, behind one interface (`FirewallBackend`, backend.ts).
 */
import type { FirewallBackend } from './backend.js';
import { SknockFirewallError } from './errors.js';
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
export type { MemoryBackendOptions, MemoryFirewallEvent } from './memory.js';

export type FirewallBackendName = 'nftables' | 'iptables' | 'memory';

/** Options of each built-in back end, by name. */
export interface FirewallBackendOptionsByName {
  readonly nftables: NftablesBackendOptions;
  readonly iptables: IptablesBackendOptions;
  readonly memory: MemoryBackendOptions;
}

/**
 * Makes a built-in back end by its config name (`firewallBackend`). Nothing runs until
 * `setup()`; option errors throw here (ERR_SKNOCK_FIREWALL_INVALID_ARGUMENT).
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
    default:
      throw new SknockFirewallError(
        'ERR_SKNOCK_FIREWALL_INVALID_ARGUMENT',
        `firewallBackend must be nftables, iptables or memory, got ${JSON.stringify(name)}`,
      );
  }
}
