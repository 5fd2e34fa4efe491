import { channel } from 'node:diagnostics_channel';
import { DEFAULT_TIMESTAMP_THRESHOLD_SECONDS } from '@sknock/protocol';
import { CHANNEL_KNOCK_SENT } from '../constants.js';
import type { KnockSentMessage } from '../diagnostics.js';
import type { NormalizedTarget } from '../options.js';

/**
 * "did not open after N knocks": the server never answers a knock (that is the point), so the
 * command lists what usually causes it, filled in with what this call did: the UDP port the
 * knocks went to, the address bound into them, the server certificate they were encrypted to.
 */

export interface KnockTrace {
  /** The last knock-sent message of this call. */
  last: KnockSentMessage | undefined;
  stop(): void;
}

/**
 * Follows the call's knocks on the SDK's diagnostics channel. The trace holds the channel
 * object itself: Bun keeps channels only weakly, and one collected before the SDK first
 * publishes loses the subscribers that the module-level `subscribe(name)` gave it.
 */
export function traceKnocks(): KnockTrace {
  const knockSent = channel(CHANNEL_KNOCK_SENT);
  const trace: KnockTrace = {
    last: undefined,
    stop: () => knockSent.unsubscribe(onSent),
  };
  const onSent = (message: unknown): void => {
    trace.last = message as KnockSentMessage;
  };
  knockSent.subscribe(onSent);
  return trace;
}

export interface HintInput {
  readonly target: NormalizedTarget;
  readonly last: KnockSentMessage | undefined;
  /** The server certificate option as given (a path, for the message). */
  readonly serverCertificate: unknown;
  /** How to name each option: a flag, or where the profile set it. */
  readonly names: Readonly<Record<string, string>>;
}

export function notOpenedHints({ target, last, serverCertificate, names }: HintInput): string[] {
  const to = last === undefined ? target.host : last.address;
  const source = last?.sourceAddress ?? target.sourceAddress ?? 'the local address';
  const hints: string[] = [];
  hints.push(
    target.knockPort === undefined
      ? `knock port: the knocks went to random UDP ports of ${to}${last === undefined ? '' : ` (the last to ${last.knockPort})`}, which a server takes only if it redirects every port to its own (anyPortKnocks = on); else give --knock-port with the server's knockPort (62201 unless its config says otherwise)`
      : `knock port: the knocks went to UDP port ${target.knockPort} of ${to} (${names['knockPort']}): the server must listen there (its knockPort) and no firewall on the way may drop it`,
  );
  hints.push(
    `clock skew: the server ignores a knock stamped more than ${DEFAULT_TIMESTAMP_THRESHOLD_SECONDS} s (its TIMESTAMP_THRESHOLD_IN_SECONDS, by default) from its own clock; compare \`date -u\` here and on the server`,
  );
  if (target.sourceAddress === 'auto') {
    hints.push(
      `NAT: the knocks bound ${source}, the address ${target.stunServer?.text ?? 'the STUN server'} saw; the server opens the port only for the address it sees the knock come from, so that STUN server must see you through the same NAT as the knock server, or give ${names['sourceAddress']} with your public address`,
    );
  } else if (target.sourceAddress !== undefined) {
    hints.push(
      `NAT and source address: the knocks bound ${source} (${names[target.localAddress !== undefined && target.sourceAddress === target.localAddress ? 'localAddress' : 'sourceAddress']}); the server opens the port only if it sees the knock come from that address` +
        (target.localAddress === undefined ? `; on a host with several addresses, --local-address ${source} makes the knock leave from it` : ''),
    );
  } else {
    hints.push(
      `NAT: the knocks bound ${source}, this host's address toward the server; behind NAT the server sees your public address instead: give --source-address PUBLIC-ADDRESS, or --source-address auto --stun-server HOST[:PORT]; on a host with several addresses, --local-address ADDRESS`,
    );
  }
  const cert = typeof serverCertificate === 'string' ? ` ${serverCertificate}` : '';
  hints.push(`server certificate: the knocks were encrypted to${cert} (${names['serverCertificate']}); a server with another key cannot read them`);
  hints.push(
    `grant: the server opens ${target.protocol}/${target.port} only for a client certificate issued by a CA it trusts and not revoked; its log names the reason for every knock it refused`,
  );
  return hints;
}
