import { randomBytes } from 'node:crypto';
import { SERIAL_LENGTH } from './constants.js';
import { invalidArgument } from './errors.js';

/**
 * Certificate serial numbers (RFC 5280 §4.1.2.2): positive, at most 20 octets, unique per CA.
 * Written as lowercase hex without leading zeros, the way `normalizeSerial` reads them back.
 */

/**
 * A fresh random serial: 16 octets, the first from 0x10 to 0x7f (positive, and 32 hex digits
 * with no leading zero, so the text is already canonical).
 */
export function randomSerial(): string {
  const bytes = randomBytes(SERIAL_LENGTH);
  bytes[0] = 0x10 + ((bytes[0] as number) % 0x70);
  return bytes.toString('hex');
}

/**
 * A serial in canonical form (lowercase hex, no leading zeros) from what people type or
 * tools print: `0x` prefix, colons (`openssl x509 -serial` style), either case.
 */
export function normalizeSerial(text: string, argument = 'serial'): string {
  if (typeof text !== 'string') throw invalidArgument(`${argument} must be a hexadecimal string`);
  let hex = text.trim().toLowerCase().replace(/^0x/, '').replace(/:/g, '');
  if (hex === '' || !/^[0-9a-f]+$/.test(hex)) {
    throw invalidArgument(`${argument} ${JSON.stringify(text)} is not a hexadecimal serial number`);
  }
  hex = hex.replace(/^0+(?=.)/, '');
  if (hex.length > 40) throw invalidArgument(`${argument} ${JSON.stringify(text)} is longer than 20 octets (RFC 5280)`);
  return hex;
}

/** The serial as the even-length hex `@peculiar/x509` wants for a DER INTEGER's content. */
export function serialToEvenHex(serial: string): string {
  return serial.length % 2 === 1 ? `0${serial}` : serial;
}
