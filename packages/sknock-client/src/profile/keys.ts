import { isIP } from 'node:net';
import { MAX_GRANT_SECONDS } from '../constants.js';
import { parseStunServer } from '../stun-server.js';

/**
 * The keys of a profile section: their names (the SDK option names), what their values are,
 * the `sknock` flag each stands for, and the parsing of a value. Paths are resolved by the
 * reader (against the file's folder, `~` expanded); every other value is checked here.
 */

export interface ProfileSettings {
  readonly pfx?: string;
  readonly key?: string;
  readonly certificate?: string;
  readonly serverCertificate?: string;
  readonly passphraseFile?: string;
  readonly knockPort?: number;
  /** An IP address or `'auto'`. */
  readonly sourceAddress?: string;
  readonly localAddress?: string;
  /** `host[:port]`. */
  readonly stunServer?: string;
  readonly family?: 0 | 4 | 6;
  readonly grantSeconds?: number;
}

export type ProfileKey = keyof ProfileSettings;

export type ProfileValueKind = 'path' | 'port' | 'source' | 'address' | 'stun' | 'family' | 'seconds';

export interface ProfileKeyInfo {
  readonly name: ProfileKey;
  readonly kind: ProfileValueKind;
  /** The `sknock` flag that sets the same thing. */
  readonly flag: string;
  readonly meaning: string;
}

export const PROFILE_KEYS: readonly ProfileKeyInfo[] = [
  { name: 'pfx', kind: 'path', flag: '--pfx', meaning: 'PKCS#12 file with the client key and certificate' },
  { name: 'key', kind: 'path', flag: '--key', meaning: 'private key file (PEM or DER), with certificate' },
  { name: 'certificate', kind: 'path', flag: '--cert', meaning: 'client certificate file (PEM or DER), with key' },
  { name: 'serverCertificate', kind: 'path', flag: '--server-cert', meaning: "the server's certificate (PEM or DER)" },
  { name: 'passphraseFile', kind: 'path', flag: '--passphrase-file', meaning: 'file whose first line is the password of pfx or key' },
  { name: 'knockPort', kind: 'port', flag: '--knock-port', meaning: 'UDP port the knock is sent to (default: random 10000-60000)' },
  { name: 'sourceAddress', kind: 'source', flag: '--source-address', meaning: "address bound into the knock, or 'auto' (ask stunServer)" },
  { name: 'localAddress', kind: 'address', flag: '--local-address', meaning: 'address of this host to send from' },
  { name: 'stunServer', kind: 'stun', flag: '--stun-server', meaning: "STUN server HOST[:PORT] for sourceAddress = auto" },
  { name: 'family', kind: 'family', flag: '-4/-6', meaning: '4 or 6 to resolve the host to that family only, 0 for any' },
  { name: 'grantSeconds', kind: 'seconds', flag: '--grant-seconds', meaning: "how long the server keeps the port open (its PORT_OPEN_DURATION_IN_SECONDS)" },
];

export const PROFILE_KEY_NAMES: readonly string[] = PROFILE_KEYS.map((k) => k.name);

/** The key info for `name`, matched case-insensitively. */
export function profileKey(name: string): ProfileKeyInfo | undefined {
  const lower = name.toLowerCase();
  return PROFILE_KEYS.find((k) => k.name.toLowerCase() === lower);
}

/** A non-path value as its typed form, or a reason (for the reader's error). Paths come back as written. */
export function parseProfileValue(kind: ProfileValueKind, value: string): string | number | { error: string } {
  switch (kind) {
    case 'path':
      return value === '' ? { error: 'is empty (give a path)' } : value;
    case 'port':
      return /^[0-9]{1,5}$/.test(value) && Number(value) >= 1 && Number(value) <= 65535 ? Number(value) : { error: `'${value}' is not a port number from 1 to 65535` };
    case 'seconds':
      return /^[0-9]{1,6}$/.test(value) && Number(value) >= 1 && Number(value) <= MAX_GRANT_SECONDS
        ? Number(value)
        : { error: `'${value}' is not a whole number of seconds from 1 to ${MAX_GRANT_SECONDS}` };
    case 'family':
      return value === '4' || value === '6' || value === '0' ? Number(value) : { error: `'${value}' is not 4, 6 or 0 (any)` };
    case 'address':
      return isIpAddress(value) ? value : { error: `'${value}' is not an IPv4 or IPv6 address` };
    case 'source':
      return value === 'auto' || isIpAddress(value) ? value : { error: `'${value}' is not an IPv4 or IPv6 address, nor auto` };
    case 'stun': {
      const parsed = parseStunServer(value);
      return typeof parsed === 'string' ? { error: parsed } : value;
    }
  }
}

function isIpAddress(value: string): boolean {
  const bare = value.includes('%') ? value.slice(0, value.indexOf('%')) : value;
  return isIP(bare) !== 0;
}
