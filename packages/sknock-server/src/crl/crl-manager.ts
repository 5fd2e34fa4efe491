import { EventEmitter } from 'node:events';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Logger } from '../logging/logger-type.js';
import { writeFileAtomic } from './atomic-write.js';
import { findCrlIssuer } from '@sknock/protocol/crl';
import { caIdentity, normaliseSerial, type CaIdentity } from '@sknock/protocol/x509';
import type { CertificateRef } from './certificate-ref.js';
import { crlDersFrom, encodeCrlBundle } from './crl-bundle.js';
import { SknockCrlError } from './errors.js';
import { fetchCrl } from './fetch-crl.js';
import type { CrlValidators } from './fetch-crl.js';
import { describeCrl, holdCrl, isStale, judgeCrl } from './held-crl.js';
import type { CrlSource, HeldCrl } from './held-crl.js';
import { parseCrl } from './parse-crl.js';

/**
 * The CRLs in force, one per CA, and their lifecycle: read every `crlFile` at start (and on
 * `reload()`, SIGHUP), fetch every `crlUrl` each interval with a conditional GET, and write
 * what the URLs gave atomically to the first crlFile. A file or a download may carry several
 * CRLs (crl-bundle.ts).
 *
 * Each CRL is taken only for the CA it names (its issuer field, and its authority key
 * identifier when present), only if that CA's key verifies its signature, and only if it is
 * not older than the CRL held for that same CA (thisUpdate, CRL number). A CRL of one CA
 * never replaces, shortens or extends another CA's. Revocation is looked up by (CA, serial).
 * A failed fetch or a CRL that does not verify keeps what is held and logs why; a CRL past
 * its nextUpdate is logged as stale at every check and when its nextUpdate passes.
 *
 * Events: `'updated'` (status) each time a CRL in force changes (`version` increments).
 */

/** How long one download may take, ms. */
export const DEFAULT_CRL_FETCH_TIMEOUT_MS = 10_000;
/** setTimeout's longest delay. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface CrlManagerOptions {
  /** Certificates (DER) of the CAs whose CRLs are taken: the CA of the server's PKCS#12, and caFile's. */
  readonly caCertificates: readonly Uint8Array[];
  /** One path or several; the first is where CRLs fetched from crlUrl are saved. */
  readonly crlFile?: string | readonly string[];
  /** One URL or several (each may serve one CA's CRL, or a bundle). */
  readonly crlUrl?: string | readonly string[];
  /** CRL_UPDATE_INTERVAL_IN_MINUTES. */
  readonly intervalMinutes: number;
  readonly logger: Logger;
  /** Per download (default 10,000). */
  readonly fetchTimeoutMs?: number;
  /** Clock (ms since the epoch), for tests. */
  readonly now?: () => number;
  /** Only changes what the "no CRL" and "stale" log lines say (the trust store does the refusing). */
  readonly requireCrl?: boolean;
}

export type { CrlSource } from './held-crl.js';

/** What is held from one CA. */
export interface CrlIssuerStatus {
  /** The CA's subject, one line. */
  readonly issuer: string;
  /** `CaIdentity.id`: SHA-256 of its subject and key. */
  readonly issuerId: string;
  readonly haveCrl: boolean;
  /** Its CRL is past its nextUpdate. */
  readonly stale: boolean;
  readonly thisUpdate?: Date;
  readonly nextUpdate?: Date;
  readonly crlNumber?: bigint;
  readonly source?: CrlSource;
  /** The crlFile path or crlUrl it came from. */
  readonly origin?: string;
  /** How many serials it revokes. */
  readonly revokedCount?: number;
}

/**
 * The CRLs in force. The summary fields describe them together (with one CA: its CRL, as
 * before); `issuers` says what is held from each CA.
 */
export interface CrlStatus {
  /** At least one CRL is held. */
  readonly haveCrl: boolean;
  /** At least one CRL held is past its nextUpdate. */
  readonly stale: boolean;
  /** The oldest thisUpdate among the CRLs held. */
  readonly thisUpdate?: Date;
  /** The earliest nextUpdate among the CRLs held (when the first goes stale). */
  readonly nextUpdate?: Date;
  /** The CRL number, when exactly one CRL is held. */
  readonly crlNumber?: bigint;
  /** Where the CRLs came from, when they all came the same way. */
  readonly source?: CrlSource;
  /** Serials revoked, all CRLs together. */
  readonly revokedCount?: number;
  /** One entry per CA, in the order the CA certificates were given. */
  readonly issuers: readonly CrlIssuerStatus[];
}

