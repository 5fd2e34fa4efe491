/**
 * The daemon's own limits and defaults (the wire format's live in @sknock/protocol's
 * constants). Each cites where it comes from: PROTOCOL.md (the project's docs/PROTOCOL.md,
 * matching sKnock 1.0.0), an RFC, or the measurement it rests on (docs/PROTOCOL-NOTES.md). Every
 * memory bound of the daemon is here, so "bounded memory everywhere" can be read off one file.
 */

/** The config file `sknock-server` reads when `--config` is not given. */
export const DEFAULT_CONFIG_PATH = '/etc/sknock/config.ini';

// Frame overheads for KNOCKPACKET_MIN_LENGTH (42 on IPv4, 62 on IPv6) come from
// @sknock/protocol (FRAME_OVERHEAD_IPV4 / FRAME_OVERHEAD_IPV6), which cites PROTOCOL.md.

/**
 * Kernel receive buffer asked for on the knock socket (SO_RCVBUF). Linux caps it at
 * `net.core.rmem_max` (often 208 KiB); the daemon logs what it got.
 */
export const SOCKET_RECV_BUFFER_BYTES = 4 * 1024 * 1024;

// ---- step 2: per-source rate limit (token bucket per address) --------------------------

/** Knocks a source may send at once (bucket size). Many clients can share one NAT address. */
export const RATE_LIMIT_BURST = 32;
/** Tokens a source gets back per second. */
export const RATE_LIMIT_PER_SECOND = 16;
/** Most sources tracked at once; the oldest entry is dropped beyond it (it only loses its limit). */
export const RATE_LIMIT_MAX_SOURCES = 65_536;

// ---- steps 2 and 9: ephemeral public keys (replay cache, src/pipeline/replay-cache.ts) --

/**
 * A key is remembered for 2 × the timestamp threshold + this margin: a knock accepted at
 * t0 has |t0 − ts| ≤ T, and stays acceptable until ts + T ≤ t0 + 2T
 * (PROTOCOL.md "What the server checks", step 4).
 */
export const REPLAY_MARGIN_SECONDS = 5;
/**
 * Keys that cost an ECDH and whose datagram was refused (the seen tier), each with its AES
 * key and IV and the verdicts of its last few ciphertexts. Anyone can fill it, at the rate
 * the daemon spends ECDHs (about 5,000/s on one core), so it never refuses a datagram that
 * could be accepted; when full, the key used longest ago is forgotten, which only costs its
 * next datagram an ECDH again. About 400 bytes an entry in V8 (X, Y, keys, one verdict):
 * 65,536 entries ≈ 26 MB at most, 13 s of the fastest fresh-point flood (a key still in
 * use stays: the one used longest ago goes first).
 */
export const REPLAY_SEEN_MAX_KEYS = 65_536;
/** Refused ciphertexts remembered per seen key (an exact copy of one costs no crypto). */
export const REPLAY_SEEN_DATAGRAMS_PER_KEY = 4;
/**
 * Keys of accepted knocks (the verified tier): these make later datagrams `replayed-key`.
 * Only holders of a trusted certificate add here, so junk cannot flush it; when full, new
 * knocks are refused (`overloaded`) rather than a replay let through.
 */
export const REPLAY_VERIFIED_MAX_KEYS = 65_536;
/**
 * Accepted keys one certificate may hold inside the window (2 × threshold + margin, 19 s by
 * default): beyond it that certificate's knocks are refused (`rate-limited`) and no other
 * certificate's are. 1,024 in 19 s is about 54 accepted knocks a second, far beyond any one
 * client; filling the verified tier takes 64 certificates.
 */
export const REPLAY_VERIFIED_PER_CERTIFICATE_MAX = 1024;

// ---- steps 4 and 7: caches by certificate hash ----------------------------------------

/** Port grants parsed per client certificate (by SHA-256 of its DER). */
export const GRANTS_CACHE_MAX = 4096;

// ---- between the socket and the pipeline ---------------------------------------------

/** Datagrams waiting for the crypto stages; beyond it new ones are dropped (`overloaded`). */
export const WORK_QUEUE_MAX = 2048;
/** Of which from returning sources (a knock accepted before), served first. */
export const WORK_QUEUE_PRIORITY_MAX = 512;
/**
 * Sources whose knock was accepted, remembered this long for the priority lane. Spoofing
 * one of them gains an attacker at most that address's rate limit.
 */
export const RETURNING_SOURCE_TTL_MS = 24 * 60 * 60 * 1000;
/** Returning sources remembered at most (the oldest are forgotten first). */
export const RETURNING_SOURCES_MAX = 65_536;
/**
 * Datagrams processed before yielding to the event loop (setImmediate). Small, so that the
 * socket is read often and overload drops datagrams in the counted queue, not in the kernel.
 */
export const WORK_BATCH_MAX = 16;
/** Longest stretch of processing before yielding, in milliseconds. */
export const WORK_BATCH_BUDGET_MS = 2;

// ---- step 9: opening grants -----------------------------------------------------------

/** Grants waiting for (or being written to) the firewall at once; beyond it: `overloaded`. */
export const OPEN_PENDING_MAX = 4096;
/** Attempts at `FirewallBackend.open` for one grant before it is logged as lost. */
export const OPEN_MAX_ATTEMPTS = 5;
/** First retry delay; doubles with each attempt (100, 200, 400, 800 ms). */
export const OPEN_RETRY_BASE_MS = 100;
/** Grants the daemon keeps track of (it never holds more than it has opened and not seen expire). */
export const GRANTS_HELD_MAX = 262_144;
/**
 * Certificates remembered per grant (several clients behind one NAT address knocking for the
 * same port), so that a CRL can close it for the ones it revokes: beyond, those whose time ran
 * out go first, then the one that knocked longest ago.
 */
export const GRANT_HOLDERS_MAX = 64;
/** How often expired grants are forgotten (and `close` emitted). */
export const GRANT_SWEEP_INTERVAL_MS = 1000;

// ---- watching the firewall ------------------------------------------------------------

/** The same failed firewall check is logged again at most this often. */
export const FIREWALL_CHECK_FAILURE_LOG_MS = 60_000;

// ---- logging of rejected knocks ---------------------------------------------------------

/** Reject lines logged per second at most; the rest are counted by reason. */
export const REJECT_LOG_PER_SECOND = 10;
/** How often the counts of rejects not logged are summarised (when there are any). */
export const REJECT_SUMMARY_INTERVAL_MS = 60_000;

// ---- lifecycle ------------------------------------------------------------------------

/** `stop()` gives in-flight firewall writes this long before tearing the firewall down. */
export const STOP_DRAIN_TIMEOUT_MS = 5000;
/** The CLI exits 1 when a clean stop takes longer than this. */
export const STOP_HARD_TIMEOUT_MS = 15_000;
