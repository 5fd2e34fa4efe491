import { isIP } from 'node:net';
import { MAX_COMMON_NAME_LENGTH } from './constants.js';
import { invalidArgument } from './errors.js';
import { x509 } from './x509.js';

/**
 * Subject names and alternative names. Names are built from JSON (never by parsing a DN
 * string), so a name holding `,` `=` or `+` stays one commonName.
 */

/** Checks a common name: 1–64 characters, no control characters. */
export function checkCommonName(name: unknown, argument: string): string {
  if (typeof name !== 'string' || name.trim() === '') throw invalidArgument(`${argument} must be a non-empty string`);
  if ([...name].length > MAX_COMMON_NAME_LENGTH) {
    throw invalidArgument(`${argument} is ${[...name].length} characters; a common name has at most ${MAX_COMMON_NAME_LENGTH} (RFC 5280)`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw invalidArgument(`${argument} holds control characters`);
  return name;
}

/** `CN=<name>` as an x509 Name. */
export function commonNameSubject(name: string): x509.Name {
  return new x509.Name([{ CN: [name] }]);
}

const HOST_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;

/** True when `name` reads as a DNS host name (letters, digits, hyphens, dots; 253 at most). */
export function looksLikeHostName(name: string): boolean {
  const host = name.endsWith('.') ? name.slice(0, -1) : name;
  if (host.length === 0 || host.length > 253) return false;
  const labels = host.split('.');
  if (!labels.every((l) => HOST_LABEL.test(l))) return false;
  return !/^[0-9]+$/.test(labels[labels.length - 1] as string); // 10.0.0.1 is an address, not a host
}

/**
 * subjectAltName for a server certificate named `name`: a dNSName when it reads as a host,
 * an iPAddress when it is an IP address, none otherwise.
 */
export function serverAltName(name: string): x509.SubjectAlternativeNameExtension | undefined {
  if (isIP(name) !== 0) return new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: name }], false);
  if (looksLikeHostName(name)) return new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: name.replace(/\.$/, '') }], false);
  return undefined;
}
