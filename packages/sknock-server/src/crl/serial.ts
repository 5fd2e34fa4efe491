/**
 * Certificate serial numbers as one canonical text, so that a CRL entry and a certificate
 * compare equal however each tool wrote them: lower-case hex, no leading zeros ("0" for
 * zero), no separators. `0A:BC`, `0abc`, `ABC` and `00000abc` are all `abc`.
 */
export function normaliseSerial(serial: string | Uint8Array): string {
  const hex = typeof serial === 'string' ? serial.replace(/[\s:]/g, '').toLowerCase() : Buffer.from(serial).toString('hex');
  const stripped = hex.replace(/^0+/, '');
  return stripped === '' ? '0' : stripped;
}
