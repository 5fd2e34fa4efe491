import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { SknockCaError } from '../../errors.js';
import { formatGrantSpec } from '../../grant-spec.js';
import { PUBLIC_FILE_MODE, writeFileAtomic } from '../../store-files.js';
import { AFTER_2049_HELP, AFTER_2049_OPTIONS, CA_PASSPHRASE_HELP, CA_PASSPHRASE_OPTIONS, COMMON_OPTIONS, DIR_HELP, type Command } from '../command.js';
import { daysOption, dirOption, flag, grantOptions, stringOption } from '../options.js';
import { caPassphraseSource, openSigningStore } from '../store.js';

export const signCsrCommand: Command = {
  name: 'sign-csr',
  summary: 'sign a certificate request (PKCS#10, P-256) as a client certificate with grants',
  help: [
    'Usage: sknock-ca sign-csr REQUEST --grant PROTO/PORT [--grant ...] [--out FILE] [--name NAME]',
    '                         [--days N] [--compact] [--allow-after-2049]',
    '                         [--ca-passphrase-file FILE | --ca-passphrase-env VAR] [--dir DIR]',
    '',
    'Checks the request\'s signature and key (EC P-256 only) and issues a client certificate',
    'for its key with the given grants. The key never leaves its holder.',
    '',
    '  REQUEST                the request, PEM (CERTIFICATE REQUEST) or DER',
    '  --grant PROTO/PORT     a port the holder may open: tcp/22, udp/8000 (repeat for more)',
    '  --out FILE             write the certificate to FILE: DER if FILE ends in .der or .cer,',
    '                         PEM otherwise (default: PEM on standard output)',
    '  --name NAME            certify CN=NAME instead of the request\'s subject',
    '  --days N               validity (default 365)',
    '  --compact              do not pad the certificate (see issue-client --help)',
    AFTER_2049_HELP,
    CA_PASSPHRASE_HELP,
    DIR_HELP,
  ].join('\n'),
  options: {
    ...COMMON_OPTIONS,
    ...CA_PASSPHRASE_OPTIONS,
    ...AFTER_2049_OPTIONS,
    grant: { type: 'string', multiple: true },
    out: { type: 'string' },
    name: { type: 'string' },
    days: { type: 'string' },
    compact: { type: 'boolean' },
  },
  positionals: [1, 1],
  async run(context) {
    const { values, positionals, print, note } = context;
    const requestPath = positionals[0] as string;
    const grants = grantOptions(values, 'sign-csr');
    const days = daysOption(values, 'sign-csr');
    const name = stringOption(values, 'name');
    const out = stringOption(values, 'out');
    const store = await openSigningStore(dirOption(values), 'sign-csr', caPassphraseSource(context, 'sign-csr'), context);
    let request: Buffer;
    try {
      request = await readFile(requestPath);
    } catch (cause) {
      throw new SknockCaError('ERR_SKNOCK_CA_IO', `could not read the request ${requestPath}: ${(cause as NodeJS.ErrnoException).code ?? cause}`, { cause });
    }
    const { entry, certificate, datagramLength, warnings } = await store.signCsr(request, {
      grants,
      allowAfter2049: flag(values, 'allow-after-2049'),
      ...(days === undefined ? {} : { validityDays: days }),
      ...(name === undefined ? {} : { name }),
      ...(flag(values, 'compact') ? { minimumDatagramLength: 0 } : {}),
    });
    const { encodePem } = await import('@sknock/protocol');
    const pem = encodePem('CERTIFICATE', certificate);
    for (const w of warnings) note(`sknock-ca sign-csr: warning: ${w.message}`);
    const report = [
      `Signed the request of "${entry.subject}"`,
      `  serial        ${entry.serial}`,
      `  grants        ${grants.map(formatGrantSpec).join(' ')}`,
      `  valid until   ${entry.notAfter}`,
      `  knock size    ${datagramLength} bytes (limit 1232)`,
    ];
    if (out === undefined) {
      print(pem.trimEnd());
      for (const line of report) note(line);
      return;
    }
    const der = /\.(der|cer)$/i.test(out);
    await writeFileAtomic(resolve(out), der ? certificate : pem, PUBLIC_FILE_MODE);
    for (const line of report) print(line);
    print(`  certificate   ${resolve(out)} (${der ? 'DER' : 'PEM'})`);
  },
};
