import { isIPv4 } from 'node:net';
import { canonicalIpAddress, parseIpAddress } from '@sknock/protocol';
import type { KnockSource } from './types.js';

/**
 * The source of a datagram as the checks see it. A dual-stack socket (`::`, ipv6Only false)
 * reports IPv4 senders as IPv4-mapped IPv6 (`::ffff:192.0.2.1`, RFC 4291 §2.5.5.2): those
 * arrived over IPv4, so they are IPv4 here — for the frame overhead, for how the packet's
 * address field is read, and for the firewall rule. An IPv6 zone (`%eth0`) is dropped: the
 * packet cannot carry one and the firewall matches the address alone.
 */

const MAPPED_PREFIX = '::ffff:';

function isMapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

export function normaliseSource(address: string, family: string | number, port: number): KnockSource {
  let text = address;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  if (family === 'IPv4' || family === 4) return { address: text, family: 4, port };
  // fast path: node:dgram writes mapped addresses as `::ffff:a.b.c.d`
  if (text.startsWith(MAPPED_PREFIX)) {
    const tail = text.slice(MAPPED_PREFIX.length);
    if (isIPv4(tail)) return { address: tail, family: 4, port };
  }
  try {
    const { bytes } = parseIpAddress(text);
    if (bytes.length === 16 && isMapped(bytes)) {
      return { address: `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`, family: 4, port };
    }
    return { address: canonicalIpAddress(text), family: 6, port };
  } catch {
    // not an address node:dgram would hand us; keep it as given (the address check fails it)
    return { address: text, family: 6, port };
  }
}
