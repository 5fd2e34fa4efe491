import * as d from './defaults.js';
import * as v from './values.js';
import type { ValueReader } from './values.js';

/**
 * Every config key: its `config.ini` spelling, its library option name, its default, what it
 * means, and how its value is read. The README table and `check-config --keys` come from here.
 */

export interface ConfigKeyInfo {
  /** Spelling in `config.ini` (matched case-insensitively). */
  readonly key: string;
  /** Option name for `resolveServerConfig` (the `ServerConfig` field). */
  readonly option: string;
  /** The default, as documented ("—" when there is none). */
  readonly default: string;
  /** One sentence. */
  readonly description: string;
  /** True for keys the original sKnock had. */
  readonly original: boolean;
}

export interface ConfigKeySpec extends ConfigKeyInfo {
  readonly read: ValueReader<unknown>;
  /** Value used when the key is absent (undefined: none). */
  readonly defaultValue?: unknown;
  /** Never echo the value in messages. */
  readonly secret?: boolean;
  /** The value is a file path, made absolute against the config file's folder. */
  readonly isPath?: boolean;
}

const [minLenLo, minLenHi] = d.RANGE_KNOCKPACKET_MIN_LENGTH;
const [durLo, durHi] = d.RANGE_PORT_OPEN_DURATION;
const [tsLo, tsHi] = d.RANGE_TIMESTAMP_THRESHOLD;
const [crlLo, crlHi] = d.RANGE_CRL_UPDATE_INTERVAL;
const [bufLo, bufHi] = d.RANGE_RECV_BUFFER;
const [portLo, portHi] = d.RANGE_PORT;
const [execLo, execHi] = d.RANGE_EXEC_COMMAND_TIMEOUT;
const PLACEHOLDERS = '{address} {family} {ipfamily} {cidr} {protocol} {port} {seconds} {expires}';
const [checkLo, checkHi] = d.RANGE_FIREWALL_CHECK_INTERVAL;

