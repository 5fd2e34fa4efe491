import { formatGrantSpec } from '../../grant-spec.js';
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
import { daysOption, dirOption, flag, grantOptions, requiredString } from '../options.js';
import { PKCS12_PASSPHRASE_FLAGS, passphraseSource } from '../passphrase.js';
import { caPassphraseSource, openSigningStore } from '../store.js';

export const issueClientCommand: Command = {
  name: 'issue-client',
  summary: 'issue a client certificate with port grants, and its key (PKCS#12)',
  help: [
    'Usage: sknock-ca issue-client --name NAME --grant PROTO/PORT [--grant ...] [--days N] [--legacy]',
    '                             [--compact] [--force] [--allow-after-2049] [--passphrase-file FILE | --passphrase-env VAR]',
    '                             [--ca-passphrase-file FILE | --ca-passphrase-env VAR] [--dir DIR]',
    '',
    'Issues a client certificate with a new EC P-256 key; the grants (the ports its holder may',
    'open) go into the certificate. Writes clients/NAME.pfx (key, certificate, CA; mode 0600)',
    'and clients/NAME.pem (the certificate), and prints the serial and the knock datagram size.',
    '',
    '  --name NAME            the client\'s common name, e.g. alice',
    '  --grant PROTO/PORT     a port the holder may open: tcp/22, udp/8000 (repeat for more)',
    '  --days N               validity (default 365)',
    '  --compact              do not pad the certificate; by default it is padded so that a knock',
    '                         is at least 758 bytes, which sKnock 1.0.0 servers need to see it',
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
    grant: { type: 'string', multiple: true },
    days: { type: 'string' },
    compact: { type: 'boolean' },
    force: { type: 'boolean' },
  },
  positionals: [0, 0],
  async run(context) {
    const { values, io, print, note } = context;
    const name = requiredString(values, 'name', 'issue-client', 'alice');
    const grants = grantOptions(values, 'issue-client');
    const days = daysOption(values, 'issue-client');
    const pkcs12 = passphraseSource(values, { flags: PKCS12_PASSPHRASE_FLAGS, command: 'issue-client', what: 'the PKCS#12 file', confirm: true, required: true }, io);
    const store = await openSigningStore(dirOption(values), 'issue-client', caPassphraseSource(context, 'issue-client'), context);
    const passphrase = await pkcs12.read(`Passphrase for clients/${name}.pfx: `);
    const { entry, paths, datagramLength, warnings } = await store.issueClient({
      name,
      grants,
      validityDays: days,
      force: flag(values, 'force'),
      allowAfter2049: flag(values, 'allow-after-2049'),
      ...(flag(values, 'compact') ? { minimumDatagramLength: 0 } : {}),
      pkcs12: { passphrase, legacy: flag(values, 'legacy') },
    });
    for (const w of warnings) note(`sknock-ca issue-client: warning: ${w.message}`);
    print(`Issued the client certificate "${entry.name}"`);
    print(`  serial        ${entry.serial}`);
    print(`  grants        ${grants.map(formatGrantSpec).join(' ')}`);
    print(`  valid until   ${entry.notAfter}`);
    print(`  knock size    ${datagramLength} bytes (limit 1232)`);
    print(`  PKCS#12       ${paths.pfx} (${flag(values, 'legacy') ? 'legacy RC2/3DES' : 'PBES2 AES-256'})`);
    print(`  certificate   ${paths.pem}`);
  },
};
