import { encodePem } from '@sknock/protocol';
import { checkCa, ECDSA_SHA256, type CertificateAuthority } from './authority.js';
import { issuerName } from './issuer-name.js';
import { CRL_NUMBER_MAX, DAY_MS, DEFAULT_CRL_VALIDITY_DAYS, OID_CRL_NUMBER } from './constants.js';
import { SknockCaError, invalidArgument } from './errors.js';
import { signingKeyFor } from './keys.js';
import { REVOCATION_REASONS, type RevocationReason } from './revocation-reason.js';
import { normalizeSerial, serialToEvenHex } from './serial.js';
import { wholeSeconds } from './validity.js';
import { x509 } from './x509.js';

/**
 * Certificate revocation lists (RFC 5280 §5): v2, signed ECDSA-SHA256 by the CA, with a
 * cRLNumber and the CA's authority key identifier; one entry per revoked serial.
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

/** DER INTEGER contents of a non-negative bigint (X.690 §8.3: minimal, two's complement). */
function integerContents(n: bigint): Buffer {
  let hex = n.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  const bytes = Buffer.from(hex, 'hex');
  return (bytes[0] as number) >= 0x80 ? Buffer.concat([Buffer.of(0), bytes]) : bytes;
}

function crlNumberExtension(n: bigint): x509.Extension {
  const contents = integerContents(n);
  return new x509.Extension(OID_CRL_NUMBER, false, Buffer.concat([Buffer.of(0x02, contents.length), contents]));
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
    return {
      serialNumber: serialToEvenHex(serial),
      revocationDate: date,
      ...(reason === undefined ? {} : { reason: REVOCATION_REASONS[reason] as number as x509.X509CrlReason }),
    };
  });
  try {
    const crl = await x509.X509CrlGenerator.create({
      issuer: issuerName(ca),
      thisUpdate,
      nextUpdate,
      signingKey: await signingKeyFor(ca.privateKey),
      signingAlgorithm: ECDSA_SHA256,
      entries,
      extensions: [
        new x509.AuthorityKeyIdentifierExtension(Buffer.from(ca.keyIdentifier).toString('hex')),
        crlNumberExtension(crlNumber),
      ],
    });
    return new Uint8Array(crl.rawData);
  } catch (cause) {
    throw new SknockCaError('ERR_SKNOCK_CA_INVALID_ARGUMENT', `could not make the CRL: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/** PEM of a CRL with the `X509 CRL` label OpenSSL reads (it refuses `BEGIN CRL`). */
export function encodeCrlPem(der: Uint8Array): string {
  return encodePem('X509 CRL', der);
}
