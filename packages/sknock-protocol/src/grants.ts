import {
  GRANT_PROTOCOL_TCP,
  GRANT_PROTOCOL_UDP,
  GRANTS_OTHERNAME_OID,
  PORT_MAX,
  PORT_MIN,
} from './constants.js';
import { DerReader } from './der/der-reader.js';
import { decodeOid } from './der/der-values.js';
import { encodeExplicit, encodeOid, encodeSequence, encodeUtf8String } from './der/der-writer.js';
import { TAG } from './der/tags.js';
import { SknockProtocolError } from './errors/protocol-error.js';
import { OID_SUBJECT_ALT_NAME } from './oids.js';
import { readCertificateFields } from './x509/certificate-fields.js';
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
  const text = formatPortGrants(grants);
  return encodeSequence(encodeExplicit(0, encodeOid(GRANTS_OTHERNAME_OID), encodeExplicit(0, encodeUtf8String(text))));
}

/**
 * The port grants of a DER client certificate. A certificate without the sKnock otherName
 * grants nothing (`[]`); a malformed one throws `ERR_SKNOCK_MALFORMED_GRANTS`.
 */
export function parsePortGrants(certificate: Uint8Array): PortGrant[] {
  if (!(certificate instanceof Uint8Array)) {
    throw new SknockProtocolError('ERR_SKNOCK_INVALID_ARGUMENT', 'certificate must be DER bytes (Uint8Array)');
  }
  const san = readCertificateFields(certificate).extensions.get(OID_SUBJECT_ALT_NAME)?.value;
  if (san === undefined) return [];
  const r = new DerReader(san, 'ERR_SKNOCK_MALFORMED_GRANTS');
  const names = r.enter(TAG.SEQUENCE, 'subjectAltName GeneralNames');
  const grants: PortGrant[] = [];
  while (!names.atEnd) {
    const name = names.next(undefined, 'GeneralName');
    if (name.tag !== TAG.CONTEXT_0) continue; // not an otherName
    const otherName = names.inside(name);
    if (decodeOid(otherName, otherName.content(TAG.OID, 'otherName type-id'), 'otherName type-id') !== GRANTS_OTHERNAME_OID) continue;
    const value = otherName.enter(TAG.CONTEXT_0, 'otherName value');
    const str = value.next(undefined, 'grant string');
    if (str.tag !== TAG.UTF8_STRING && str.tag !== TAG.IA5_STRING && str.tag !== TAG.PRINTABLE_STRING) {
      throw malformed(`grant otherName value has tag 0x${str.tag.toString(16)}, not a string`);
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(value.contentOf(str));
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
