import { isIP } from 'node:net';
import { STUN_DEFAULT_PORT } from '@sknock/protocol/stun';

/**
 * The `stunServer` option (`--stun-server`, profile key `stunServer`): `host`, `host:port`,
 * `v4:port`, `[v6]:port` or a bare IPv6 address; the port defaults to 3478 (RFC 8489 §9).
 * No STUN server is ever contacted unless one is named here.
 */

export interface StunServer {
  /** Name or IP address, without brackets. */
  readonly host: string;
  readonly port: number;
  /** As given, for messages. */
  readonly text: string;
}

/** The parsed server, or a reason it is not one (for the caller's typed error). */
export function parseStunServer(text: string): StunServer | string {
  const value = text.trim();
  if (value === '') return 'is empty';
  let host = value;
  let portText: string | undefined;
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close < 0) return `has no ] after the IPv6 address: ${value}`;
    host = value.slice(1, close);
    const rest = value.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return `expected :PORT after ]: ${value}`;
      portText = rest.slice(1);
    }
    if (isIP(host) !== 6) return `[${host}] is not an IPv6 address`;
  } else if (isIP(value) === 6) {
    host = value; // a bare IPv6 address: no port (write [v6]:port for one)
  } else {
    const colon = value.lastIndexOf(':');
    if (colon >= 0) {
      host = value.slice(0, colon);
      portText = value.slice(colon + 1);
    }
  }
  if (host === '' || /[\s/[\]]/.test(host) || host.length > 253) return `is not HOST or HOST:PORT: ${value}`;
  let port = STUN_DEFAULT_PORT;
  if (portText !== undefined) {
    if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) return `has no port from 1 to 65535 after the colon: ${value}`;
    port = Number(portText);
  }
  return { host, port, text: value };
}
