import { createPrivateKey, type KeyObject } from 'node:crypto';
import { SknockProtocolError } from '../errors/protocol-error.js';
import type { Credentials } from '../types.js';
import { decodePkcs12 } from './pkcs12-decode.js';
import { parseCertificates, selectCredentials, type CertificateInput } from './select-credentials.js';

/** `Credentials` from the bytes of a PKCS#12 file: decode, read the keys, pair key and certificate. */
export function loadPkcs12Credentials(pfx: Uint8Array, passphrase: string): Credentials {
  const decoded = decodePkcs12(pfx, passphrase);
  const keys: KeyObject[] = decoded.keys.map((bag, i) => {
    try {
      return createPrivateKey({ key: Buffer.from(bag.pkcs8), format: 'der', type: 'pkcs8' });
    } catch (cause) {
      throw new SknockProtocolError('ERR_SKNOCK_UNSUPPORTED_KEY', `PKCS#12 key bag ${i} is not a private key node:crypto can read`, { cause });
    }
  });
  const certificates: CertificateInput[] = decoded.certificates.map((bag, i) => ({ der: bag.der, label: `PKCS#12 certificate bag ${i}` }));
  // A certificate that does not parse inside an authenticated file is a malformed file.
  const parsed = parseCertificates(certificates, 'ERR_SKNOCK_MALFORMED_PKCS12');
  return selectCredentials('the PKCS#12 file', keys, certificates, parsed);
}
