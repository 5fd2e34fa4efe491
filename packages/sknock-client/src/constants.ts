/**
 * Defaults and limits of the client, each with its reason. Wire-format numbers live in
 * @sknock/protocol (`RANDOM_KNOCK_PORT_MIN` etc.); nothing else in this package spells these.
 */

/** Whole `knock()` call, ms: name resolution, every knock and every probe. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** Knocks resent when a try does not open the port (so `retries + 1` knocks at most). */
export const DEFAULT_RETRIES = 3;

/** Upper bound of `retries`: every try needs a window of its own. */
export const MAX_RETRIES = 100;

/** Upper bound of `timeout`: the largest delay `setTimeout` keeps (2^31 − 1 ms, about 24.8 days). */
export const MAX_TIMEOUT_MS = 2_147_483_647;

/**
 * TCP probes start at once after the knock, then the gap grows from `PROBE_FIRST_GAP_MS` by
 * `PROBE_GAP_GROWTH` up to `PROBE_MAX_GAP_MS` (0, 1, 2.5, 4.8, 8.1, 13, 21, 32, 49, 75,
 * 113 ms, then every 100 ms). A port the firewall opens d ms after the knock is seen after
 * at most about d + min(d/2, 100 ms) + one round trip: 1.5 rather than 2 halves that lag
 * (measured, port opening 20 ms after the knock: median lag 14 → 2–4 ms, p90 18 → 11 ms) for a few
 * more probes per try.
 * A new probe is needed because a SYN the firewall dropped before the rule came is only
 * resent by the kernel after its initial RTO (1 s, RFC 6298 §2).
 */
export const PROBE_FIRST_GAP_MS = 1;
export const PROBE_GAP_GROWTH = 1.5;
export const PROBE_MAX_GAP_MS = 100;

/**
 * At most this many probe connections wait at once; the oldest is dropped for a new one.
 * 16 × 100 ms leaves a probe 1.6 s to see its SYN-ACK: longer than any sane round trip.
 */
export const MAX_OUTSTANDING_PROBES = 16;

/** Largest credential, certificate, passphrase or profile file read (a PKCS#12 file is a few kilobytes). */
export const MAX_CREDENTIAL_FILE_BYTES = 1024 * 1024;

/**
 * Port that the connected UDP socket used to find the local source address toward a host
 * connects to. `connect()` on a UDP socket sends nothing (RFC 768 has no handshake); the
 * port only has to be valid.
 */
export const SOURCE_PROBE_PORT = 9; // RFC 863 discard

/** `node:diagnostics_channel` names the SDK publishes on (it never logs). */
export const CHANNEL_KNOCK_SENT = 'sknock:client:knock-sent';
export const CHANNEL_PORT_OPEN = 'sknock:client:port-open';
export const CHANNEL_RETRY = 'sknock:client:retry';
export const CHANNEL_FAILURE = 'sknock:client:failure';
export const CHANNEL_WARNING = 'sknock:client:warning';
export const CHANNEL_PUBLIC_ADDRESS = 'sknock:client:public-address';

/**
 * How long an address learned by STUN (`sourceAddress: 'auto'`) is reused, ms. A NAT's public
 * address changes rarely (a new DHCP lease, a mobile network, a carrier-grade NAT rotating its
 * pool), and a knock bound to a stale one is dropped without an answer; 30 s saves a round
 * trip per knock for apps that knock often, yet notices a change within half a minute. A
 * call that ends in ERR_SKNOCK_PORT_NOT_OPENED forgets it at once, so the next call asks again.
 */
export const PUBLIC_ADDRESS_CACHE_MS = 30_000;
/** At most this many learned addresses are kept (one per STUN server, family and local address). */
export const PUBLIC_ADDRESS_CACHE_ENTRIES = 64;

/**
 * STUN over UDP retransmits (RFC 8489 §6.2.1): the first request at once, then after RTO,
 * doubling each time (500 ms, the RFC's own example value), at most `STUN_MAX_REQUESTS` (Rc = 7)
 * requests, and the transaction fails `STUN_LAST_WAIT_RTOS` (Rm = 16) initial RTOs after the
 * last: 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s, failing at 39.5 s. The knock's `timeout` bounds it
 * further: with the default 10 s a silent server gets 5 requests.
 */
export const STUN_INITIAL_RTO_MS = 500;
export const STUN_MAX_REQUESTS = 7;
export const STUN_LAST_WAIT_RTOS = 16;

/** Largest STUN response read (RFC 8489 §6.1: a message fits one datagram; 548 bytes unless the path MTU is known). */
export const STUN_MAX_RESPONSE_BYTES = 1500;

/** Upper bound of `grantSeconds` (and the server's PORT_OPEN_DURATION_IN_SECONDS): one day. */
export const MAX_GRANT_SECONDS = 86_400;
