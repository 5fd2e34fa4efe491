import * as asn1js from 'asn1js';
import { SknockProtocolError, type SknockProtocolErrorCode } from '../errors/protocol-error.js';
import { ASN1_MAX_DEPTH, ASN1_MAX_NODES } from './constants.js';

/**
 * Typed, checked access to a BER tree parsed by asn1js (X.690). PKCS#12 files are BER,
 * not always DER (indefinite lengths and constructed OCTET STRINGs occur in files from
 * other tools), which asn1js reads with its resource limits. Every accessor throws a
 * `SknockProtocolError` naming the field it expected, never a raw exception.
 */

export type Asn1Node = asn1js.AsnType;

const UNIVERSAL = 1;
const CONTEXT = 3;
const TAG_INTEGER = 2;
const TAG_OCTET_STRING = 4;
const TAG_NULL = 5;
const TAG_OID = 6;
const TAG_SEQUENCE = 16;
const TAG_SET = 17;
const TAG_BMP_STRING = 30;

/** Structure errors carry this code unless the caller chose another. */
const DEFAULT_CODE: SknockProtocolErrorCode = 'ERR_SKNOCK_MALFORMED_PKCS12';

export function malformed(what: string, detail: string, code: SknockProtocolErrorCode = DEFAULT_CODE): SknockProtocolError {
  return new SknockProtocolError(code, `${what}: ${detail}`);
}

/** Parses exactly one BER element filling all of `bytes`. */
export function parseBer(bytes: Uint8Array, what: string, code: SknockProtocolErrorCode = DEFAULT_CODE): Asn1Node {
  if (bytes.length === 0) throw malformed(what, 'is empty', code);
  let parsed: asn1js.FromBerResult;
  try {
    parsed = asn1js.fromBER(bytes, { parseEmbedded: false, maxDepth: ASN1_MAX_DEPTH, maxNodes: ASN1_MAX_NODES });
  } catch (cause) {
    throw new SknockProtocolError(code, `${what}: is not BER`, { cause });
  }
  if (parsed.offset === -1 || parsed.result.error !== '') {
    throw malformed(what, `is not BER (${parsed.result.error || 'truncated'})`, code);
  }
  if (parsed.offset !== bytes.length) throw malformed(what, `has ${bytes.length - parsed.offset} bytes after its end`, code);
  return parsed.result;
}

function isTag(node: Asn1Node | undefined, tagClass: number, tagNumber: number): boolean {
  return node !== undefined && node.idBlock.tagClass === tagClass && node.idBlock.tagNumber === tagNumber;
}

function childrenOf(node: Asn1Node): Asn1Node[] {
  const value = (node.valueBlock as { value?: unknown }).value;
  return Array.isArray(value) ? (value as Asn1Node[]).filter((n) => !(n instanceof asn1js.EndOfContent)) : [];
}

/** The elements of a SEQUENCE, checked to number between `min` and `max`. */
export function sequence(node: Asn1Node | undefined, what: string, min = 0, max = Infinity): Asn1Node[] {
  if (node === undefined || !isTag(node, UNIVERSAL, TAG_SEQUENCE) || !node.idBlock.isConstructed) {
    throw malformed(what, 'expected a SEQUENCE');
  }
  const items = childrenOf(node);
  if (items.length < min || items.length > max) throw malformed(what, `has ${items.length} elements`);
  return items;
}

/** The elements of a SET. */
export function set(node: Asn1Node | undefined, what: string): Asn1Node[] {
  if (node === undefined || !isTag(node, UNIVERSAL, TAG_SET) || !node.idBlock.isConstructed) throw malformed(what, 'expected a SET');
  return childrenOf(node);
}