export const CONFIG_KEY_SPECS: readonly ConfigKeySpec[] = Object.freeze([
  {
    key: 'KNOCKPACKET_MIN_LENGTH', option: 'knockPacketMinLength', original: true,
    default: String(d.DEFAULT_KNOCKPACKET_MIN_LENGTH), defaultValue: d.DEFAULT_KNOCKPACKET_MIN_LENGTH,
    description: 'Shortest knock accepted, in bytes of the whole Ethernet frame as the original measured it (the UDP datagram + 42 on IPv4, + 62 on IPv6).',
    read: v.integer(minLenLo, minLenHi),
  },
  {
    key: 'PORT_OPEN_DURATION_IN_SECONDS', option: 'portOpenDurationSeconds', original: true,
    default: String(d.DEFAULT_PORT_OPEN_DURATION), defaultValue: d.DEFAULT_PORT_OPEN_DURATION,
    description: `How long a grant stays open, in seconds (${durLo}–${durHi}); a new valid knock while it is open extends it.`,
    read: v.integer(durLo, durHi),
  },
  {
    key: 'TIMESTAMP_THRESHOLD_IN_SECONDS', option: 'timestampThresholdSeconds', original: true,
    default: String(d.DEFAULT_TIMESTAMP_THRESHOLD), defaultValue: d.DEFAULT_TIMESTAMP_THRESHOLD,
    description: `Largest accepted difference between the knock's timestamp and the server's clock, either way, in seconds (${tsLo}–${tsHi}).`,
    read: v.integer(tsLo, tsHi),
  },
  {
    key: 'CRL_UPDATE_INTERVAL_IN_MINUTES', option: 'crlUpdateIntervalMinutes', original: true,
    default: String(d.DEFAULT_CRL_UPDATE_INTERVAL_MINUTES), defaultValue: d.DEFAULT_CRL_UPDATE_INTERVAL_MINUTES,
    description: `How often crlUrl is fetched, in minutes (${crlLo}–${crlHi}; fractions such as 0.5 allowed).`,
    read: v.decimal(crlLo, crlHi),
  },
  {
    key: 'SIGNATURE_SIZE', option: 'signatureSize', original: true,
    default: String(d.REQUIRED_SIGNATURE_SIZE), defaultValue: d.REQUIRED_SIGNATURE_SIZE,
    description: `The signature slot of the wire format; only ${d.REQUIRED_SIGNATURE_SIZE} is accepted (any other value would not interoperate).`,
    read: (raw) => {
      const n = v.integer(0, 65_535)(raw);
      if (n !== d.REQUIRED_SIGNATURE_SIZE) {
        throw new v.ValueProblem(`must be ${d.REQUIRED_SIGNATURE_SIZE}: it is the signature slot of the sKnock 1.0 wire format, not a setting`);
      }
      return n;
    },
  },
  {
    key: 'RECV_BUFFER', option: 'recvBuffer', original: true,
    default: String(d.DEFAULT_RECV_BUFFER), defaultValue: d.DEFAULT_RECV_BUFFER,
    description: 'Longest UDP datagram considered, in bytes; longer ones are dropped unread.',
    read: v.integer(bufLo, bufHi),
  },
  {
    key: 'crlFile', option: 'crlFile', original: true, default: '—', isPath: true,
    description: 'Local CRL file (DER or PEM; a PEM bundle or concatenated DER may hold one CRL per CA), or several files separated by commas; read at start and on SIGHUP. CRLs fetched from crlUrl are saved atomically to the first, with the other CAs\' CRLs it held.',
    read: v.pathList,
  },
  {
    key: 'crlUrl', option: 'crlUrl', original: true, default: '—',
    description: 'Where the CA publishes its CRL (http or https), or several URLs (one per CA) separated by commas or spaces; fetched every CRL_UPDATE_INTERVAL_IN_MINUTES.',
    read: v.httpUrlList,
  },
  {
    key: 'serverPFXFile', option: 'serverPfxFile', original: true, default: '— (required)', isPath: true,
    description: "The server's PKCS#12 file: its private key, its certificate and the CA certificate that client certificates must chain to.",
    read: v.path,
  },
  {
    key: 'PFXPasswd', option: 'pfxPassword', original: true, default: '—', secret: true,
    description: 'Password of serverPFXFile (give it here or in PFXPasswdFile, not both; `PFXPasswd =` for none).',
    read: v.secretString,
  },
  {
    key: 'firewallPolicy', option: 'firewallPolicy', original: true, default: 'none', defaultValue: 'none',
    description: 'What inbound traffic that no grant allows meets: none (left to the rest of the firewall), reject or drop.',
    read: v.oneOf(d.FIREWALL_POLICIES),
  },
  {
    key: 'knockPort', option: 'knockPort', original: false,
    default: String(d.DEFAULT_KNOCK_PORT), defaultValue: d.DEFAULT_KNOCK_PORT,
    description: `UDP port the daemon binds (${portLo}–${portHi}).`,
    read: v.integer(portLo, portHi),
  },
  {
    key: 'listenAddress', option: 'listenAddress', original: false,
    default: d.DEFAULT_LISTEN_ADDRESS, defaultValue: d.DEFAULT_LISTEN_ADDRESS,
    description: 'Address the daemon binds; `::` is dual-stack (IPv4 and IPv6).',
    read: v.ipAddress,
  },
  {
    key: 'anyPortKnocks', option: 'anyPortKnocks', original: false, default: 'on', defaultValue: true,
    description: 'Knock-shaped UDP datagrams addressed to this host on any UDP port reach the daemon, as the original (which saw every frame) accepted them; forwarded traffic is never touched.',
    read: v.boolean,
  },
  {
    key: 'firewallBackend', option: 'firewallBackend', original: false, default: 'nftables', defaultValue: 'nftables',
    description: 'How grants reach the kernel: nftables, iptables (iptables + ip6tables), exec (the exec*Command keys) or memory (no firewall; tests).',
    read: v.oneOf(d.FIREWALL_BACKENDS),
  },
  {
    key: 'execOpenCommand', option: 'execOpenCommand', original: false, default: '—',
    description: `firewallBackend = exec: the command that opens a grant, run without a shell (words split at blanks, '…' and "…" group); placeholders ${PLACEHOLDERS} are replaced inside their word with checked values. Run again on a re-knock: make it idempotent.`,
    read: v.execCommand('open'),
  },
  {
    key: 'execCloseCommand', option: 'execCloseCommand', original: false, default: '—',
    description: 'firewallBackend = exec: the command that closes a grant, with the same placeholders; the daemon runs it when the grant expires, on stop, and retries it when it fails.',
    read: v.execCommand('close'),
  },
  {
    key: 'execSetupCommand', option: 'execSetupCommand', original: false, default: '—',
    description: 'firewallBackend = exec: run once at start before any grant (e.g. creating an ipset); no placeholders.',
    read: v.execCommand('setup'),
  },
  {
    key: 'execTeardownCommand', option: 'execTeardownCommand', original: false, default: '—',
    description: 'firewallBackend = exec: run once at stop after every open grant was closed; no placeholders.',
    read: v.execCommand('teardown'),
  },
  {
    key: 'execCommandTimeoutSeconds', option: 'execCommandTimeoutSeconds', original: false,
    default: String(d.DEFAULT_EXEC_COMMAND_TIMEOUT_SECONDS), defaultValue: d.DEFAULT_EXEC_COMMAND_TIMEOUT_SECONDS,
    description: `firewallBackend = exec: a command still running after this many seconds (${execLo}–${execHi}) is killed and counts as failed.`,
    read: v.integer(execLo, execHi),
  },
  {
    key: 'firewallCheckIntervalSeconds', option: 'firewallCheckIntervalSeconds', original: false,
    default: String(d.DEFAULT_FIREWALL_CHECK_INTERVAL_SECONDS), defaultValue: d.DEFAULT_FIREWALL_CHECK_INTERVAL_SECONDS,
    description: `How often the daemon checks that its firewall rules are in force, in seconds (${checkLo}–${checkHi}); missing or changed rules (nft flush ruleset, iptables -F) are rebuilt with every grant and logged at warn.`,
    read: v.integer(checkLo, checkHi),
  },
  {
    key: 'emergencyAccessPorts', option: 'emergencyAccessPorts', original: false, default: 'tcp/22',
    defaultValue: d.DEFAULT_EMERGENCY_ACCESS_PORTS,
    description: 'Ports always reachable whatever firewallPolicy says, as tcp/N or udp/N separated by commas or spaces; empty (or none) turns this off.',
    read: v.portList,
  },
  {
    key: 'caFile', option: 'caFile', original: false, default: '—', isPath: true,
    description: 'Further trusted certificates, PEM bundle or DER: a self-signed CA here is an extra trust anchor; an intermediate must chain to a trusted CA, and client certificates may chain through it.',
    read: v.path,
  },
  {
    key: 'PFXPasswdFile', option: 'pfxPasswordFile', original: false, default: '—', isPath: true,
    description: 'File holding the password of serverPFXFile (one trailing newline is stripped); instead of PFXPasswd.',
    read: v.path,
  },
  {
    key: 'requireCrl', option: 'requireCrl', original: false, default: 'off', defaultValue: false,
    description: 'Refuse a knock unless every CA of its certificate chain has a verified CRL that is not past its nextUpdate (the original accepted knocks without one); off logs loudly instead.',
    read: v.boolean,
  },
  {
    key: 'controlSocket', option: 'controlSocket', original: false, default: d.DEFAULT_CONTROL_SOCKET, defaultValue: d.DEFAULT_CONTROL_SOCKET, isPath: true,
    description: 'Unix socket of the admin commands (sknock-server status, grants), mode 0600, or 0660 with group sknock when that group exists; empty or none turns it off.',
    read: v.socketPath,
  },
  {
    key: 'metricsAddress', option: 'metricsAddress', original: false, default: '— (off)',
    description: 'ADDRESS:PORT of the OpenMetrics endpoint (/metrics, /healthz), such as 127.0.0.1:9464 or [::1]:9464; off unless set. Anyone who can reach it sees the counters: keep it on loopback or a management network.',
    read: v.listenHostPort,
  },
  {
    key: 'logLevel', option: 'logLevel', original: false, default: 'info', defaultValue: 'info',
    description: `Log level: ${d.LOG_LEVELS.join(', ')}.`,
    read: v.oneOf(d.LOG_LEVELS),
  },
] satisfies ConfigKeySpec[]);

/** The key table for docs and `check-config --keys`: key, option, default, description. */
export const CONFIG_KEYS: readonly ConfigKeyInfo[] = Object.freeze(
  CONFIG_KEY_SPECS.map(({ key, option, default: def, description, original }) => Object.freeze({ key, option, default: def, description, original })),
);

export const SPEC_BY_INI_KEY: ReadonlyMap<string, ConfigKeySpec> = new Map(CONFIG_KEY_SPECS.map((s) => [s.key.toLowerCase(), s]));
export const SPEC_BY_OPTION: ReadonlyMap<string, ConfigKeySpec> = new Map(CONFIG_KEY_SPECS.map((s) => [s.option, s]));
