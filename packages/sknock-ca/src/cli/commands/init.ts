import { join } from 'node:path';
import { AFTER_2049_HELP, AFTER_2049_OPTIONS, CA_PASSPHRASE_OPTIONS, COMMON_OPTIONS, DIR_HELP, type Command } from '../command.js';
import { daysOption, dirOption, flag, requiredString } from '../options.js';
import { CA_PASSPHRASE_FLAGS, passphraseSource } from '../passphrase.js';
import { initStore } from '../store.js';
import { UsageError } from '@sknock/protocol/cli';

export const initCommand: Command = {
  name: 'init',
  summary: 'make a new CA (key and self-signed certificate) in a folder',
  help: [
    'Usage: sknock-ca init --name NAME [--dir DIR] [--days N]',
    '                     [--ca-passphrase-file FILE | --ca-passphrase-env VAR | --no-passphrase]',
    '',
    'Makes a CA: an EC P-256 key (ca.key, mode 0600) and a self-signed CA certificate',
    '(ca.pem, ca.der) in DIR, created with mode 0700. Refuses if DIR holds a CA already.',
    'ca.key is encrypted with a passphrase (PKCS#8, PBES2: scrypt and AES-256-CBC, which',
    '`openssl pkey -in ca.key` reads); every command that signs asks for it again.',
    '',
    '  --name NAME            the CA\'s common name, e.g. "Example Knock CA"',
    DIR_HELP,
    '  --days N               validity of the CA certificate (default 3650)',
    '  --ca-passphrase-file FILE',
    '                         the new CA key\'s passphrase is the first line of FILE',
    '  --ca-passphrase-env VAR',
    '                         the new CA key\'s passphrase is in the environment variable VAR',
    '                         (without either, it is asked for twice on the terminal)',
    '  --no-passphrase        store ca.key unencrypted: for test and demo CAs only',
    AFTER_2049_HELP,
  ].join('\n'),
  options: { ...COMMON_OPTIONS, ...CA_PASSPHRASE_OPTIONS, ...AFTER_2049_OPTIONS, name: { type: 'string' }, days: { type: 'string' }, 'no-passphrase': { type: 'boolean' } },
  positionals: [0, 0],
  async run({ values, io, print, note }) {
    const name = requiredString(values, 'name', 'init', '"Example Knock CA"');
    const days = daysOption(values, 'init');
    const dir = dirOption(values);
    const plain = flag(values, 'no-passphrase');
    if (plain && [CA_PASSPHRASE_FLAGS.file, CA_PASSPHRASE_FLAGS.env].some((f) => values[f] !== undefined)) {
      throw new UsageError('give --no-passphrase or a CA passphrase (--ca-passphrase-file, --ca-passphrase-env), not both', 'init');
    }
    const source = plain
      ? undefined
      : passphraseSource(
          values,
          { flags: CA_PASSPHRASE_FLAGS, command: 'init', what: 'the new CA key', confirm: true, required: true, otherwise: ', or --no-passphrase for a test or demo CA' },
          io,
        );
    const passphrase = source === undefined ? null : await source.read(`Passphrase for the new CA key ${join(dir, 'ca.key')}: `);
    const store = await initStore(dir, { name, validityDays: days, passphrase });
    const { after2049Warnings } = await import('../../after-2049.js');
    for (const w of after2049Warnings(store.ca, 'the CA certificate', { allowAfter2049: flag(values, 'allow-after-2049') })) {
      note(`sknock-ca init: warning: ${w.message}`);
    }
    print(`Made the CA "${store.ca.name}" in ${store.dir}`);
    print(`  serial      ${store.ca.serial}`);
    print(`  valid until ${store.ca.notAfter.toISOString()}`);
    print(
      `  key         ${store.dir}/ca.key ` +
        (passphrase === null ? '(NOT encrypted: --no-passphrase, for tests and demos only)' : '(encrypted with the passphrase; keep both secret)'),
    );
    print(`  certificate ${store.dir}/ca.pem, ${store.dir}/ca.der (give it to servers)`);
  },
};
