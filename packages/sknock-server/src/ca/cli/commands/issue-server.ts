import { COMMON_OPTIONS, DIR_HELP, PASSPHRASE_HELP, PASSPHRASE_OPTIONS, type Command } from '../command.js';
import { daysOption, dirOption, flag, requiredString } from '../options.js';
import { passphraseSource } from '../passphrase.js';
import { openStore } from '../store.js';

export const issueServerCommand: Command = {
  name: 'issue-server',
  summary: 'issue a server certificate and key (PKCS#12), and the certificate alone for clients',
  help: [
    'Usage: sknock-ca issue-server --name HOST [--days N] [--legacy] [--force]',
    '                             [--passphrase-file FILE | --passphrase-env VAR] [--dir DIR]',
    '',
    'Issues a server certificate with a new EC P-256 key and writes',
    '  servers/HOST.pfx  key, certificate and CA certificate (PKCS#12, mode 0600), for the server',
    '  servers/HOST.cer  the certificate alone, DER, for clients (and servers/HOST.pem, PEM)',
    '',
    '  --name HOST            the server\'s name; a host name or IP address also goes into subjectAltName',
    '  --days N               validity (default 825)',
    '  --force                replace the files of an earlier certificate with this name',
    PASSPHRASE_HELP,
    DIR_HELP,
  ].join('\n'),
  options: { ...COMMON_OPTIONS, ...PASSPHRASE_OPTIONS, name: { type: 'string' }, days: { type: 'string' }, force: { type: 'boolean' } },
  positionals: [0, 0],
  async run({ values, io, print }) {
    const name = requiredString(values, 'name', 'issue-server', 'knock.example.org');
    const days = daysOption(values, 'issue-server');
    const askPassphrase = passphraseSource(values, 'issue-server', io);
    const store = await openStore(dirOption(values));
    const passphrase = await askPassphrase(`servers/${name}.pfx`);
    const { entry, paths } = await store.issueServer({
      name,
      validityDays: days,
      force: flag(values, 'force'),
      pkcs12: { passphrase, legacy: flag(values, 'legacy') },
    });
    print(`Issued the server certificate "${entry.name}"`);
    print(`  serial      ${entry.serial}`);
    print(`  valid until ${entry.notAfter}`);
    print(`  PKCS#12     ${paths.pfx} (${flag(values, 'legacy') ? 'legacy RC2/3DES' : 'PBES2 AES-256'}; for the server)`);
    print(`  certificate ${paths.cer} (DER), ${paths.pem} (PEM): for clients`);
  },
};
