/**
 * Numbers and names of the firewall back ends, each with where it comes from. Nothing else
 * under `src/firewall/` spells them.
 */
import { KNOCK_MAGIC, KNOCK_VERSION } from '@sknock/protocol';

/** RFC 768: the UDP header is 8 bytes, and nftables' `udp length` / the UDP length field count it. */
export const UDP_HEADER_LENGTH = 8;

/** RFC 791: an IPv4 header without options is 20 bytes (the iptables `u32` match reads IHL itself). */
export const IPV4_HEADER_LENGTH = 20;

/** RFC 8200: the fixed IPv6 header is 40 bytes (the ip6tables `u32` match assumes no extension header). */
export const IPV6_HEADER_LENGTH = 40;

/**
 * PROTOCOL.md "One UDP datagram": the first four payload bytes of every knock, magic `a` and
 * version 1.0.0, as one big-endian number (`0x61010000`), matched by `@th,64,32` (nftables)
 * and `u32` (iptables).
 */
export const KNOCK_HEADER_WORD =
  ((KNOCK_MAGIC << 24) | (KNOCK_VERSION[0] << 16) | (KNOCK_VERSION[1] << 8) | KNOCK_VERSION[2]) >>> 0;

/** RFC 768 / RFC 8200: largest UDP payload of one datagram (65,535 − 8 − 20). */
export const MAX_UDP_PAYLOAD = 65_507;

/** Longest grant any back end accepts: Node's `setTimeout` limit (2^31 − 1 ms), in seconds. */
export const MAX_GRANT_DURATION_SECONDS = 2_147_483;

/** Default nftables table (family `inet`) the daemon owns. */
export const DEFAULT_NFT_TABLE = 'sknock';

/** Default iptables/ip6tables chain prefix: `SKNOCK` (filter), `SKNOCK-GRANTS` (filter), `SKNOCK-KNOCK` (nat). */
export const DEFAULT_IPTABLES_CHAIN = 'SKNOCK';

/** How long one firewall command may run before it is killed (ms). */
export const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;

/** Most grant updates sent to the kernel in one batch (one nft transaction or one `*-restore`). */
export const DEFAULT_MAX_BATCH = 4096;

/** Longest stderr kept on an error (bytes). */
export const MAX_STDERR_KEPT = 4096;

/** Longest stdout collected from one command (bytes); more fails the command. */
export const MAX_STDOUT_COLLECTED = 64 * 1024 * 1024;

/**
 * Batches one `nft -i` session applies before a fresh process replaces it. nft's line editor
 * (libedit) keeps every input line in its history: measured, about 0.4 KB of memory per batch,
 * and each line a little slower than the last (0.27 ms per batch at first, 0.5 ms after 20,000).
 */
export const NFT_SESSION_MAX_BATCHES = 4096;

/** How long a closed `nft -i` session may take to exit before it is killed (ms). */
export const NFT_SESSION_CLOSE_TIMEOUT_MS = 2000;

/** Most stderr an `nft -i` session may write without a batch marker before it is killed (bytes). */
export const NFT_SESSION_MAX_STDERR = 16 * 1024 * 1024;
