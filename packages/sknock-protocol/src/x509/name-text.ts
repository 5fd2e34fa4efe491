import { DerReader } from '../der/der-reader.js';
import { decodeString, readOid } from '../der/der-values.js';
import { TAG } from '../der/tags.js';
import { NAME_ATTRIBUTE_SHORT_NAMES } from '../oids.js';

/**
 * X.509 Names (RFC 5280 §4.1.2.4) as one line of text, for messages and logs.
 */

/** A node:crypto subject (`CN=a\nO=b`) as one line, `CN=a, O=b`. */
export function oneLineName(name: string): string {
  return name
    .split('\n')
    .filter((s) => s !== '')
    .join(', ');
}

/**
 * A Name (DER) as one line, `CN=…, O=…` in encoded order, for messages about a name that no
 * certificate at hand carries (the issuer of a CRL from an unknown CA). Never throws.
 */
export function nameText(der: Uint8Array): string {
  try {
    const parts: string[] = [];
    const rdns = new DerReader(der).enter(TAG.SEQUENCE, 'Name');
    while (!rdns.atEnd) {
      const set = rdns.enter(TAG.SET, 'RelativeDistinguishedName');
      while (!set.atEnd) {
        const atv = set.enter(TAG.SEQUENCE, 'AttributeTypeAndValue');
        const oid = readOid(atv, 'attribute type');
        const valueTlv = atv.next(undefined, 'attribute value');
        const content = atv.contentOf(valueTlv);
        const text = decodeString(valueTlv.tag, content) ?? `#${Buffer.from(content).toString('hex')}`;
        parts.push(`${NAME_ATTRIBUTE_SHORT_NAMES.get(oid) ?? oid}=${text}`);
      }
    }
    return parts.length > 0 ? parts.join(', ') : '(empty name)';
  } catch {
    return `(unreadable name ${Buffer.from(der.subarray(0, 32)).toString('hex')}${der.length > 32 ? '…' : ''})`;
  }
}