/** Dotted text of an OBJECT IDENTIFIER. */
export function oid(node: Asn1Node | undefined, what: string): string {
  if (!(node instanceof asn1js.ObjectIdentifier) || !isTag(node, UNIVERSAL, TAG_OID)) throw malformed(what, 'expected an OBJECT IDENTIFIER');
  const text = node.getValue();
  if (text === '') throw malformed(what, 'is not a valid OBJECT IDENTIFIER');
  return text;
}

/** A small non-negative INTEGER in `[min, max]`. */
export function integer(node: Asn1Node | undefined, what: string, min: number, max: number): number {
  if (!(node instanceof asn1js.Integer) || !isTag(node, UNIVERSAL, TAG_INTEGER)) throw malformed(what, 'expected an INTEGER');
  const value = node.toBigInt();
  if (value < BigInt(min) || value > BigInt(max)) throw malformed(what, `${value} is outside ${min}..${max}`);
  return Number(value);
}

/** The contents of an OCTET STRING, primitive or constructed (BER segments joined). */
export function octets(node: Asn1Node | undefined, what: string): Uint8Array {
  if (node === undefined || !isTag(node, UNIVERSAL, TAG_OCTET_STRING)) throw malformed(what, 'expected an OCTET STRING');
  return joinedContents(node, what);
}

/** True for the context-specific tag `[tag]`. */
export function isContext(node: Asn1Node | undefined, tag: number): boolean {
  return isTag(node, CONTEXT, tag);
}

/** The one element inside `[tag] EXPLICIT`. */
export function explicit(node: Asn1Node | undefined, tag: number, what: string): Asn1Node {
  if (!isContext(node, tag) || !(node as Asn1Node).idBlock.isConstructed) throw malformed(what, `expected [${tag}] EXPLICIT`);
  const items = childrenOf(node as Asn1Node);
  if (items.length !== 1) throw malformed(what, `[${tag}] holds ${items.length} elements, not 1`);
  return items[0] as Asn1Node;
}

/** The contents of `[tag] IMPLICIT OCTET STRING`, primitive or constructed. */
export function implicitOctets(node: Asn1Node | undefined, tag: number, what: string): Uint8Array {
  if (!isContext(node, tag)) throw malformed(what, `expected [${tag}] IMPLICIT OCTET STRING`);
  return joinedContents(node as Asn1Node, what);
}

function joinedContents(node: Asn1Node, what: string, depth = 0): Uint8Array {
  if (!node.idBlock.isConstructed) {
    return Uint8Array.from((node.valueBlock as { valueHexView?: Uint8Array }).valueHexView ?? []);
  }
  if (depth > 4) throw malformed(what, 'OCTET STRING segments nest too deep');
  const parts = childrenOf(node).map((child) => {
    if (!isTag(child, UNIVERSAL, TAG_OCTET_STRING)) throw malformed(what, 'a segment is not an OCTET STRING');
    return joinedContents(child, what, depth + 1);
  });
  return Uint8Array.from(Buffer.concat(parts));
}

/** A BMPString (UTF-16BE) as text. */
export function bmpString(node: Asn1Node | undefined, what: string): string {
  if (!(node instanceof asn1js.BmpString) || !isTag(node, UNIVERSAL, TAG_BMP_STRING)) throw malformed(what, 'expected a BMPString');
  return node.valueBlock.value;
}

/** The encoding of `node` exactly as it was read. */
export function encodingOf(node: Asn1Node): Uint8Array {
  return Uint8Array.from(node.valueBeforeDecodeView);
}

/** X.509 `AlgorithmIdentifier`: the OID and the parameters (absent or NULL → undefined). */
export interface AlgorithmIdentifier {
  readonly oid: string;
  readonly parameters: Asn1Node | undefined;
}

export function algorithmIdentifier(node: Asn1Node | undefined, what: string): AlgorithmIdentifier {
  const [id, parameters] = sequence(node, what, 1, 2);
  return {
    oid: oid(id, `${what} algorithm`),
    parameters: parameters === undefined || isTag(parameters, UNIVERSAL, TAG_NULL) ? undefined : parameters,
  };
}
