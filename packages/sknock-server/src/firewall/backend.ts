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
   * The address the daemon's socket is bound to (default `::`: every address, IPv4 and IPv6;
   * `0.0.0.0`: every IPv4 address). Back ends that hand the daemon copies of knock-shaped
   * datagrams (nftables) copy only those the socket can receive.
   */
  readonly listenAddress?: string;
  /**
   * When true, knock-shaped UDP datagrams addressed to this host on any UDP port reach the
   * daemon's socket (config `anyPortKnocks`): nftables hands it a copy, iptables redirects them.
   * Datagrams the host forwards are never touched.
   */
  readonly anyPortKnocks: boolean;
  /**
   * Smallest UDP payload (bytes, without the 8-byte UDP header) treated as knock-shaped: by the
   * anyPortKnocks redirect, and under policy reject/drop by the rule that lets datagrams reach
   * `knockPort` (shorter ones, or ones not starting `a` 1 0 0, get the closed-port answer).
   */
  readonly minKnockDatagramLength: number;
}

/** What `FirewallBackend.check()` found. */
export interface FirewallCheckResult {
  /** True when the rules were in force as set up; false when they were missing or changed and have been rebuilt. */
  readonly intact: boolean;
  /** What was wrong, for the log (when not intact). */
  readonly problem?: string;
  /** How many grants the rebuild wrote back (when not intact). */
  readonly grants?: number;
}

export interface FirewallBackend {
  /** `nftables`, `iptables`, `memory`, or the plug-in's own name. */
  readonly name: string;
  /**
   * Installs the back end's own table/chains and the policy. Idempotent; replaces what an
   * earlier instance left when that instance is gone (its process died), and rejects with
   * `ERR_SKNOCK_FIREWALL_IN_USE`, changing nothing, while another live instance owns them.
   */
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
  /**
   * Removes exactly what `setup` and `open` added, nothing else; leaves the firewall alone when
   * another instance owns the table or chains by now.
   */
  teardown(): Promise<void>;
  /**
   * Optional: verifies that the rules are in force as set up and, when they are missing or
   * changed (someone ran `nft flush ruleset`, `iptables -F`), rebuilds them with every live
   * grant. Cheap enough to call every few seconds (the daemon's watchdog does). Rejects with
   * STATE before `setup`, IN_USE when another live instance owns the table by now (nothing is
   * touched), or the error of a rebuild that failed.
   */
  check?(): Promise<FirewallCheckResult>;
}
