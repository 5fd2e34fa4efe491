import { COMMON_OPTIONS, DIR_HELP, type Command } from '../command.js';
import { dirOption, flag } from '../options.js';
import { openStore } from '../store.js';

export const listCommand: Command = {
  name: 'list',
  summary: 'list the certificates issued, with serials, grants, expiry and revocation',
  help: [
    'Usage: sknock-ca list [--json] [--dir DIR]',
    '',
    'Lists every certificate this CA issued: serial, kind, name, status (valid, expired,',
    'revoked, not-yet-valid), expiry, grants.',
    '',
    '  --json                 print a JSON array (fields as in index.json, plus status)',
    DIR_HELP,
  ].join('\n'),
  options: { ...COMMON_OPTIONS, json: { type: 'boolean' } },
  positionals: [0, 0],
  async run({ values, print, note }) {
    const store = await openStore(dirOption(values), 'list', note);
    const entries = store.list();
    if (flag(values, 'json')) {
      print(JSON.stringify(entries, null, 2));
      return;
    }
    if (entries.length === 0) {
      print(`No certificates issued yet by "${store.ca.name}".`);
      return;
    }
    const rows = entries.map((e) => [
      e.serial,
      e.kind,
      e.name,
      e.status + (e.revoked === undefined ? '' : ` ${e.revoked.date.slice(0, 10)}`),
      e.notAfter.slice(0, 10),
      (e.grants ?? []).join(' '),
    ]);
    const header = ['SERIAL', 'KIND', 'NAME', 'STATUS', 'EXPIRES', 'GRANTS'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
    for (const row of [header, ...rows]) print(row.map((cell, i) => cell.padEnd(widths[i] as number)).join('  ').trimEnd());
  },
};
