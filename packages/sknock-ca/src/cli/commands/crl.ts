import { CA_PASSPHRASE_HELP, CA_PASSPHRASE_OPTIONS, COMMON_OPTIONS, DIR_HELP, type Command } from '../command.js';
import { daysOption, dirOption } from '../options.js';
import { caPassphraseSource, openSigningStore } from '../store.js';

export const crlCommand: Command = {
  name: 'crl',
  summary: 'sign a new CRL of every revoked certificate (crl.der, crl.pem)',
  help: [
    'Usage: sknock-ca crl [--days N] [--ca-passphrase-file FILE | --ca-passphrase-env VAR] [--dir DIR]',
    '',
    'Signs a CRL listing every revoked certificate, with the next CRL number, and writes',
    'crl.der and crl.pem (PEM label X509 CRL) in the CA folder. Give one to the servers.',
    '',
    '  --days N               until the next update (nextUpdate; default 30)',
    CA_PASSPHRASE_HELP,
    DIR_HELP,
  ].join('\n'),
  options: { ...COMMON_OPTIONS, ...CA_PASSPHRASE_OPTIONS, days: { type: 'string' } },
  positionals: [0, 0],
  async run(context) {
    const { values, print } = context;
    const days = daysOption(values, 'crl');
    const store = await openSigningStore(dirOption(values), 'crl', caPassphraseSource(context, 'crl'), context);
    const crl = await store.createCrl(days === undefined ? {} : { days });
    print(`Signed CRL number ${crl.crlNumber} listing ${crl.revokedCount} revoked certificate${crl.revokedCount === 1 ? '' : 's'}`);
    print(`  thisUpdate  ${crl.thisUpdate.toISOString()}`);
    print(`  nextUpdate  ${crl.nextUpdate.toISOString()}`);
    print(`  files       ${crl.paths.der}, ${crl.paths.pem}`);
  },
};