function listOf(value: string | readonly string[] | undefined, what: string): string[] {
  if (value === undefined) return [];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.some((v) => typeof v !== 'string' || v === '')) throw new TypeError(`CrlManager: ${what} must be a non-empty string or an array of them`);
  return [...new Set(list)];
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class CrlManager extends EventEmitter {
  /** Increments each time a CRL in force changes. */
  version = 0;

  readonly #cas: CaIdentity[] = [];
  readonly #files: string[];
  readonly #urls: string[];
  readonly #options: CrlManagerOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  /** By `CaIdentity.id`. */
  readonly #held = new Map<string, HeldCrl>();
  readonly #validators = new Map<string, CrlValidators>();
  #timer: NodeJS.Timeout | undefined;
  #staleTimer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #stopper = new AbortController();
  #stopped = false;

  constructor(options: CrlManagerOptions) {
    super();
    if (!Array.isArray(options.caCertificates)) throw new TypeError('CrlManager: caCertificates must be an array of DER certificates');
    const seen = new Set<string>();
    options.caCertificates.forEach((der, i) => {
      let ca: CaIdentity;
      try {
        ca = caIdentity(new X509Certificate(der));
      } catch (cause) {
        throw new TypeError(`CrlManager: caCertificates[${i}] is not a readable X.509 certificate`, { cause });
      }
      if (seen.has(ca.id)) return;
      seen.add(ca.id);
      this.#cas.push(ca);
    });
    if (!Number.isFinite(options.intervalMinutes) || options.intervalMinutes <= 0) {
      throw new TypeError('CrlManager: intervalMinutes must be a positive number');
    }
    this.#files = listOf(options.crlFile, 'crlFile');
    this.#urls = listOf(options.crlUrl, 'crlUrl');
    this.#options = options;
    this.#log = options.logger;
    this.#now = options.now ?? Date.now;
  }

  /** Reads every crlFile, fetches every crlUrl once, then schedules a fetch every interval (timer unref'd). */
  async start(): Promise<void> {
    this.#stopped = false;
    for (const file of this.#files) await this.#loadFile(file, 'start');
    if (this.#urls.length > 0) {
      await this.refresh();
      this.#timer = setInterval(() => void this.refresh(), this.#options.intervalMinutes * 60_000);
      this.#timer.unref();
    } else {
      this.#check();
    }
  }

  /** Fetches every crlUrl now (a round already running is joined, not repeated). Never throws. */
  refresh(): Promise<void> {
    if (this.#urls.length === 0) {
      this.#check();
      return Promise.resolve();
    }
    this.#inFlight ??= this.#fetchAll().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  /** Re-reads every crlFile (SIGHUP). Never throws. */
  async reload(): Promise<void> {
    for (const file of this.#files) await this.#loadFile(file, 'reload');
    this.#check();
  }

  /** Stops the schedule and cancels a download in progress. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    if (this.#staleTimer !== undefined) clearTimeout(this.#staleTimer);
    this.#timer = undefined;
    this.#staleTimer = undefined;
    this.#stopper.abort();
    this.#stopper = new AbortController();
  }

  /** The CRL in force for the CA with this id (`CaIdentity.id`), if any: the trust store's lookup. */
  crlOf(issuerId: string): HeldCrl | undefined {
    return this.#held.get(issuerId);
  }

  /** Whether the CRL in force of that CA revokes this serial (hex, any case, leading zeros or not). */
  isRevoked(issuerId: string, serialHex: string): boolean {
    return this.#held.get(issuerId)?.revoked.has(normaliseSerial(serialHex)) ?? false;
  }

  /** The first link of `chain` that a CRL in force revokes, if any. */
  revokedLink(chain: readonly CertificateRef[]): CertificateRef | undefined {
    for (const link of chain) {
      if (this.#held.get(link.issuerId)?.revoked.has(link.serial)) return link;
    }
    return undefined;
  }

  status(): CrlStatus {
    const now = this.#now();
    const issuers: CrlIssuerStatus[] = this.#cas.map((ca) => {
      const held = this.#held.get(ca.id);
      if (held === undefined) return { issuer: ca.name, issuerId: ca.id, haveCrl: false, stale: false };
      const { crl } = held;
      return {
        issuer: ca.name,
        issuerId: ca.id,
        haveCrl: true,
        stale: isStale(held, now),
        thisUpdate: crl.thisUpdate,
        ...(crl.nextUpdate !== undefined ? { nextUpdate: crl.nextUpdate } : {}),
        ...(crl.crlNumber !== undefined ? { crlNumber: crl.crlNumber } : {}),
        source: held.source,
        origin: held.origin,
        revokedCount: crl.revoked.size,
      };
    });
    const held = [...this.#held.values()];
    if (held.length === 0) return { haveCrl: false, stale: false, issuers };
    const first = held[0] as HeldCrl;
    const oldest = Math.min(...held.map((h) => h.crl.thisUpdate.getTime()));
    const earliestNext = Math.min(...held.map((h) => h.nextUpdateMs));
    const sources = new Set(held.map((h) => h.source));
    return {
      haveCrl: true,
      stale: held.some((h) => isStale(h, now)),
      thisUpdate: new Date(oldest),
      ...(Number.isFinite(earliestNext) ? { nextUpdate: new Date(earliestNext) } : {}),
      ...(held.length === 1 && first.crl.crlNumber !== undefined ? { crlNumber: first.crl.crlNumber } : {}),
      ...(sources.size === 1 ? { source: first.source } : {}),
      revokedCount: held.reduce((n, h) => n + h.crl.revoked.size, 0),
      issuers,
    };
  }

  async #fetchAll(): Promise<void> {
    try {
      const taken = await Promise.all(this.#urls.map((url) => this.#fetchOne(url)));
      if (taken.some((n) => n > 0)) await this.#save();
    } finally {
      this.#check();
    }
  }

  /** One download; returns how many CRLs were taken from it. Never throws. */
  async #fetchOne(url: string): Promise<number> {
    try {
      const result = await fetchCrl({
        url,
        validators: this.#validators.get(url) ?? {},
        timeoutMs: this.#options.fetchTimeoutMs ?? DEFAULT_CRL_FETCH_TIMEOUT_MS,
        signal: this.#stopper.signal,
      });
      if (result.status === 'not-modified') {
        this.#log.debug({ crlUrl: url }, 'CRL not modified since the last download');
        return 0;
      }
      const { taken, refused } = this.#takeAll(result.body, 'url', url);
      // Asked for again only once it changes, unless some of it was refused (said again each time).
      if (refused === 0) this.#validators.set(url, result.validators);
      return taken;
    } catch (err) {
      const code = err instanceof SknockCrlError ? err.code : 'ERR_SKNOCK_CRL_FETCH';
      this.#log.warn({ crlUrl: url, code, reason: errorMessage(err) }, `CRL download not taken: ${errorMessage(err)}; ${this.#keeping()}`);
      return 0;
    }
  }

  async #loadFile(file: string, when: 'start' | 'reload'): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(file));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && file === this.#files[0] && this.#urls.length > 0 && this.#held.size === 0) {
        this.#log.info({ crlFile: file }, 'crlFile does not exist yet; it will be written from crlUrl');
        return;
      }
      const reason = code === 'ENOENT' ? 'crlFile does not exist' : `cannot read crlFile: ${errorMessage(err)}`;
      this.#fileError(file, when, 'ERR_SKNOCK_CRL_MALFORMED', reason);
      return;
    }
    try {
      this.#takeAll(bytes, 'file', file, when);
    } catch (err) {
      this.#fileError(file, when, err instanceof SknockCrlError ? err.code : 'ERR_SKNOCK_CRL_MALFORMED', errorMessage(err));
    }
  }

  #fileError(file: string, when: 'start' | 'reload', code: string, reason: string, which = ''): void {
    this.#log.error({ crlFile: file, code, reason }, `${which}crlFile not taken${when === 'reload' ? ' on reload' : ''}: ${reason}; ${this.#keeping('no CRL from it')}`);
  }

  #keeping(otherwise = 'still no CRL'): string {
    return this.#held.size > 0 ? 'keeping the CRL in force' : otherwise;
  }

  /**
   * Every CRL in `bytes`, each verified and judged on its own (one bad CRL of a bundle does
   * not keep the others out). Throws only when the bytes hold no CRL at all.
   */
  #takeAll(bytes: Uint8Array, source: CrlSource, origin: string, when: 'start' | 'reload' = 'start'): { taken: number; refused: number } {
    const ders = crlDersFrom(bytes);
    const taken: HeldCrl[] = [];
    let refused = 0;
    ders.forEach((der, i) => {
      const which = ders.length > 1 ? `CRL ${i + 1} of ${ders.length} in ` : '';
      try {
        const crl = parseCrl(der);
        const issuer = findCrlIssuer(crl, this.#cas);
        const verdict = judgeCrl(this.#held.get(issuer.id), crl);
        const where = source === 'url' ? { crlUrl: origin } : { crlFile: origin };
        if (!verdict.take) {
          const what = source === 'url' ? `${which ? `${which}the ` : ''}downloaded CRL` : `${which}crlFile`;
          if (verdict.same) this.#log.debug({ ...where, issuer: issuer.name }, source === 'url' ? `${what} is the one in force` : `${what} holds the CRL in force`);
          else {
            refused++;
            this.#log.warn({ ...where, issuer: issuer.name, code: 'ERR_SKNOCK_CRL_OLDER', ...describeCrl(crl) }, `${what} not taken: ${verdict.why}; keeping the CRL in force`);
          }
          return;
        }
        const held = holdCrl(crl, issuer, source, origin);
        this.#held.set(issuer.id, held);
        taken.push(held);
      } catch (err) {
        refused++;
        const code = err instanceof SknockCrlError ? err.code : 'ERR_SKNOCK_CRL_MALFORMED';
        if (source === 'url') {
          this.#log.warn({ crlUrl: origin, code, reason: errorMessage(err) }, `${which ? `${which}the ` : ''}CRL download not taken: ${errorMessage(err)}; ${this.#keeping()}`);
        } else {
          this.#fileError(origin, when, code, errorMessage(err), which);
        }
      }
    });
    if (taken.length > 0) {
      this.version++;
      for (const held of taken) {
        this.#log.info({ source, [source === 'url' ? 'crlUrl' : 'crlFile']: origin, issuer: held.issuer.name, issuerId: held.issuer.id, ...describeCrl(held.crl) }, 'CRL in force');
      }
      this.emit('updated', this.status());
    }
    return { taken: taken.length, refused };
  }

  /**
   * Writes the first crlFile: every CRL in force that came from a crlUrl or from that file
   * itself, so that saving one CA's fresh CRL never drops another CA's from it.
   */
  async #save(): Promise<void> {
    const file = this.#files[0];
    if (file === undefined || this.#stopped) return;
    const ders = this.#cas.flatMap((ca) => {
      const held = this.#held.get(ca.id);
      return held !== undefined && (held.source === 'url' || held.origin === file) ? [held.crl.der] : [];
    });
    if (ders.length === 0) return;
    try {
      await writeFileAtomic(file, encodeCrlBundle(ders));
    } catch (err) {
      this.#log.error({ crlFile: file, reason: errorMessage(err) }, 'could not save the downloaded CRL to crlFile; it is in force in memory only');
    }
  }

  /** Logged at every check, per CA: no CRL, or a stale one. Then waits for the next nextUpdate to pass. */
  #check(): void {
    const now = this.#now();
    const requireCrl = this.#options.requireCrl === true;
    if (this.#held.size === 0) {
      this.#log.error(
        { crlFile: this.#files.length > 1 ? this.#files : this.#files[0], crlUrl: this.#urls.length > 1 ? this.#urls : this.#urls[0] },
        requireCrl
          ? 'NO CRL: knocks are refused until a CRL verifies (requireCrl)'
          : 'NO CRL: revocation cannot be checked; knocks are accepted without it, as the original sKnock did',
      );
    } else {
      for (const ca of this.#cas) {
        const held = this.#held.get(ca.id);
        if (held === undefined) {
          this.#log.error(
            { issuer: ca.name, issuerId: ca.id },
            requireCrl
              ? `NO CRL from CA '${ca.name}': knocks through it are refused until its CRL verifies (requireCrl)`
              : `NO CRL from CA '${ca.name}': revocation of what it issued cannot be checked; such knocks are accepted without it`,
          );
        } else if (isStale(held, now)) {
          const fields = { issuer: ca.name, issuerId: ca.id, source: held.source, origin: held.origin, ...describeCrl(held.crl) };
          if (requireCrl) this.#log.error(fields, `CRL is stale: past its nextUpdate; knocks through CA '${ca.name}' are refused until a fresh one arrives (requireCrl)`);
          else this.#log.warn(fields, 'CRL is stale: past its nextUpdate; it stays in force until a newer one is fetched');
        }
      }
    }
    this.#watchNextUpdate(now);
  }

  /** One timer, at the earliest nextUpdate still ahead, so that a CRL going stale is said when it happens. */
  #watchNextUpdate(now: number): void {
    if (this.#staleTimer !== undefined) clearTimeout(this.#staleTimer);
    this.#staleTimer = undefined;
    if (this.#stopped) return;
    let next = Infinity;
    for (const held of this.#held.values()) if (held.nextUpdateMs >= now && held.nextUpdateMs < next) next = held.nextUpdateMs;
    if (!Number.isFinite(next)) return;
    this.#staleTimer = setTimeout(() => this.#check(), Math.min(MAX_TIMER_MS, next - now + 1000));
    this.#staleTimer.unref();
  }
}
