import { COMMON_OPTIONS, DIR_HELP, type Command } from '../command.js';
import { daysOption, dirOption, requiredString } from '../options.js';
import { initStore } from '../store.js';

export const initCommand: Command = {
  name: 'init',
  summary: 'make a new CA (key and self-signed certificate) in a folder',
  help: [
    'Usage: sknock-ca init --name NAME [--dir DIR] [--days N]',
    '',
    'Makes a CA: an EC P-256 key (ca.key, mode 0600) and a self-signed CA certificate',
    '(ca.pem, ca.der) in DIR, created with mode 0700. Refuses if DIR holds a CA already.',
    '',
    '  --name NAME            the CA\'s common name, e.g. "Example Knock CA"',
    DIR_HELP,
    '  --days N               validity of the CA certificate (default 3650)',
  ].join('\n'),
  options: { ...COMMON_OPTIONS, name: { type: 'string' }, days: { type: 'string' } },
  positionals: [0, 0],
  async run({ values, print }) {
    const name = requiredString(values, 'name', 'init', '"Example Knock CA"');
    const days = daysOption(values, 'init');
    const store = await initStore(dirOption(values), { name, validityDays: days });
    print(`Made the CA "${store.ca.name}" in ${store.dir}`);
    print(`  serial      ${store.ca.serial}`);
    print(`  valid until ${store.ca.notAfter.toISOString()}`);
    print(`  key         ${store.dir}/ca.key (keep it secret)`);
    print(`  certificate ${store.dir}/ca.pem, ${store.dir}/ca.der (give it to servers)`);
  },
};
