/**
 * The one interface every firewall back end implements (nftables, iptables, memory, or one
 * an embedding application plugs in). The daemon's only way to touch a firewall.
 */

export type FirewallProtocol = 'tcp' | 'udp';

/** What inbound traffic that nothing allowed meets (config key `firewallPolicy`). */
export type FirewallPolicy = 'none' | 'reject' | 'drop';

export interface PortSpec {
  readonly protocol: FirewallProtocol;
  readonly port: number;
}

/** One opened port for one source address. */
export interface Grant {
  /** Canonical IPv4 dotted quad or IPv6 text (never IPv4-mapped IPv6). */
  readonly address: string;
  readonly family: 4 | 6;
  readonly protocol: FirewallProtocol;
  readonly port: number;
}

export interface FirewallSetup {
  readonly policy: FirewallPolicy;
  /** Always reachable whatever the policy (config `emergencyAccessPorts`, default tcp/22). */
  readonly emergencyAccessPorts: readonly PortSpec[];
  /** The UDP port the daemon's socket is bound to (knock datagrams must reach it). */
  readonly knockPort: number;
  /**
   * When true, knock-shaped UDP datagrams sent to any port are redirected to `knockPort`
   * (config `anyPortKnocks`): `udp length >= N @th,64,32 0x61010000 redirect to :knockPort`.
   */
  readonly anyPortKnocks: boolean;
  /**
   * Smallest UDP payload (bytes, without the 8-byte UDP header) treated as knock-shaped: by the
   * anyPortKnocks redirect, and under policy reject/drop by the rule that lets datagrams reach
   * `knockPort` (shorter ones, or ones not starting `a` 1 0 0, get the closed-port answer).
   */
  readonly minKnockDatagramLength: number;
}

export interface FirewallBackend {
  /** `nftables`, `iptables`, `memory`, or the plug-in's own name. */
  readonly name: string;
  /** Installs the back end's own table/chains and the policy. Idempotent; removes stale state of an earlier run first. */
  setup(setup: FirewallSetup): Promise<void>;
  /**
   * Allows `grant.address` to reach `grant.protocol`/`grant.port` for `durationSeconds`.
   * A grant that is already open is extended to max(current expiry, now + duration), never
   * added twice. Resolves once the rule is in force in the kernel. Implementations batch
   * concurrent calls. Rejects with `SknockFirewallError` (errors.ts): INVALID_ARGUMENT for a
   * malformed grant or duration, STATE before `setup`, COMMAND/TIMEOUT/UNAVAILABLE when the
   * firewall refused.
   */
  open(grant: Grant, durationSeconds: number): Promise<void>;
  /** Closes a grant early (not needed for expiry: the back end closes grants itself). No error if it is not open. */
  close(grant: Grant): Promise<void>;
  /** Grants in force now, with their expiry (ms since epoch). */
  list(): Promise<ReadonlyArray<Grant & { readonly expiresAt: number }>>;
  /** Removes exactly what `setup` and `open` added, nothing else. */
  teardown(): Promise<void>;
}
