import { encodePem } from '@sknock/protocol';
import { checkCa, type CertificateAuthority } from './authority.js';
import { CRL_NUMBER_MAX, DAY_MS, DEFAULT_CRL_VALIDITY_DAYS } from './constants.js';
import { encodeCrl, type CrlEntry } from './crl-encode.js';
import { invalidArgument } from './errors.js';
import { REVOCATION_REASONS, type RevocationReason } from './revocation-reason.js';
import { normalizeSerial } from './serial.js';
import { wholeSeconds } from './validity.js';

/**
 * Certificate revocation lists (RFC 5280 §5): v2, signed ECDSA-SHA256 by the CA, with a
 * cRLNumber and the CA's authority key identifier; one entry per revoked serial. The
 * arguments are checked here; crl-encode.ts writes the DER.
 */

export interface RevokedEntry {
  /** Serial, hex (colons and `0x` allowed). */
  readonly serial: string;
  /** When it was revoked. */
  readonly date: Date;
  readonly reason?: RevocationReason;
}

export interface CreateCrlOptions {
  readonly revoked: readonly RevokedEntry[];
  /** cRLNumber: grows with every CRL the CA issues (0 ≤ n < 2^159). */
  readonly crlNumber: number | bigint;
  /** Default now. */
  readonly thisUpdate?: Date;
  /** Default thisUpdate + 30 days. */
  readonly nextUpdate?: Date;
}

function checkCrlNumber(value: unknown): bigint {
  let n: bigint;
  if (typeof value === 'bigint') n = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value);
  else throw invalidArgument(`crlNumber must be a non-negative integer (number or bigint), got ${String(value)}`);
  if (n < 0n || n > CRL_NUMBER_MAX) throw invalidArgument('crlNumber must be from 0 to 2^159 − 1 (RFC 5280 §5.2.3)');
  return n;
}

function checkDate(value: unknown, argument: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw invalidArgument(`${argument} must be a valid Date`);
  return wholeSeconds(value);
}

/** A signed CRL, DER. */
export async function createCrl(ca: CertificateAuthority, options: CreateCrlOptions): Promise<Uint8Array> {
  checkCa(ca);
  if (options === null || typeof options !== 'object') throw invalidArgument('createCrl options must be an object');
  if (!Array.isArray(options.revoked)) throw invalidArgument('revoked must be an array of { serial, date, reason? }');
  const crlNumber = checkCrlNumber(options.crlNumber);
  const thisUpdate = options.thisUpdate === undefined ? wholeSeconds(new Date()) : checkDate(options.thisUpdate, 'thisUpdate');
  const nextUpdate =
    options.nextUpdate === undefined ? new Date(thisUpdate.getTime() + DEFAULT_CRL_VALIDITY_DAYS * DAY_MS) : checkDate(options.nextUpdate, 'nextUpdate');
  if (nextUpdate.getTime() <= thisUpdate.getTime()) throw invalidArgument('nextUpdate must be later than thisUpdate');
  const seen = new Set<string>();
  const entries = options.revoked.map((entry, i) => {
    if (entry === null || typeof entry !== 'object') throw invalidArgument(`revoked[${i}] must be { serial, date, reason? }`);
    const serial = normalizeSerial(entry.serial, `revoked[${i}].serial`);
    if (seen.has(serial)) throw invalidArgument(`revoked[${i}].serial ${serial} is listed twice`);
    seen.add(serial);
    const date = checkDate(entry.date, `revoked[${i}].date`);
    const reason = entry.reason as RevocationReason | undefined;
    if (reason !== undefined && !Object.hasOwn(REVOCATION_REASONS, reason)) {
      throw invalidArgument(`revoked[${i}].reason must be one of ${Object.keys(REVOCATION_REASONS).join(', ')}`);
    }
    const checked: CrlEntry = { serial, date, ...(reason === undefined ? {} : { reason: REVOCATION_REASONS[reason] }) };
    return checked;
  });
  return encodeCrl({ caCertificate: ca.certificate, authorityKeyId: ca.keyIdentifier, thisUpdate, nextUpdate, crlNumber, entries }, ca.privateKey);
}

/** PEM of a CRL with the `X509 CRL` label OpenSSL reads (it refuses `BEGIN CRL`). */
export function encodeCrlPem(der: Uint8Array): string {
  return encodePem('X509 CRL', der);
}
