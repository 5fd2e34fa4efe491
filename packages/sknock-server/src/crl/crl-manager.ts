import { EventEmitter } from 'node:events';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Logger } from '../logging/logger-type.js';
import { writeFileAtomic } from './atomic-write.js';
import { SknockCrlError } from './errors.js';
import { fetchCrl } from './fetch-crl.js';
import type { CrlValidators } from './fetch-crl.js';
import { parseCrl } from './parse-crl.js';
import type { ParsedCrl } from './parse-crl.js';
import { normaliseSerial } from './serial.js';
import { findCrlSigner } from './verify-crl.js';

/**
 * The CRL in force and its lifecycle: read `crlFile` at start (and on `reload()`, SIGHUP),
 * fetch `crlUrl` every interval with a conditional GET, take a CRL only when its signature
 * verifies against a trusted CA and it is not older than the one held, and write a fetched
 * one atomically to `crlFile`. A failed fetch or a CRL that does not verify keeps the last
 * good one and logs why; a CRL past its nextUpdate is logged as stale at every check.
 *
 * Events: `'updated'` (status) each time the CRL in force changes (`version` increments).
 */

/** How long one download may take, ms. */
export const DEFAULT_CRL_FETCH_TIMEOUT_MS = 10_000;

export interface CrlManagerOptions {
  /** Certificates (DER) whose keys may sign the CRL: the CA of the server's PKCS#12, and caFile's. */
  readonly caCertificates: readonly Uint8Array[];
  readonly crlFile?: string;
  readonly crlUrl?: string;
  /** CRL_UPDATE_INTERVAL_IN_MINUTES. */
  readonly intervalMinutes: number;
  readonly logger: Logger;
  /** Per download (default 10,000). */
  readonly fetchTimeoutMs?: number;
  /** Clock (ms since the epoch), for tests. */
  readonly now?: () => number;
  /** Only changes what the "no CRL" log line says (the trust store does the refusing). */
  readonly requireCrl?: boolean;
}

export type CrlSource = 'file' | 'url';

export interface CrlStatus {
  readonly haveCrl: boolean;
  /** The CRL in force is past its nextUpdate. */
  readonly stale: boolean;
  readonly thisUpdate?: Date;
  readonly nextUpdate?: Date;
  readonly crlNumber?: bigint;
  readonly source?: CrlSource;
  /** How many serials it revokes. */
  readonly revokedCount?: number;
}

interface HeldCrl {
  readonly crl: ParsedCrl;
  readonly source: CrlSource;
}

type Verdict = { readonly take: true } | { readonly take: false; readonly same: boolean; readonly why: string };

export class CrlManager extends EventEmitter {
  /** Increments each time the CRL in force changes. */
  version = 0;

  readonly #issuers: X509Certificate[];
  readonly #options: CrlManagerOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  #held: HeldCrl | undefined;
  #validators: CrlValidators = {};
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #stopper = new AbortController();

