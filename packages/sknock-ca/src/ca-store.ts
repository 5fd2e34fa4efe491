import { X509Certificate } from 'node:crypto';
import { join, resolve } from 'node:path';
import { encodePem, readCertificate, type PortGrant } from '@sknock/protocol';
import { createCa, readCaCertificate, withKey, type CaCertificateInfo, type CertificateAuthority } from './authority.js';
import { describeSecretFile, inspectSecretFile } from '@sknock/protocol/secret-file';
import { encryptPrivateKey, isEncryptedPrivateKey } from './encrypted-key.js';
import { readPrivateKey } from './keys.js';
import { DAY_MS, DEFAULT_CRL_VALIDITY_DAYS } from './constants.js';
import { createCrl, encodeCrlPem } from './crl.js';
import type { RevocationReason } from './revocation-reason.js';
import { signCsr } from './csr.js';
import { SknockCaError, isSknockCaError, type SknockCaWarning } from './errors.js';
import { formatGrantSpec, parseGrantSpec } from './grant-spec.js';
import { issueClientCertificate, issueServerCertificate, type Pkcs12Request } from './issue.js';
import { normalizeSerial } from './serial.js';
import {
  PRIVATE_FILE_MODE,
  PUBLIC_FILE_MODE,
  createFileAtomic,
  lockFolder,
  makeFolder,
  readIfExists,
  writeFileAtomic,
} from './store-files.js';
import { checkDays, wholeSeconds } from './validity.js';

/**
 * A CA kept in a folder, for the `sknock-ca` command:
 *
 * | file                  | mode | what                                                        |
 * | --------------------- | ---- | ----------------------------------------------------------- |
 * | `ca.key`              | 0600 | CA private key, PKCS#8 PEM: encrypted (PBES2, scrypt, AES-256-CBC) unless made without a passphrase |
 * | `ca.pem`, `ca.der`    | 0644 | CA certificate                                              |
 * | `index.json`          | 0644 | every certificate issued: serial, kind, name, grants, dates, revocation |
 * | `crlnumber`           | 0644 | the number the next CRL gets, decimal                       |
 * | `crl.der`, `crl.pem`  | 0644 | the latest CRL (PEM label `X509 CRL`)                       |
 * | `certs/<serial>.pem`  | 0644 | every certificate issued                                    |
 * | `servers/<name>.pfx`  | 0600 | server key, certificate, CA certificate (PKCS#12)           |
 * | `servers/<name>.cer`, `.pem` | 0644 | the server certificate alone, for clients            |
 * | `clients/<name>.pfx`  | 0600 | client key, certificate, CA certificate (PKCS#12)           |
 * | `clients/<name>.pem`  | 0644 | the client certificate alone                                |
 *
 * The folder and its subfolders are made 0700. Every write is atomic; changes take the
 * folder's lock file.
 */

const INDEX_FORMAT = 'sknock-ca-index';
const INDEX_VERSION = 1;

/** One issued certificate, as `index.json` keeps it. Dates are ISO 8601 text. */
export interface StoreEntry {
  readonly serial: string;
  readonly kind: 'server' | 'client';
  /** The commonName (for a signed CSR: its subject's commonName, or the subject). */
  readonly name: string;
  readonly subject: string;
  /** `tcp/22`-style grants (client certificates). */
  readonly grants?: readonly string[];
  /** Knock datagram length (client certificates). */
  readonly datagramLength?: number;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly issuedAt: string;
  /** Files written for it, relative to the folder. */
  readonly files: readonly string[];
  readonly revoked?: { readonly date: string; readonly reason?: RevocationReason };
}

export type EntryStatus = 'valid' | 'expired' | 'revoked' | 'not-yet-valid';

export interface ListedEntry extends StoreEntry {
  readonly status: EntryStatus;
}

interface StoreIndex {
  readonly format: typeof INDEX_FORMAT;
  readonly version: typeof INDEX_VERSION;
  readonly certificates: StoreEntry[];
}

export interface InitStoreOptions {
  /** The CA's commonName. */
  readonly name: string;
  readonly validityDays?: number;
  /** Passphrase ca.key is encrypted with; `null` stores it unencrypted (test and demo CAs). */
  readonly passphrase: string | null;
}

