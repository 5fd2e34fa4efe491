/**
 * The line grammar of sKnock's INI files, shared by the server's `config.ini` reader and the
 * client's profile file (`~/.config/sknock/config`). Each reader adds its own rules (which
 * sections exist, which keys, duplicates); this module only says what each line is:
 *
 * - blank, or a whole-line comment starting with `#` or `;` (after optional spaces);
 * - `[name]` a section header (name trimmed; a `#`/`;` comment may follow the `]`);
 * - `key = value` or `key: value`, split at the first `=` or `:`, key and value trimmed;
 * - a line starting with white space that is not blank (Python's ConfigParser reads it as a
 *   continuation of the previous value; sKnock files do not use continuations);
 * - anything else is invalid.
 *
 * There are no inline comments: a value runs to the end of its line, so `#` and `;` stay
 * usable in it. A leading byte-order mark is dropped; lines end at `\r\n`, `\n` or `\r`.
 */

export type IniLine =
  | { readonly kind: 'blank'; readonly line: number; readonly raw: string }
  | { readonly kind: 'comment'; readonly line: number; readonly raw: string }
  | { readonly kind: 'section'; readonly line: number; readonly raw: string; readonly name: string }
  | { readonly kind: 'entry'; readonly line: number; readonly raw: string; readonly key: string; readonly value: string }
  | { readonly kind: 'indented'; readonly line: number; readonly raw: string }
  | { readonly kind: 'invalid'; readonly line: number; readonly raw: string };

const SECTION = /^\[([^\]]*)\]\s*(?:[#;].*)?$/;
const ENTRY = /^([^:=\s][^:=]*?)\s*[:=]\s*(.*)$/;

/** The lines of `text` (1-based `line`), each classified; `raw` is the line as written. */
export function scanIni(text: string): IniLine[] {
  return splitIniLines(text).map((raw, index): IniLine => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '') return { kind: 'blank', line, raw };
    if (trimmed.startsWith('#') || trimmed.startsWith(';')) return { kind: 'comment', line, raw };
    if (/^\s/.test(raw)) return { kind: 'indented', line, raw };
    const section = SECTION.exec(trimmed);
    if (section) return { kind: 'section', line, raw, name: (section[1] ?? '').trim() };
    const entry = ENTRY.exec(trimmed);
    if (entry) return { kind: 'entry', line, raw, key: (entry[1] ?? '').trim(), value: (entry[2] ?? '').trim() };
    return { kind: 'invalid', line, raw };
  });
}

/** `text` split into lines as `scanIni` numbers them (BOM dropped). */
export function splitIniLines(text: string): string[] {
  return text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
}
