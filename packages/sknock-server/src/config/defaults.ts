import {
  DEFAULT_PORT_OPEN_DURATION_SECONDS,
  DEFAULT_TIMESTAMP_THRESHOLD_SECONDS,
  ORIGINAL_MIN_FRAME_LENGTH,
  SIGNATURE_SLOT_LENGTH,
} from '@sknock/protocol';
import type { PortSpec } from '../firewall/backend.js';

/**
 * Defaults and accepted ranges of every config key. The original sKnock's keys keep the
 * original's defaults (its `config.ini`); the ranges are this project's.
 */

/** KNOCKPACKET_MIN_LENGTH: the original's 800, counted on the Ethernet frame (PROTOCOL.md "One UDP datagram"). */
export const DEFAULT_KNOCKPACKET_MIN_LENGTH = ORIGINAL_MIN_FRAME_LENGTH;
/** PORT_OPEN_DURATION_IN_SECONDS (PROTOCOL.md "What the server checks", step 7). */
export const DEFAULT_PORT_OPEN_DURATION = DEFAULT_PORT_OPEN_DURATION_SECONDS;
/** TIMESTAMP_THRESHOLD_IN_SECONDS (PROTOCOL.md "What the server checks", step 4). */
export const DEFAULT_TIMESTAMP_THRESHOLD = DEFAULT_TIMESTAMP_THRESHOLD_SECONDS;
/** CRL_UPDATE_INTERVAL_IN_MINUTES: the original's 30. */
export const DEFAULT_CRL_UPDATE_INTERVAL_MINUTES = 30;
/** SIGNATURE_SIZE: the 72-byte signature slot of the wire format (PROTOCOL.md "Signed request"). */
export const REQUIRED_SIGNATURE_SIZE = SIGNATURE_SLOT_LENGTH;
/** RECV_BUFFER: the original's 1600. */
export const DEFAULT_RECV_BUFFER = 1600;
/** knockPort: the UDP port the daemon binds (fwknop's 62201, free in IANA's dynamic range). */
export const DEFAULT_KNOCK_PORT = 62201;
/** listenAddress: dual-stack any-address. */
export const DEFAULT_LISTEN_ADDRESS = '::';
/** firewallCheckIntervalSeconds: how soon a flushed ruleset is noticed and repaired. */
export const DEFAULT_FIREWALL_CHECK_INTERVAL_SECONDS = 5;
/** controlSocket: in the service's RuntimeDirectory (systemd makes /run/sknock for it). */
export const DEFAULT_CONTROL_SOCKET = '/run/sknock/control.sock';
/** The longest path a Unix socket can have on Linux (sun_path is 108 bytes with its NUL). */
export const MAX_UNIX_SOCKET_PATH = 107;
/** emergencyAccessPorts: SSH stays reachable whatever the policy. */
export const DEFAULT_EMERGENCY_ACCESS_PORTS: readonly PortSpec[] = Object.freeze([{ protocol: 'tcp', port: 22 }]);

/** Ranges: [min, max] inclusive. */
export const RANGE_KNOCKPACKET_MIN_LENGTH = [0, 65_535 + 62] as const;
/** One day: a grant is meant to be short. */
export const RANGE_PORT_OPEN_DURATION = [1, 86_400] as const;
/** One hour at most; 0 demands equal clocks. */
export const RANGE_TIMESTAMP_THRESHOLD = [0, 3_600] as const;
/** Three seconds to one week; fractions allowed (0.5 is 30 s), for fleets that want revocations fast. */
export const RANGE_CRL_UPDATE_INTERVAL = [0.05, 10_080] as const;
/** Largest UDP payload (RFC 768 length field minus the 8-byte header). */
export const RANGE_RECV_BUFFER = [1, 65_527] as const;
export const RANGE_PORT = [1, 65_535] as const;
/** One second to one hour. */
export const RANGE_FIREWALL_CHECK_INTERVAL = [1, 3_600] as const;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const FIREWALL_POLICIES = ['none', 'reject', 'drop'] as const;
export const FIREWALL_BACKENDS = ['nftables', 'iptables', 'exec', 'memory'] as const;
/** execCommandTimeoutSeconds: as long as the other back ends give one firewall command. */
export const DEFAULT_EXEC_COMMAND_TIMEOUT_SECONDS = 10;
export const RANGE_EXEC_COMMAND_TIMEOUT = [1, 300] as const;