  constructor(options: CrlManagerOptions) {
    super();
    if (!Array.isArray(options.caCertificates)) throw new TypeError('CrlManager: caCertificates must be an array of DER certificates');
    this.#issuers = options.caCertificates.map((der, i) => {
      try {
        return new X509Certificate(der);
      } catch (cause) {
        throw new TypeError(`CrlManager: caCertificates[${i}] is not a readable X.509 certificate`, { cause });
      }
    });
    if (!Number.isFinite(options.intervalMinutes) || options.intervalMinutes <= 0) {
      throw new TypeError('CrlManager: intervalMinutes must be a positive number');
    }
    this.#options = options;
    this.#log = options.logger;
    this.#now = options.now ?? Date.now;
  }

  /** Reads crlFile, fetches crlUrl once, then schedules a fetch every interval (timer unref'd). */
  async start(): Promise<void> {
    if (this.#options.crlFile !== undefined) await this.#loadFile('start');
    if (this.#options.crlUrl !== undefined) {
      await this.refresh();
      this.#timer = setInterval(() => void this.refresh(), this.#options.intervalMinutes * 60_000);
      this.#timer.unref();
    } else {
      this.#check();
    }
  }

  /** Fetches crlUrl now (a fetch already running is joined, not repeated). Never throws. */
  refresh(): Promise<void> {
    if (this.#options.crlUrl === undefined) {
      this.#check();
      return Promise.resolve();
    }
    this.#inFlight ??= this.#fetchOnce().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  /** Re-reads crlFile (SIGHUP). Never throws. */
  async reload(): Promise<void> {
    if (this.#options.crlFile === undefined) {
      this.#check();
      return;
    }
    await this.#loadFile('reload');
  }

  /** Stops the schedule and cancels a download in progress. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#stopper.abort();
    this.#stopper = new AbortController();
  }

  /** Whether the CRL in force revokes this serial (hex, any case, leading zeros or not). */
  isRevoked(serialHex: string): boolean {
    return this.#held !== undefined && this.#held.crl.revoked.has(normaliseSerial(serialHex));
  }

  status(): CrlStatus {
    const held = this.#held;
    if (held === undefined) return { haveCrl: false, stale: false };
    const { crl } = held;
    return {
      haveCrl: true,
      stale: this.#isStale(crl),
      thisUpdate: crl.thisUpdate,
      ...(crl.nextUpdate !== undefined ? { nextUpdate: crl.nextUpdate } : {}),
      ...(crl.crlNumber !== undefined ? { crlNumber: crl.crlNumber } : {}),
      source: held.source,
      revokedCount: crl.revoked.size,
    };
  }

  async #fetchOnce(): Promise<void> {
    const url = this.#options.crlUrl as string;
    try {
      const result = await fetchCrl({
        url,
        validators: this.#validators,
        timeoutMs: this.#options.fetchTimeoutMs ?? DEFAULT_CRL_FETCH_TIMEOUT_MS,
        signal: this.#stopper.signal,
      });
      if (result.status === 'not-modified') {
        this.#log.debug({ crlUrl: url }, 'CRL not modified since the last download');
        return;
      }
      const crl = this.#parseAndVerify(result.body);
      const verdict = this.#judge(crl);
      if (!verdict.take) {
        if (verdict.same) {
          this.#validators = result.validators;
          this.#log.debug({ crlUrl: url }, 'downloaded CRL is the one in force');
        } else {
          this.#log.warn({ crlUrl: url, code: 'ERR_SKNOCK_CRL_OLDER', ...describe(crl) }, `downloaded CRL not taken: ${verdict.why}; keeping the CRL in force`);
        }
        return;
      }
      this.#validators = result.validators;
      this.#adopt(crl, 'url');
      if (this.#options.crlFile !== undefined) {
        try {
          await writeFileAtomic(this.#options.crlFile, result.body);
        } catch (err) {
          this.#log.error({ crlFile: this.#options.crlFile, reason: (err as Error).message }, 'could not save the downloaded CRL to crlFile; it is in force in memory only');
        }
      }
    } catch (err) {
      const code = err instanceof SknockCrlError ? err.code : 'ERR_SKNOCK_CRL_FETCH';
      const what = this.#held ? 'keeping the CRL in force' : 'still no CRL';
      this.#log.warn({ crlUrl: url, code, reason: (err as Error).message }, `CRL download not taken: ${(err as Error).message}; ${what}`);
    } finally {
      this.#check();
    }
  }

  async #loadFile(when: 'start' | 'reload'): Promise<void> {
    const file = this.#options.crlFile as string;
    try {
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(await readFile(file));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' && this.#options.crlUrl !== undefined && this.#held === undefined) {
          this.#log.info({ crlFile: file }, 'crlFile does not exist yet; it will be written from crlUrl');
          return;
        }
        throw new SknockCrlError('ERR_SKNOCK_CRL_MALFORMED', code === 'ENOENT' ? 'crlFile does not exist' : `cannot read crlFile: ${(err as Error).message}`);
      }
      const crl = this.#parseAndVerify(bytes);
      const verdict = this.#judge(crl);
      if (!verdict.take) {
        if (verdict.same) this.#log.debug({ crlFile: file }, 'crlFile holds the CRL in force');
        else this.#log.warn({ crlFile: file, code: 'ERR_SKNOCK_CRL_OLDER', ...describe(crl) }, `crlFile not taken: ${verdict.why}; keeping the CRL in force`);
        return;
      }
      this.#adopt(crl, 'file');
    } catch (err) {
      const code = err instanceof SknockCrlError ? err.code : 'ERR_SKNOCK_CRL_MALFORMED';
      const what = this.#held ? 'keeping the CRL in force' : 'no CRL from it';
      this.#log.error({ crlFile: file, code, reason: (err as Error).message }, `crlFile not taken${when === 'reload' ? ' on reload' : ''}: ${(err as Error).message}; ${what}`);
    } finally {
      if (when === 'reload' || this.#options.crlUrl === undefined) this.#check();
    }
  }

  #parseAndVerify(bytes: Uint8Array): ParsedCrl {
    const crl = parseCrl(bytes);
    if (findCrlSigner(crl, this.#issuers) === undefined) {
      throw new SknockCrlError('ERR_SKNOCK_CRL_SIGNATURE', 'its signature does not verify with the CA certificate');
    }
    return crl;
  }

  /** Not older than the one held: neither thisUpdate nor CRL number may go back. */
  #judge(crl: ParsedCrl): Verdict {
    const held = this.#held?.crl;
    if (held === undefined) return { take: true };
    if (Buffer.compare(held.der, crl.der) === 0) return { take: false, same: true, why: 'it is the CRL in force' };
    if (crl.thisUpdate.getTime() < held.thisUpdate.getTime()) {
      return { take: false, same: false, why: `it is older (thisUpdate ${crl.thisUpdate.toISOString()} before ${held.thisUpdate.toISOString()})` };
    }
    if (crl.crlNumber !== undefined && held.crlNumber !== undefined) {
      if (crl.crlNumber < held.crlNumber) return { take: false, same: false, why: `it is older (CRL number ${crl.crlNumber} below ${held.crlNumber})` };
      if (crl.crlNumber === held.crlNumber) return { take: false, same: false, why: `it has the CRL number ${crl.crlNumber} of the CRL in force but different contents` };
    }
    return { take: true };
  }

  #adopt(crl: ParsedCrl, source: CrlSource): void {
    this.#held = { crl, source };
    this.version++;
    this.#log.info({ source, ...describe(crl) }, 'CRL in force');
    this.emit('updated', this.status());
  }

  #isStale(crl: ParsedCrl): boolean {
    return crl.nextUpdate !== undefined && this.#now() > crl.nextUpdate.getTime();
  }

  /** Logged at every check: a stale CRL, or no CRL at all. */
  #check(): void {
    const held = this.#held;
    if (held === undefined) {
      this.#log.error(
        { crlFile: this.#options.crlFile, crlUrl: this.#options.crlUrl },
        this.#options.requireCrl
          ? 'NO CRL: knocks are refused until a CRL verifies (requireCrl)'
          : 'NO CRL: revocation cannot be checked; knocks are accepted without it, as the original sKnock did',
      );
    } else if (this.#isStale(held.crl)) {
      this.#log.warn({ source: held.source, ...describe(held.crl) }, 'CRL is stale: past its nextUpdate; it stays in force until a newer one is fetched');
    }
  }
}

function describe(crl: ParsedCrl): Record<string, unknown> {
  return {
    thisUpdate: crl.thisUpdate.toISOString(),
    ...(crl.nextUpdate !== undefined ? { nextUpdate: crl.nextUpdate.toISOString() } : {}),
    ...(crl.crlNumber !== undefined ? { crlNumber: crl.crlNumber.toString() } : {}),
    revoked: crl.revoked.size,
  };
}
