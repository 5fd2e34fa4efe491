import { SknockProtocolError } from '../errors/protocol-error.js';

/**
 * Certificate serial numbers (RFC 5280 §4.1.2.2) as one canonical text, so that a CRL entry,
 * a certificate and what people type compare equal however each wrote it: lower-case hex,
 * no leading zeros (`0` for zero), no separators. `0A:BC`, `0x0abc`, `ABC` and `00000abc`
 * are all `abc`. The one serial normaliser of the sKnock packages.
 */
export function normaliseSerial(serial: string | Uint8Array, argument = 'serial'): string {
  let hex: string;
  if (serial instanceof Uint8Array) {
    hex = Buffer.from(serial.buffer, serial.byteOffset, serial.byteLength).toString('hex');
  } else if (typeof serial === 'string') {
    hex = serial.trim().toLowerCase().replace(/^0x/, '').replace(/[\s:]/g, '');
    if (hex === '' || !/^[0-9a-f]+$/.test(hex)) {
      throw new SknockProtocolError('ERR_SKNOCK_INVALID_ARGUMENT', `${argument} ${JSON.stringify(serial)} is not a hexadecimal serial number`);
    }
  } else {
    throw new SknockProtocolError('ERR_SKNOCK_INVALID_ARGUMENT', `${argument} must be a hexadecimal string or bytes`);
  }
  const stripped = hex.replace(/^0+/, '');
  return stripped === '' ? '0' : stripped;
}
