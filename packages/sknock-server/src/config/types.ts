import type { Credentials } from '@sknock/protocol';
import type { FirewallPolicy, PortSpec } from '../firewall/backend.js';

/**
 * The daemon's resolved configuration: what `config.ini` (original sKnock keys plus this
 * project's) becomes after parsing and validation. Paths are absolute.
 */
export interface ServerConfig {
  /** KNOCKPACKET_MIN_LENGTH (800): shortest knock, counted on the whole Ethernet frame. */
  readonly knockPacketMinLength: number;
  /** PORT_OPEN_DURATION_IN_SECONDS (15). */
  readonly portOpenDurationSeconds: number;
  /** TIMESTAMP_THRESHOLD_IN_SECONDS (7). */
  readonly timestampThresholdSeconds: number;
  /** CRL_UPDATE_INTERVAL_IN_MINUTES (30). */
  readonly crlUpdateIntervalMinutes: number;
  /** SIGNATURE_SIZE (72, the only value accepted). */
  readonly signatureSize: number;
  /** RECV_BUFFER (1600): longest datagram considered. */
  readonly recvBuffer: number;
  /**
   * crlFile: local CRL files (absolute; each may hold one CRL per CA), or undefined. CRLs
   * fetched from crlUrl are saved to the first.
   */
  readonly crlFile?: readonly string[];
  /** crlUrl: http(s) URLs CRLs are fetched from, or undefined. */
  readonly crlUrl?: readonly string[];
  /** requireCrl (false): refuse a knock unless each CA of its chain has a fresh verified CRL. */
  readonly requireCrl: boolean;
  /**
   * serverPFXFile (absolute). Set whenever `credentials` is not: a config file always has it;
   * a library caller may give in-memory `credentials` instead.
   */
  readonly serverPfxFile?: string;
  /** PFXPasswd or the contents of PFXPasswdFile (never logged). Set whenever `serverPfxFile` is. */
  readonly pfxPassword?: string;
  /** PFXPasswdFile (absolute), when the password came from one: its mode is checked at start. */
  readonly pfxPasswordFile?: string;
  /** In-memory server credentials (library only), instead of serverPfxFile + pfxPassword. */
  readonly credentials?: Credentials;
  /** caFile: further trusted CA or intermediate certificates, or undefined. */
  readonly caFile?: string;
  /** firewallPolicy (none). */
  readonly firewallPolicy: FirewallPolicy;
  /** firewallBackend (nftables). */
  readonly firewallBackend: 'nftables' | 'iptables' | 'exec' | 'memory';
  /** execOpenCommand: the exec back end's command that opens a grant (words, placeholders in them). */
  readonly execOpenCommand?: readonly string[];
  /** execCloseCommand: … that closes one. */
  readonly execCloseCommand?: readonly string[];
  /** execSetupCommand: run at start, before any grant. */
  readonly execSetupCommand?: readonly string[];
  /** execTeardownCommand: run at stop, after every grant was closed. */
  readonly execTeardownCommand?: readonly string[];
  /** execCommandTimeoutSeconds (10). */
  readonly execCommandTimeoutSeconds: number;
  /** knockPort (62201): the UDP port the daemon binds. */
  readonly knockPort: number;
  /** listenAddress (`::`, dual-stack). */
  readonly listenAddress: string;
  /** anyPortKnocks (true). */
  readonly anyPortKnocks: boolean;
  /** firewallCheckIntervalSeconds (5): how often the firewall rules are checked and repaired. */
  readonly firewallCheckIntervalSeconds: number;
  /** emergencyAccessPorts (tcp/22). */
  readonly emergencyAccessPorts: readonly PortSpec[];
  /** controlSocket (/run/sknock/control.sock, absolute): the admin commands' Unix socket; undefined: off. */
  readonly controlSocket?: string;
  /** metricsAddress: where /metrics and /healthz listen; undefined (the default): off. */
  readonly metricsAddress?: { readonly host: string; readonly port: number };
  /** logLevel (info). */
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** The config file this came from, if any. */
  readonly configFile?: string;
}
