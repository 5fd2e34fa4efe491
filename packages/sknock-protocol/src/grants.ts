import {
  GRANT_PROTOCOL_TCP,
  GRANT_PROTOCOL_UDP,
  GRANTS_OTHERNAME_OID,
  PORT_MAX,
  PORT_MIN,
  SUBJECT_ALT_NAME_OID,
} from './constants.js';
import {
  TAG_BOOLEAN,
  TAG_CONTEXT_0,
  TAG_CONTEXT_3,
  TAG_OCTET_STRING,
  TAG_OID,
  TAG_SEQUENCE,
  TAG_UTF8_STRING,
  bytesEqual,
  encodeOidContents,
  encodeTlv,
  expectTlv,
  readTlv,
} from './der.js';
import { SknockProtocolError } from './errors.js';
import { ByteReader } from './reader.js';
import type { PortGrant } from './types.js';

/**
 * Port grants inside the client certificate (PROTOCOL.md "Authorization inside the client
 * certificate"): subjectAltName (RFC 5280 §4.2.1.6) holds
 *
 *     otherName [0] { type-id 1.3.6.1.4.1.19518, value [0] EXPLICIT UTF8String }
 *
 * whose string is comma-separated `protocol.port` pairs, `1` = TCP and `0` = UDP, e.g.
 * `1.2000,1.3000,0.8000`.
 */

const GRANTS_OID = encodeOidContents(GRANTS_OTHERNAME_OID);
const SAN_OID = encodeOidContents(SUBJECT_ALT_NAME_OID);
const GRANT_PAIR = /^([0-9]+)\.([0-9]+)$/;

function malformed(message: string): SknockProtocolError {
  return new SknockProtocolError('ERR_SKNOCK_MALFORMED_GRANTS', message);
}

/** Parses `1.2000,0.8000`. Empty strings, unknown protocols and bad ports are errors. */
export function parseGrantString(text: string): PortGrant[] {
  if (typeof text !== 'string') throw malformed('grant string must be a string');
  if (text.trim() === '') throw malformed('grant string is empty');
  return text.split(',').map((raw, i) => {
    const m = GRANT_PAIR.exec(raw.trim());
    if (m === null) throw malformed(`grant ${i + 1} (${JSON.stringify(raw)}) is not "protocol.port"`);
    const [, proto, portText] = m as unknown as [string, string, string];
    if (proto !== GRANT_PROTOCOL_TCP && proto !== GRANT_PROTOCOL_UDP) {
      throw malformed(`grant ${i + 1} (${JSON.stringify(raw)}): protocol must be 1 (TCP) or 0 (UDP)`);
    }
    const port = Number(portText);
    if (portText.length > 5 || port < PORT_MIN || port > PORT_MAX) {
      throw malformed(`grant ${i + 1} (${JSON.stringify(raw)}): port must be ${PORT_MIN}–${PORT_MAX}`);
    }
    return { protocol: proto === GRANT_PROTOCOL_TCP ? 'tcp' : 'udp', port };
  });
}

/** The grant string for a list of grants, in the given order. */
export function formatPortGrants(grants: readonly PortGrant[]): string {
  if (!Array.isArray(grants) || grants.length === 0) {
    throw new SknockProtocolError('ERR_SKNOCK_INVALID_ARGUMENT', 'grants must be a non-empty array');
  }
  return grants
    .map((g, i) => {
      if (g?.protocol !== 'tcp' && g?.protocol !== 'udp') {
        throw new SknockProtocolError('ERR_SKNOCK_INVALID_ARGUMENT', `grants[${i}].protocol must be 'tcp' or 'udp'`);
      }
      if (!Number.isInteger(g.port) || g.port < PORT_MIN || g.port > PORT_MAX) {
        throw new SknockProtocolError('ERR_SKNOCK_INVALID_ARGUMENT', `grants[${i}].port must be an integer ${PORT_MIN}–${PORT_MAX}`);
      }
      return `${g.protocol === 'tcp' ? GRANT_PROTOCOL_TCP : GRANT_PROTOCOL_UDP}.${g.port}`;
    })
    .join(',');
}

