/**
 * `@sknock/protocol/der`: the one bounds-checked DER reader and writer (ITU-T X.690) the
 * sKnock packages share, with every tag once.
 */
export { DerReader } from './der-reader.js';
export type { DerFailure, DerFailureSpec, Tlv } from './der-reader.js';
export { TAG } from './tags.js';
export {
  decodeBoolean,
  decodeOid,
  decodeString,
  decodeTime,
  decodeUnsigned,
  decodeWholeBitString,
  isTimeTag,
  readOid,
  readSmallInteger,
  readTime,
} from './der-values.js';
export {
  encodeBitString,
  encodeBmpString,
  encodeBoolean,
  encodeExplicit,
  encodeLength,
  encodeNull,
  encodeOctetString,
  encodeOid,
  encodeOidContents,
  encodeSequence,
  encodeSetOf,
  encodeTime,
  encodeTlv,
  encodeUnsignedInteger,
  encodeUtf8String,
} from './der-writer.js';