/** The CA key's passphrase, read only when an encrypted ca.key must be opened. */
export interface KeyPassphrase {
  /** Where it comes from, for messages: `--ca-passphrase-file pw.txt`. */
  readonly origin: string;
  read(): Promise<string>;
}

export interface OpenStoreOptions {
  /** For an encrypted ca.key; without it, signing with such a key is `ERR_SKNOCK_CA_PASSPHRASE`. */
  readonly passphrase?: KeyPassphrase;
}

export interface StoreIssueOptions {
  readonly name: string;
  readonly validityDays?: number;
  /** Passphrase and form of the PKCS#12 file. */
  readonly pkcs12: Pkcs12Request;
  /** Replace the files of an earlier certificate with the same name. */
  readonly force?: boolean;
  /** Validity past 2049 is meant (see `issueServerCertificate`). */
  readonly allowAfter2049?: boolean;
}

export interface StoreIssueClientOptions extends StoreIssueOptions {
  readonly grants: readonly PortGrant[];
  readonly minimumDatagramLength?: number;
}

export interface StoreIssued {
  readonly entry: StoreEntry;
  /** Absolute paths of the files written, by role. */
  readonly paths: Readonly<Record<string, string>>;
  /** What the holder should know (certificates valid past 2049). */
  readonly warnings: readonly SknockCaWarning[];
}

export interface StoreCrl {
  readonly crlNumber: bigint;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  readonly revokedCount: number;
  readonly der: Uint8Array;
  readonly paths: { readonly der: string; readonly pem: string };
}

/** `alice smith` → `alice_smith`: a name as a file name, never a path. */
export function fileNameFor(name: string): string {
  const slug = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, (dots) => '_'.repeat(dots.length));
  return slug === '' ? '_' : slug;
}

function corrupt(path: string, what: string, cause?: unknown): SknockCaError {
  return new SknockCaError('ERR_SKNOCK_CA_CORRUPT_STORE', `${path}: ${what}`, cause === undefined ? undefined : { cause });
}

function statusOf(entry: StoreEntry, now: Date): EntryStatus {
  if (entry.revoked !== undefined) return 'revoked';
  if (Date.parse(entry.notAfter) < now.getTime()) return 'expired';
  if (Date.parse(entry.notBefore) > now.getTime()) return 'not-yet-valid';
  return 'valid';
}

