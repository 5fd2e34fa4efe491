/**
 * PEM (RFC 7468): labelled base64 blocks. Text in, DER out, and back.
 */

export interface PemBlock {
  readonly label: string;
  readonly der: Uint8Array;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** Every PEM block in `text`, in order (text outside blocks is ignored, as RFC 7468 §2 allows). */
export function decodePem(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const body = (m[2] ?? '').replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) continue;
    out.push({ label: m[1] as string, der: new Uint8Array(Buffer.from(body, 'base64')) });
  }
  return out;
}

/** True when the bytes or text look like PEM rather than DER. */
export function looksLikePem(input: Uint8Array | string): boolean {
  const text = typeof input === 'string' ? input : Buffer.from(input.subarray(0, Math.min(input.length, 4096))).toString('latin1');
  return text.includes('-----BEGIN ');
}

/** One PEM block, 64 characters a line (RFC 7468 §2). */
export function encodePem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
