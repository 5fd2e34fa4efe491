import { scanIni, splitIniLines } from '@sknock/protocol/ini';

/**
 * Writing one section of the profile file as text, keeping everything else as it was: other
 * sections, comments, blank lines, the line ending. A new section goes at the end after a
 * blank line; replacing one swaps its `key = value` lines for the new ones (right under the
 * header) and keeps the comments inside it.
 */

export interface SetSectionResult {
  readonly text: string;
  /** Line of the existing header, when the section was there already. */
  readonly existingLine: number | undefined;
}

/** `entries` as `key = value` lines of section `[name]`; with `replace: false` an existing section is left alone (see `existingLine`). */
export function setSection(text: string, name: string, entries: readonly (readonly [string, string])[], replace: boolean): SetSectionResult {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = splitIniLines(text);
  const scanned = scanIni(text);
  const body = entries.map(([k, v]) => `${k} = ${v}`);
  const header = scanned.find((l) => l.kind === 'section' && l.name.toLowerCase() === name.toLowerCase());
  if (header !== undefined) {
    if (!replace) return { text, existingLine: header.line };
    const start = header.line; // index of the line after the header
    const nextHeader = scanned.find((l) => l.kind === 'section' && l.line > header.line);
    const end = nextHeader === undefined ? lines.length : nextHeader.line - 1;
    const kept = lines.slice(start, end).filter((_, i) => scanned[start + i]?.kind !== 'entry');
    const out = [...lines.slice(0, start), ...body, ...kept, ...lines.slice(end)];
    return { text: out.join(eol), existingLine: header.line };
  }
  const out = [...lines];
  while (out.length > 0 && out[out.length - 1]?.trim() === '') out.pop();
  if (out.length > 0) out.push('');
  out.push(`[${name}]`, ...body, '');
  return { text: out.join(eol), existingLine: undefined };
}