export class CaStore {
  /** Absolute path of the folder. */
  readonly dir: string;
  /** The CA certificate's facts; the key is opened only to sign (`unlock`). */
  readonly ca: CaCertificateInfo;
  /** True when ca.key is encrypted. */
  readonly keyEncrypted: boolean;
  /** Sentences about ca.key being open to other users (mode, owner, folders), from `open`. */
  readonly keyFileWarnings: readonly string[];
  readonly #passphrase: KeyPassphrase | undefined;
  #authority: Promise<CertificateAuthority> | undefined;
  #index: StoreIndex;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(
    dir: string,
    ca: CaCertificateInfo,
    index: StoreIndex,
    key: { encrypted: boolean; warnings: readonly string[]; passphrase?: KeyPassphrase; authority?: CertificateAuthority },
  ) {
    this.dir = dir;
    this.ca = ca;
    this.#index = index;
    this.keyEncrypted = key.encrypted;
    this.keyFileWarnings = key.warnings;
    this.#passphrase = key.passphrase;
    if (key.authority !== undefined) this.#authority = Promise.resolve(key.authority);
  }

  /**
   * Makes a new CA in `dir` (created 0700): ca.key encrypted with `passphrase` (or not, for
   * `null`), ca.pem/ca.der. Refuses when the folder holds a CA already.
   */
  static async init(dir: string, options: InitStoreOptions): Promise<CaStore> {
    const root = resolve(dir);
    const keyPath = join(root, 'ca.key');
    const existing = await Promise.all(['ca.key', 'ca.pem', 'index.json'].map((f) => readIfExists(join(root, f)).catch(() => undefined)));
    if (existing.some((b) => b !== undefined)) {
      throw new SknockCaError('ERR_SKNOCK_CA_EXISTS', `${root} holds a CA already (ca.key, ca.pem or index.json is there); choose another --dir`);
    }
    if (options.passphrase !== null && (typeof options.passphrase !== 'string' || options.passphrase === '')) {
      throw new SknockCaError('ERR_SKNOCK_CA_INVALID_ARGUMENT', 'passphrase must be a non-empty string, or null for an unencrypted CA key');
    }
    const ca = await createCa({ name: options.name, validityDays: options.validityDays });
    await makeFolder(root);
    const keyPem =
      options.passphrase === null
        ? (ca.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string)
        : await encryptPrivateKey(ca.privateKey, options.passphrase);
    if (!(await createFileAtomic(keyPath, keyPem, PRIVATE_FILE_MODE))) {
      throw new SknockCaError('ERR_SKNOCK_CA_EXISTS', `${root} holds a CA already (ca.key appeared while this one was made)`);
    }
    const index: StoreIndex = { format: INDEX_FORMAT, version: INDEX_VERSION, certificates: [] };
    await writeFileAtomic(join(root, 'ca.pem'), encodePem('CERTIFICATE', ca.certificate), PUBLIC_FILE_MODE);
    await writeFileAtomic(join(root, 'ca.der'), ca.certificate, PUBLIC_FILE_MODE);
    await writeFileAtomic(join(root, 'crlnumber'), '1\n', PUBLIC_FILE_MODE);
    await writeFileAtomic(join(root, 'index.json'), `${JSON.stringify(index, null, 2)}\n`, PUBLIC_FILE_MODE);
    const { privateKey: _key, ...info } = ca;
    return new CaStore(root, info, index, { encrypted: options.passphrase !== null, warnings: [], authority: ca });
  }

  /**
   * Opens the CA in `dir`; `ERR_SKNOCK_CA_NOT_FOUND` when there is none. The key is read but
   * opened only when something is signed, with `options.passphrase` if it is encrypted;
   * listing and revoking need no passphrase.
   */
  static async open(dir: string, options: OpenStoreOptions = {}): Promise<CaStore> {
    const root = resolve(dir);
    const key = await readIfExists(join(root, 'ca.key'));
    const cert = await readIfExists(join(root, 'ca.pem'));
    if (key === undefined || cert === undefined) {
      const missing = key === undefined ? 'ca.key' : 'ca.pem';
      throw new SknockCaError(
        'ERR_SKNOCK_CA_NOT_FOUND',
        `no CA in ${root} (${missing} is missing); make one with: sknock-ca init --name "My Knock CA" --dir ${dir}`,
      );
    }
    const ca = readCaCertificate(cert.toString('utf8'));
    const finding = inspectSecretFile(join(root, 'ca.key'));
    return new CaStore(root, ca, await CaStore.#readIndex(root), {
      encrypted: isEncryptedPrivateKey(key),
      warnings: finding === undefined ? [] : [describeSecretFile('the CA key', finding)],
      ...(options.passphrase === undefined ? {} : { passphrase: options.passphrase }),
    });
  }

  /**
   * The CA with its key, for signing: ca.key read again and, if encrypted, opened with the
   * passphrase (asked for once). `ERR_SKNOCK_CA_PASSPHRASE` when it is encrypted and no
   * passphrase was given, `ERR_SKNOCK_CA_BAD_PASSPHRASE` (naming where the passphrase came
   * from) when it does not open the key.
   */
  unlock(): Promise<CertificateAuthority> {
    this.#authority ??= this.#openKey();
    return this.#authority;
  }

  async #openKey(): Promise<CertificateAuthority> {
    const path = join(this.dir, 'ca.key');
    const key = await readIfExists(path);
    if (key === undefined) throw new SknockCaError('ERR_SKNOCK_CA_NOT_FOUND', `${path} is missing`);
    let passphrase: string | undefined;
    if (isEncryptedPrivateKey(key)) {
      if (this.#passphrase === undefined) {
        throw new SknockCaError(
          'ERR_SKNOCK_CA_PASSPHRASE',
          `the CA key ${path} is encrypted: give its passphrase with --ca-passphrase-file FILE or --ca-passphrase-env VAR (or type it at the prompt)`,
        );
      }
      passphrase = await this.#passphrase.read();
    }
    try {
      return withKey(this.ca, readPrivateKey(key, `the CA key ${path}`, passphrase));
    } catch (err) {
      if (isSknockCaError(err, 'ERR_SKNOCK_CA_BAD_PASSPHRASE')) {
        throw new SknockCaError('ERR_SKNOCK_CA_BAD_PASSPHRASE', `the CA key ${path} does not open with the passphrase from ${this.#passphrase?.origin}`, {
          cause: err,
        });
      }
      throw err;
    }
  }

  static async #readIndex(root: string): Promise<StoreIndex> {
    const path = join(root, 'index.json');
    const text = await readIfExists(path);
    if (text === undefined) throw corrupt(path, 'the index is missing');
    let index: StoreIndex;
    try {
      index = JSON.parse(text.toString('utf8')) as StoreIndex;
    } catch (cause) {
      throw corrupt(path, 'the index is not JSON', cause);
    }
    if (index?.format !== INDEX_FORMAT || index.version !== INDEX_VERSION || !Array.isArray(index.certificates)) {
      throw corrupt(path, `not a version ${INDEX_VERSION} sknock-ca index`);
    }
    return index;
  }

  /** Runs `change` under the folder lock (and after this object's earlier changes), on a fresh index. */
  async #change<T>(change: (index: StoreIndex) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      const release = await lockFolder(this.dir);
      try {
        this.#index = await CaStore.#readIndex(this.dir);
        return await change(this.#index);
      } finally {
        await release();
      }
    };
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #writeIndex(index: StoreIndex): Promise<void> {
    await writeFileAtomic(join(this.dir, 'index.json'), `${JSON.stringify(index, null, 2)}\n`, PUBLIC_FILE_MODE);
  }

  #path(relative: string): string {
    return join(this.dir, relative);
  }

  async #refuseExisting(files: readonly string[], force: boolean | undefined): Promise<void> {
    if (force === true) return;
    for (const file of files) {
      if ((await readIfExists(this.#path(file))) !== undefined) {
        throw new SknockCaError(
          'ERR_SKNOCK_CA_FILE_EXISTS',
          `${this.#path(file)} exists already (an earlier certificate with this name); revoke that one and use --force to replace the files, or choose another name`,
        );
      }
    }
  }

  async #writeIssued(kind: 'servers' | 'clients', files: Record<string, [string, Uint8Array | string, number]>): Promise<void> {
    await makeFolder(this.#path(kind));
    await makeFolder(this.#path('certs'));
    for (const [file, data, mode] of Object.values(files)) await writeFileAtomic(this.#path(file), data, mode);
  }

  /** Every certificate issued, oldest first, with its status at `now`. */
  list(now: Date = new Date()): ListedEntry[] {
    return this.#index.certificates.map((e) => ({ ...e, status: statusOf(e, now) }));
  }

  /** Re-reads the index (another process may have changed it). */
  async refresh(): Promise<void> {
    this.#index = await CaStore.#readIndex(this.dir);
  }

  #uniqueSerial(index: StoreIndex, serial: string): void {
    if (index.certificates.some((e) => e.serial === serial)) {
      // 2^-120 odds: refuse rather than issue a duplicate
      throw new SknockCaError('ERR_SKNOCK_CA_CORRUPT_STORE', `serial ${serial} was issued before; issue again`);
    }
  }

  /**
   * Writes an issued certificate's files (refusing to overwrite `mustNotExist` unless
   * `force`), adds its entry to the index and saves the index; the paths written, by role.
   */
  async #record(
    index: StoreIndex,
    folder: 'servers' | 'clients',
    files: Record<string, [string, Uint8Array | string, number]>,
    mustNotExist: readonly string[],
    force: boolean | undefined,
    fields: Omit<StoreEntry, 'issuedAt' | 'files'>,
  ): Promise<Omit<StoreIssued, 'warnings'>> {
    await this.#refuseExisting(mustNotExist, force);
    await this.#writeIssued(folder, files);
    const entry: StoreEntry = { ...fields, issuedAt: new Date().toISOString(), files: Object.values(files).map(([f]) => f) };
    index.certificates.push(entry);
    await this.#writeIndex(index);
    return { entry, paths: Object.fromEntries(Object.entries(files).map(([k, [f]]) => [k, this.#path(f)])) };
  }

  /** Issues a server certificate: `servers/<name>.pfx` (key, certificate, CA) and `.cer`/`.pem` (certificate alone). */
  async issueServer(options: StoreIssueOptions): Promise<StoreIssued> {
    const ca = await this.unlock();
    return this.#change(async (index) => {
      const base = `servers/${fileNameFor(String(options.name))}`;
      const issued = await issueServerCertificate(ca, {
        name: options.name,
        validityDays: options.validityDays,
        pkcs12: options.pkcs12,
        allowAfter2049: options.allowAfter2049,
      });
      this.#uniqueSerial(index, issued.serial);
      const pem = encodePem('CERTIFICATE', issued.certificate);
      const files = {
        pfx: [`${base}.pfx`, issued.pfx as Uint8Array, PRIVATE_FILE_MODE],
        cer: [`${base}.cer`, issued.certificate, PUBLIC_FILE_MODE],
        pem: [`${base}.pem`, pem, PUBLIC_FILE_MODE],
        record: [`certs/${issued.serial}.pem`, pem, PUBLIC_FILE_MODE],
      } satisfies Record<string, [string, Uint8Array | string, number]>;
      const recorded = await this.#record(index, 'servers', files, [files.pfx[0], files.cer[0], files.pem[0]], options.force, {
        serial: issued.serial,
        kind: 'server',
        name: options.name,
        subject: `CN=${options.name}`,
        notBefore: issued.notBefore.toISOString(),
        notAfter: issued.notAfter.toISOString(),
      });
      return { ...recorded, warnings: issued.warnings };
    });
  }

  /** Issues a client certificate: `clients/<name>.pfx` (key, certificate, CA) and `.pem` (certificate alone). */
  async issueClient(options: StoreIssueClientOptions): Promise<StoreIssued & { readonly datagramLength: number }> {
    const ca = await this.unlock();
    return this.#change(async (index) => {
      const base = `clients/${fileNameFor(String(options.name))}`;
      const issued = await issueClientCertificate(ca, {
        name: options.name,
        grants: options.grants,
        validityDays: options.validityDays,
        minimumDatagramLength: options.minimumDatagramLength,
        pkcs12: options.pkcs12,
        allowAfter2049: options.allowAfter2049,
      });
      this.#uniqueSerial(index, issued.serial);
      const pem = encodePem('CERTIFICATE', issued.certificate);
      const files = {
        pfx: [`${base}.pfx`, issued.pfx as Uint8Array, PRIVATE_FILE_MODE],
        pem: [`${base}.pem`, pem, PUBLIC_FILE_MODE],
        record: [`certs/${issued.serial}.pem`, pem, PUBLIC_FILE_MODE],
      } satisfies Record<string, [string, Uint8Array | string, number]>;
      const recorded = await this.#record(index, 'clients', files, [files.pfx[0], files.pem[0]], options.force, {
        serial: issued.serial,
        kind: 'client',
        name: options.name,
        subject: `CN=${options.name}`,
        grants: issued.grants.map(formatGrantSpec),
        datagramLength: issued.datagramLength,
        notBefore: issued.notBefore.toISOString(),
        notAfter: issued.notAfter.toISOString(),
      });
      return { ...recorded, datagramLength: issued.datagramLength, warnings: issued.warnings };
    });
  }

  /** Signs a PKCS#10 request as a client certificate and records it (`certs/<serial>.pem`). */
  async signCsr(
    csr: string | Uint8Array,
    options: { grants: readonly PortGrant[]; validityDays?: number; name?: string; minimumDatagramLength?: number; allowAfter2049?: boolean },
  ): Promise<{ entry: StoreEntry; certificate: Uint8Array; datagramLength: number; warnings: readonly SknockCaWarning[] }> {
    const ca = await this.unlock();
    return this.#change(async (index) => {
      const signed = await signCsr(ca, csr, options);
      this.#uniqueSerial(index, signed.serial);
      const record = `certs/${signed.serial}.pem`;
      await makeFolder(this.#path('certs'));
      await writeFileAtomic(this.#path(record), encodePem('CERTIFICATE', signed.certificate), PUBLIC_FILE_MODE);
      const entry: StoreEntry = {
        serial: signed.serial,
        kind: 'client',
        name: signed.name,
        subject: signed.subject,
        grants: signed.grants.map(formatGrantSpec),
        datagramLength: signed.datagramLength,
        notBefore: signed.notBefore.toISOString(),
        notAfter: signed.notAfter.toISOString(),
        issuedAt: new Date().toISOString(),
        files: [record],
      };
      index.certificates.push(entry);
      await this.#writeIndex(index);
      return { entry, certificate: signed.certificate, datagramLength: signed.datagramLength, warnings: signed.warnings };
    });
  }

  /**
   * The serial of a certificate this CA issued (PEM or DER), checked by signature;
   * `ERR_SKNOCK_CA_FOREIGN_CERTIFICATE` otherwise.
   */
  serialOfCertificate(certificate: Uint8Array | string): string {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(readCertificate(certificate, 'certificate'));
    } catch (cause) {
      throw new SknockCaError('ERR_SKNOCK_CA_INVALID_ARGUMENT', 'the file is not a readable X.509 certificate (PEM or DER)', { cause });
    }
    const caCert = new X509Certificate(this.ca.certificate);
    if (!cert.checkIssued(caCert) || !cert.verify(caCert.publicKey)) {
      throw new SknockCaError('ERR_SKNOCK_CA_FOREIGN_CERTIFICATE', `the certificate of ${cert.subject} (issuer ${cert.issuer}) was not issued by this CA`);
    }
    return normalizeSerial(cert.serialNumber);
  }

  /** Marks a certificate revoked (by serial); it is on every CRL made from now on. */
  async revoke(serial: string, options: { reason?: RevocationReason; date?: Date } = {}): Promise<StoreEntry> {
    const wanted = normalizeSerial(serial);
    const date = wholeSeconds(options.date ?? new Date());
    return this.#change(async (index) => {
      const at = index.certificates.findIndex((e) => normalizeSerial(e.serial) === wanted);
      if (at < 0) {
        throw new SknockCaError('ERR_SKNOCK_CA_UNKNOWN_SERIAL', `no certificate with serial ${wanted} was issued by this CA (see: sknock-ca list)`);
      }
      const entry = index.certificates[at] as StoreEntry;
      if (entry.revoked !== undefined) {
        throw new SknockCaError('ERR_SKNOCK_CA_ALREADY_REVOKED', `the certificate ${wanted} (${entry.name}) was revoked on ${entry.revoked.date}`);
      }
      const revoked: StoreEntry = {
        ...entry,
        revoked: { date: date.toISOString(), ...(options.reason === undefined ? {} : { reason: options.reason }) },
      };
      index.certificates[at] = revoked;
      await this.#writeIndex(index);
      return revoked;
    });
  }

  /** Signs a CRL of every revoked certificate with the next CRL number; writes crl.der and crl.pem. */
  async createCrl(options: { days?: number; now?: Date } = {}): Promise<StoreCrl> {
    const days = options.days === undefined ? DEFAULT_CRL_VALIDITY_DAYS : checkDays(options.days, 'days');
    const ca = await this.unlock();
    return this.#change(async (index) => {
      const numberPath = this.#path('crlnumber');
      const text = (await readIfExists(numberPath))?.toString('utf8').trim();
      if (text === undefined || !/^[0-9]{1,48}$/.test(text)) throw corrupt(numberPath, 'does not hold a decimal CRL number');
      const crlNumber = BigInt(text);
      const thisUpdate = wholeSeconds(options.now ?? new Date());
      const nextUpdate = wholeSeconds(new Date(thisUpdate.getTime() + days * DAY_MS));
      const revoked = index.certificates
        .filter((e) => e.revoked !== undefined)
        .map((e) => ({ serial: e.serial, date: new Date(e.revoked?.date as string), reason: e.revoked?.reason }));
      const der = await createCrl(ca, { revoked, crlNumber, thisUpdate, nextUpdate });
      // the number moves on first: a crash after it never reuses a number
      await writeFileAtomic(numberPath, `${crlNumber + 1n}\n`, PUBLIC_FILE_MODE);
      await writeFileAtomic(this.#path('crl.der'), der, PUBLIC_FILE_MODE);
      await writeFileAtomic(this.#path('crl.pem'), encodeCrlPem(der), PUBLIC_FILE_MODE);
      return {
        crlNumber,
        thisUpdate,
        nextUpdate,
        revokedCount: revoked.length,
        der,
        paths: { der: this.#path('crl.der'), pem: this.#path('crl.pem') },
      };
    });
  }
}

/** `tcp/22` strings (as the index keeps them) back to grants. */
export function entryGrants(entry: StoreEntry): PortGrant[] {
  return (entry.grants ?? []).map(parseGrantSpec);
}
