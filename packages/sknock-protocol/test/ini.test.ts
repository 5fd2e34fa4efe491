import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { scanIni, splitIniLines } from '@sknock/protocol/ini';

/** The INI line grammar shared by the server's config.ini and the client's profile file. */

test('every kind of line', () => {
  const text = '\uFEFF# comment\r\n; also\n\n[DEFAULT] # trailing\nkey = value = more\nother:  spaced  \n  indented = x\n[ sp ace ]\nnot a line\r=no key\n';
  assert.deepEqual(
    scanIni(text).map((l) => ({ ...l, raw: undefined })),
    [
      { kind: 'comment', line: 1, raw: undefined },
      { kind: 'comment', line: 2, raw: undefined },
      { kind: 'blank', line: 3, raw: undefined },
      { kind: 'section', line: 4, raw: undefined, name: 'DEFAULT' },
      { kind: 'entry', line: 5, raw: undefined, key: 'key', value: 'value = more' },
      { kind: 'entry', line: 6, raw: undefined, key: 'other', value: 'spaced' },
      { kind: 'indented', line: 7, raw: undefined },
      { kind: 'section', line: 8, raw: undefined, name: 'sp ace' },
      { kind: 'invalid', line: 9, raw: undefined },
      { kind: 'invalid', line: 10, raw: undefined },
      { kind: 'blank', line: 11, raw: undefined },
    ],
  );
  assert.equal(scanIni('a = #not a comment; kept')[0]?.kind === 'entry' && (scanIni('a = #not a comment; kept')[0] as { value: string }).value, '#not a comment; kept');
});

test('lines are numbered as split, raw text kept; any text scans without throwing', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 400 }), (text) => {
      const lines = scanIni(text);
      assert.deepEqual(lines.map((l) => l.raw), splitIniLines(text));
      lines.forEach((l, i) => assert.equal(l.line, i + 1));
    }),
    { numRuns: 500 },
  );
});
