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
 * How `knock()` and `connect()` find out that the port is open: TCP connection attempts, one
 * started every `ATTEMPT_SPACING_MS` (at most 50 a second). The first connection that
 * answers is the one the call keeps (`connect()`) or resets (`knock()`); every other attempt
 * still waiting is destroyed at that moment, so its SYN-ACK, if one still comes, meets a
 * closed socket and the client's kernel answers it with a RST: it never reaches the
 * service's accept(). A new attempt starts only after pending connection events were
 * handled, so the attempts never race each other by more than one spacing.
 *
 * A port the firewall opens d ms after the knock is seen about d + (0 to 20 ms) + one round
 * trip after the knock, whatever d is (an original sKnock server opens 100–300 ms after it).
 * When the round trip to the address is known to be short (an earlier connection or refusal
 * in this knocker), the first gaps after a knock are shorter (`ATTEMPT_RAMP_MS`), for
 * servers that open within milliseconds; never shorter than 1.5 round trips + 1 ms, so an
 * attempt's answer always arrives before the next attempt starts.
 */
export const ATTEMPT_SPACING_MS = 20;
export const ATTEMPT_RAMP_MS: readonly number[] = [2, 3, 5, 8, 12];

/**
 * An attempt whose SYN the firewall dropped waits at most this long. It stays under the 1 s
 * after which the kernel resends a SYN by itself (initial RTO, RFC 6298 §2): a resent SYN
 * would be an attempt this package did not pace. With a known round trip r the wait is
 * 4r + 50 ms (at most this).
 */
export const ATTEMPT_MAX_WAIT_MS = 900;

/**
 * `connect()`: how long a connection to a port that may already be open (a grant still
 * running) is given before the SDK concludes it is not and knocks. A refused connection
 * (policy reject) knocks at once; this is the cost of a closed port under policy drop.
 */
export const DEFAULT_KNOCK_AFTER_MS = 250;
export const MAX_KNOCK_AFTER_MS = 60_000;

/** Upper bound of `grantSeconds` (a day; grants are seconds to minutes). */
export const MAX_GRANT_SECONDS = 86_400;

/** Targets a knocker remembers grants and round trips for; the oldest is forgotten first. */
export const GRANT_MEMORY_MAX_ENTRIES = 256;

/** Largest credential or certificate file read (a PKCS#12 file is a few kilobytes). */
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
export const CHANNEL_CONNECTED = 'sknock:client:connected';
