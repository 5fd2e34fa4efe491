import { DerReader, type Tlv } from '../der/der-reader.js';
import { decodeOid, decodeUnsigned } from '../der/der-values.js';
import { TAG } from '../der/tags.js';
import { SknockProtocolError, type SknockProtocolErrorCode } from '../errors/protocol-error.js';
import { ASN1_MAX_NODES } from './constants.js';

/**
 * Typed, checked access to the BER of a PKCS#12 file (X.690), through the package's one DER
 * reader in `ber` mode: PKCS#12 files are BER, not always DER (indefinite lengths and
 * constructed OCTET STRINGs occur in files from other tools). A node is one element; its
 * children are read when asked for, at most `ASN1_MAX_NODES` per file. Every accessor
 * throws a `SknockProtocolError` naming the field it expected, never a raw exception.
 */

/** Shared by the nodes of one parsed structure: how many more may be read. */
interface Budget {
  left: number;
  readonly code: SknockProtocolErrorCode;
  readonly what: string;
}

export interface Asn1Node {
  /** The identifier octet. */
  readonly tag: number;
  readonly constructed: boolean;
  /** Content octets (for an indefinite length, without the end-of-contents octets). */
  readonly content: Uint8Array;
  /** The element exactly as it was read. */
  readonly encoding: Uint8Array;
  readonly reader: DerReader;
  readonly tlv: Tlv;
  readonly budget: Budget;
}

/** Structure errors carry this code unless the caller chose another. */
const DEFAULT_CODE: SknockProtocolErrorCode = 'ERR_SKNOCK_MALFORMED_PKCS12';
const CONSTRUCTED = 0x20;
const CONTEXT_CLASS = 0x80;
/** Deepest nesting of constructed OCTET STRING segments joined. */
const MAX_SEGMENT_DEPTH = 4;

export function malformed(what: string, detail: string, code: SknockProtocolErrorCode = DEFAULT_CODE): SknockProtocolError {
  return new SknockProtocolError(code, `${what}: ${detail}`);
}

function nodeOf(reader: DerReader, tlv: Tlv, budget: Budget): Asn1Node {
  if (--budget.left < 0) throw malformed(budget.what, `has more than ${ASN1_MAX_NODES} elements`, budget.code);
  return {
    tag: tlv.tag,
    constructed: (tlv.tag & CONSTRUCTED) !== 0,
    content: reader.contentOf(tlv),
    encoding: reader.encodingOf(tlv),
    reader,
    tlv,
    budget,
  };
}

/** Parses exactly one BER element filling all of `bytes`. */
export function parseBer(bytes: Uint8Array, what: string, code: SknockProtocolErrorCode = DEFAULT_CODE): Asn1Node {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw malformed(what, 'is empty', code);
  const fail = (message: string): SknockProtocolError => malformed(what, `is not BER (${message})`, code);
  const reader = new DerReader(bytes, fail, 0, bytes.length, 'ber');
  const tlv = reader.next(undefined, what);
  if (!reader.atEnd) throw malformed(what, `has ${bytes.length - tlv.end} bytes after its end`, code);
  return nodeOf(reader, tlv, { left: ASN1_MAX_NODES, code, what });
}

function childrenOf(node: Asn1Node): Asn1Node[] {
  if (!node.constructed) return [];
  const inner = node.reader.inside(node.tlv);
  const out: Asn1Node[] = [];
  while (!inner.atEnd) out.push(nodeOf(inner, inner.next(undefined, 'element'), node.budget));
  return out;
}

/** The elements of a SEQUENCE, checked to number between `min` and `max`. */
export function sequence(node: Asn1Node | undefined, what: string, min = 0, max = Infinity): Asn1Node[] {
  if (node === undefined || node.tag !== TAG.SEQUENCE) throw malformed(what, 'expected a SEQUENCE');
  const items = childrenOf(node);
  if (items.length < min || items.length > max) throw malformed(what, `has ${items.length} elements`);
  return items;
}

/** The elements of a SET. */
export function set(node: Asn1Node | undefined, what: string): Asn1Node[] {
  if (node === undefined || node.tag !== TAG.SET) throw malformed(what, 'expected a SET');
  return childrenOf(node);
}

/** True when `node` is a SEQUENCE. */
export function isSequence(node: Asn1Node | undefined): boolean {
  return node?.tag === TAG.SEQUENCE;
}

/** True when `node` is an INTEGER. */
export function isInteger(node: Asn1Node | undefined): boolean {
  return node?.tag === TAG.INTEGER;
}

/** Dotted text of an OBJECT IDENTIFIER. */
export function oid(node: Asn1Node | undefined, what: string): string {
  if (node === undefined || node.tag !== TAG.OID) throw malformed(what, 'expected an OBJECT IDENTIFIER');
  const fail = (): SknockProtocolError => malformed(what, 'is not a valid OBJECT IDENTIFIER');
  return decodeOid(new DerReader(node.content, fail), node.content, what);
}

/** A small non-negative INTEGER in `[min, max]`. */
export function integer(node: Asn1Node | undefined, what: string, min: number, max: number): number {
  if (node === undefined || node.tag !== TAG.INTEGER) throw malformed(what, 'expected an INTEGER');
  const fail = (message: string): SknockProtocolError => malformed(what, message);
  const value = decodeUnsigned(new DerReader(node.content, fail), node.content, what);
  if (value < BigInt(min) || value > BigInt(max)) throw malformed(what, `${value} is outside ${min}..${max}`);
  return Number(value);
}

/** The contents of an OCTET STRING, primitive or constructed (BER segments joined). */
export function octets(node: Asn1Node | undefined, what: string): Uint8Array {
  if (node === undefined || (node.tag & ~CONSTRUCTED) !== TAG.OCTET_STRING) throw malformed(what, 'expected an OCTET STRING');
  return joinedContents(node, what);
}

/** True for the context-specific tag `[tag]`, primitive or constructed. */
export function isContext(node: Asn1Node | undefined, tag: number): boolean {
  return node !== undefined && (node.tag & ~CONSTRUCTED) === (CONTEXT_CLASS | tag);
}

/** The one element inside `[tag] EXPLICIT`. */
export function explicit(node: Asn1Node | undefined, tag: number, what: string): Asn1Node {
  if (!isContext(node, tag) || !(node as Asn1Node).constructed) throw malformed(what, `expected [${tag}] EXPLICIT`);
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
  if (!node.constructed) return Uint8Array.from(node.content);
  if (depth > MAX_SEGMENT_DEPTH) throw malformed(what, 'OCTET STRING segments nest too deep');
  const parts = childrenOf(node).map((child) => {
    if ((child.tag & ~CONSTRUCTED) !== TAG.OCTET_STRING) throw malformed(what, 'a segment is not an OCTET STRING');
    return joinedContents(child, what, depth + 1);
  });
  return Uint8Array.from(Buffer.concat(parts));
}

/** A BMPString (UTF-16BE) as text. */
export function bmpString(node: Asn1Node | undefined, what: string): string {
  if (node === undefined || node.tag !== TAG.BMP_STRING) throw malformed(what, 'expected a BMPString');
  if (node.content.length % 2 !== 0) throw malformed(what, 'BMPString of an odd number of bytes');
  return Buffer.from(node.content).swap16().toString('utf16le');
}

/** The encoding of `node` exactly as it was read. */
export function encodingOf(node: Asn1Node): Uint8Array {
  return Uint8Array.from(node.encoding);
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
    parameters: parameters === undefined || parameters.tag === TAG.NULL ? undefined : parameters,
  };
}