/**
 * DER of a subjectAltName extension value (GeneralNames) holding the grant otherName, for a
 * CA to put into a certificate under OID 2.5.29.17.
 */
export function encodeGrantsSubjectAltName(grants: readonly PortGrant[]): Uint8Array {
  const text = new TextEncoder().encode(formatPortGrants(grants));
  const otherName = encodeTlv(
    TAG_CONTEXT_0,
    encodeTlv(TAG_OID, GRANTS_OID),
    encodeTlv(TAG_CONTEXT_0, encodeTlv(TAG_UTF8_STRING, text)),
  );
  return encodeTlv(TAG_SEQUENCE, otherName);
}

/** The extnValue contents of subjectAltName in a DER certificate, or `undefined`. */
function findSubjectAltName(certificate: Uint8Array): Uint8Array | undefined {
  const r = new ByteReader(certificate, 'ERR_SKNOCK_INVALID_CERTIFICATE', 'certificate');
  const tbs = expectTlv(expectTlv(r, TAG_SEQUENCE, 'Certificate').body, TAG_SEQUENCE, 'tbsCertificate').body;
  while (tbs.remaining > 0) {
    const field = readTlv(tbs, 'tbsCertificate field');
    if (field.tag !== TAG_CONTEXT_3) continue;
    const extensions = expectTlv(field.body, TAG_SEQUENCE, 'Extensions').body;
    while (extensions.remaining > 0) {
      const ext = expectTlv(extensions, TAG_SEQUENCE, 'Extension').body;
      const oid = expectTlv(ext, TAG_OID, 'extnID').body;
      let next = readTlv(ext, 'Extension field');
      if (next.tag === TAG_BOOLEAN) next = readTlv(ext, 'extnValue');
      if (next.tag !== TAG_OCTET_STRING) throw r.error('certificate: extnValue is not an OCTET STRING');
      if (bytesEqual(oid.bytes(oid.remaining, 'extnID'), SAN_OID)) return next.body.bytes(next.body.remaining, 'extnValue');
    }
  }
  return undefined;
}

/**
 * The port grants of a DER client certificate. A certificate without the sKnock otherName
 * grants nothing (`[]`); a malformed one throws `ERR_SKNOCK_MALFORMED_GRANTS`.
 */
export function parsePortGrants(certificate: Uint8Array): PortGrant[] {
  if (!(certificate instanceof Uint8Array)) {
    throw new SknockProtocolError('ERR_SKNOCK_INVALID_ARGUMENT', 'certificate must be DER bytes (Uint8Array)');
  }
  const san = findSubjectAltName(certificate);
  if (san === undefined) return [];
  const r = new ByteReader(san, 'ERR_SKNOCK_MALFORMED_GRANTS', 'subjectAltName');
  const names = expectTlv(r, TAG_SEQUENCE, 'GeneralNames').body;
  const grants: PortGrant[] = [];
  while (names.remaining > 0) {
    const name = readTlv(names, 'GeneralName');
    if (name.tag !== TAG_CONTEXT_0) continue; // not an otherName
    const typeId = expectTlv(name.body, TAG_OID, 'otherName type-id').body;
    if (!bytesEqual(typeId.bytes(typeId.remaining, 'type-id'), GRANTS_OID)) continue;
    const value = expectTlv(name.body, TAG_CONTEXT_0, 'otherName value').body;
    const str = readTlv(value, 'grant string');
    if (str.tag !== TAG_UTF8_STRING && str.tag !== 0x16 /* IA5String */ && str.tag !== 0x13 /* PrintableString */) {
      throw malformed(`grant otherName value has tag 0x${str.tag.toString(16)}, not a string`);
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(str.body.bytes(str.body.remaining, 'grant string'));
    } catch {
      throw malformed('grant string is not UTF-8');
    }
    grants.push(...parseGrantString(text));
  }
  return grants;
}

/** True when `grants` hold (`protocol`, `port`). */
export function grantsAllow(grants: readonly PortGrant[], protocol: 'tcp' | 'udp', port: number): boolean {
  return grants.some((g) => g.protocol === protocol && g.port === port);
}
