import {
  AFTER_2049_HELP,
  AFTER_2049_OPTIONS,
  CA_PASSPHRASE_HELP,
  CA_PASSPHRASE_OPTIONS,
  COMMON_OPTIONS,
  DIR_HELP,
  PASSPHRASE_HELP,
  PASSPHRASE_OPTIONS,
  type Command,
} from '../command.js';
import { daysOption, dirOption, flag, requiredString } from '../options.js';
import { PKCS12_PASSPHRASE_FLAGS, passphraseSource } from '../passphrase.js';
import { caPassphraseSource, openSigningStore } from '../store.js';

export const issueServerCommand: Command = {
  name: 'issue-server',
  summary: 'issue a server certificate and key (PKCS#12), and the certificate alone for clients',
  help: [
    'Usage: sknock-ca issue-server --name HOST [--days N] [--legacy] [--force] [--allow-after-2049]',
    '                             [--passphrase-file FILE | --passphrase-env VAR]',
    '                             [--ca-passphrase-file FILE | --ca-passphrase-env VAR] [--dir DIR]',
    '',
    'Issues a server certificate with a new EC P-256 key and writes',
    '  servers/HOST.pfx  key, certificate and CA certificate (PKCS#12, mode 0600), for the server',
    '  servers/HOST.cer  the certificate alone, DER, for clients (and servers/HOST.pem, PEM)',
    '',
    '  --name HOST            the server\'s name; a host name or IP address also goes into subjectAltName',
    '  --days N               validity (default 825)',
    '  --force                replace the files of an earlier certificate with this name',
    AFTER_2049_HELP,
    PASSPHRASE_HELP,
    CA_PASSPHRASE_HELP,
    DIR_HELP,
  ].join('\n'),
  options: {
    ...COMMON_OPTIONS,
    ...PASSPHRASE_OPTIONS,
    ...CA_PASSPHRASE_OPTIONS,
    ...AFTER_2049_OPTIONS,
    name: { type: 'string' },
    days: { type: 'string' },
    force: { type: 'boolean' },
  },
  positionals: [0, 0],
  async run(context) {
    const { values, io, print, note } = context;
    const name = requiredString(values, 'name', 'issue-server', 'knock.example.org');
    const days = daysOption(values, 'issue-server');
    const pkcs12 = passphraseSource(values, { flags: PKCS12_PASSPHRASE_FLAGS, command: 'issue-server', what: 'the PKCS#12 file', confirm: true, required: true }, io);
    const store = await openSigningStore(dirOption(values), 'issue-server', caPassphraseSource(context, 'issue-server'), context);
    const passphrase = await pkcs12.read(`Passphrase for servers/${name}.pfx: `);
    const { entry, paths, warnings } = await store.issueServer({
      name,
      validityDays: days,
      force: flag(values, 'force'),
      allowAfter2049: flag(values, 'allow-after-2049'),
      pkcs12: { passphrase, legacy: flag(values, 'legacy') },
    });
    for (const w of warnings) note(`sknock-ca issue-server: warning: ${w.message}`);
    print(`Issued the server certificate "${entry.name}"`);
    print(`  serial      ${entry.serial}`);
    print(`  valid until ${entry.notAfter}`);
    print(`  PKCS#12     ${paths.pfx} (${flag(values, 'legacy') ? 'legacy RC2/3DES' : 'PBES2 AES-256'}; for the server)`);
    print(`  certificate ${paths.cer} (DER), ${paths.pem} (PEM): for clients`);
  },
};
