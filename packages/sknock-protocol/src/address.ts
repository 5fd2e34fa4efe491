import { isIP } from 'node:net';
import { REQUEST_ADDRESS_LENGTH } from './constants.js';
import { SknockProtocolError } from './errors/protocol-error.js';
import type { IpFamily } from './types.js';

/**
 * The 16-byte client address field of the signed request (PROTOCOL.md "Signed request"):
 * IPv4 in the first 4 bytes and 12 zero bytes after it, or the 16 bytes of IPv6.
 */

export interface ParsedAddress {
  readonly family: IpFamily;
  /** 4 bytes for IPv4, 16 for IPv6. */
  readonly bytes: Uint8Array;
}

/** Parses IPv4 or IPv6 text (an IPv6 zone such as `%eth0` is dropped). */
export function parseIpAddress(text: string, argument = 'address'): ParsedAddress {
  if (typeof text !== 'string') {
    throw new SknockProtocolError('ERR_SKNOCK_INVALID_ARGUMENT', `${argument} must be an IP address string`);
  }
  const bare = text.includes('%') ? text.slice(0, text.indexOf('%')) : text;
  const family = isIP(bare);
  if (family === 4) return { family: 4, bytes: Uint8Array.from(bare.split('.').map(Number)) };
  if (family === 6) return { family: 6, bytes: parseIpv6(bare) };
  throw new SknockProtocolError('ERR_SKNOCK_INVALID_ARGUMENT', `${argument} is not an IPv4 or IPv6 address: ${JSON.stringify(text)}`);
}

function parseIpv6(text: string): Uint8Array {
  // `isIP` has already accepted the text, so only well-formed forms reach here.
  let head = text;
  let tail4: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    tail4 = text.slice(lastColon + 1).split('.').map(Number);
    head = text.slice(0, lastColon + 1) + '0:0';
  }
  const [left = '', right] = head.split('::');
  const l = left === '' ? [] : left.split(':');
  const r = right === undefined ? [] : right === '' ? [] : right.split(':');
  const groups = right === undefined ? l : [...l, ...Array(8 - l.length - r.length).fill('0'), ...r];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  if (tail4.length === 4) out.set(tail4, 12);
  return out;
}

/** IPv4 dotted quad from 4 bytes. */
export function formatIpv4(bytes: Uint8Array): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

/** IPv6 text from 16 bytes, in the RFC 5952 canonical form (lower case, longest zero run as `::`). */
export function formatIpv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] as number) << 8) | (bytes[i + 1] as number));
  let bestStart = -1;
  let bestLen = 1; // RFC 5952 §4.2.2: a single zero group is not shortened
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Canonical text of an IP address (`::ffff:1.2.3.4` stays IPv6; the server unmaps it). */
export function canonicalIpAddress(text: string): string {
  const { family, bytes } = parseIpAddress(text);
  return family === 4 ? formatIpv4(bytes) : formatIpv6(bytes);
}

/** The 16-byte address field for an address. */
export function encodeAddressField(address: string): Uint8Array {
  const { bytes } = parseIpAddress(address);
  const field = new Uint8Array(REQUEST_ADDRESS_LENGTH);
  field.set(bytes, 0);
  return field;
}

/** The address held by a 16-byte field, read as the datagram's IP version says. */
export function decodeAddressField(field: Uint8Array, family: IpFamily): string {
  return family === 4 ? formatIpv4(field.subarray(0, 4)) : formatIpv6(field.subarray(0, 16));
}
