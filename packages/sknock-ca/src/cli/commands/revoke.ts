import { readFile, stat } from 'node:fs/promises';
import { parseRevocationReason, REVOCATION_REASONS } from '../../revocation-reason.js';
import { isSknockCaError, SknockCaError } from '../../errors.js';
import { COMMON_OPTIONS, DIR_HELP, type Command } from '../command.js';
import { dirOption, stringOption } from '../options.js';
import { openStore } from '../store.js';
import { UsageError } from '@sknock/protocol/cli';

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

export const revokeCommand: Command = {
  name: 'revoke',
  summary: 'revoke a certificate (by serial or certificate file); then run `sknock-ca crl`',
  help: [
    'Usage: sknock-ca revoke SERIAL|CERTIFICATE-FILE [--reason REASON] [--dir DIR]',
    '',
    'Marks a certificate this CA issued as revoked. It is on every CRL made from then on:',
    'run `sknock-ca crl` and give crl.pem (or crl.der) to the servers.',
    '',
    '  SERIAL                 the serial in hex, as `sknock-ca list` or openssl prints it',
    '  CERTIFICATE-FILE       or the certificate itself, PEM or DER',
    `  --reason REASON        one of ${Object.keys(REVOCATION_REASONS).join(', ')}`,
    DIR_HELP,
  ].join('\n'),
  options: { ...COMMON_OPTIONS, reason: { type: 'string' } },
  positionals: [1, 1],
  async run({ values, positionals, print, note }) {
    const target = positionals[0] as string;
    const reasonText = stringOption(values, 'reason');
    let reason;
    try {
      reason = reasonText === undefined ? undefined : parseRevocationReason(reasonText);
    } catch (err) {
      if (isSknockCaError(err)) throw new UsageError(err.message, 'revoke');
      throw err;
    }
    const store = await openStore(dirOption(values), 'revoke', note);
    const { normalizeSerial } = await import('../../serial.js');
    let serial: string;
    if (await isFile(target)) {
      let bytes: Buffer;
      try {
        bytes = await readFile(target);
      } catch (cause) {
        throw new SknockCaError('ERR_SKNOCK_CA_IO', `could not read ${target}: ${(cause as NodeJS.ErrnoException).code ?? cause}`, { cause });
      }
      serial = store.serialOfCertificate(bytes);
    } else {
      try {
        serial = normalizeSerial(target);
      } catch {
        throw new UsageError(`${JSON.stringify(target)} is neither a certificate file nor a hexadecimal serial`, 'revoke');
      }
    }
    const entry = await store.revoke(serial, reason === undefined ? {} : { reason });
    print(`Revoked ${entry.serial} (${entry.kind} "${entry.name}")${reason === undefined ? '' : `, reason ${reason}`}`);
    print('Run `sknock-ca crl` to publish a CRL that lists it.');
  },
};
