import { createHash } from 'node:crypto';
import { isSknockProtocolError } from '@sknock/protocol';
import type { Grant } from '../firewall/backend.js';
import { checkAddress } from './check-address.js';
import { checkCertificate } from './check-certificate.js';
import { checkDecrypt } from './check-decrypt.js';
import { checkGrant } from './check-grant.js';
import { checkRateLimit } from './check-rate-limit.js';
import { checkReplay } from './check-replay.js';
import { checkSignature } from './check-signature.js';
import { checkSize } from './check-size.js';
import { checkTimestamp } from './check-timestamp.js';
import { GrantsCache } from './grants-cache.js';
import { openGrant } from './open-grant.js';
import { SourceRateLimiter } from './rate-limiter.js';
import { ReplayCache } from './replay-cache.js';
import { isReject, reject } from './reject.js';
import type { KnockResult, KnockSource, PipelineDependencies, Reject } from './types.js';

/**
 * The knock pipeline: a fixed order of small checks, each in its own file with its own
 * reject code. Nothing here does I/O: the firewall is reached through `GrantOpener`, the
 * CA chain and CRL through `CertificateVerifier`, and time comes in as `nowMs`.
 *
 *  1. size, magic, version          check-size.ts        too-short too-long bad-magic bad-version bad-length
 *  2. rate limit, keys seen          check-rate-limit.ts  rate-limited
 *                                    check-replay.ts      replayed-key
 *  3. decrypt and frame              check-decrypt.ts     decrypt-failed malformed-request
 *  4. certificate                    check-certificate.ts untrusted-certificate not-yet-valid expired revoked no-crl
 *  5. signature                      check-signature.ts   bad-signature
 *  6. timestamp window               check-timestamp.ts   stale-timestamp
 *  7. grant in the certificate       check-grant.ts       not-granted
 *  8. bound address = source         check-address.ts     address-mismatch
 *  9. open                           open-grant.ts        overloaded
 *
 * Steps 1–2 (`screen`) cost no cryptography and run as each datagram arrives; steps 3–9
 * (`verify`) run from the daemon's bounded work queue.
 */

/** A datagram that passed steps 1–2, waiting for the crypto stages. */
export interface ScreenedKnock {
  readonly datagram: Uint8Array;
  readonly source: KnockSource;
  /** Id of its ephemeral key in the replay cache. */
  readonly keyId: string;
}

export interface KnockPipelineOptions extends PipelineDependencies {
  readonly rateLimiter?: SourceRateLimiter;
  readonly replayCache?: ReplayCache;
  readonly grantsCache?: GrantsCache;
}

export interface KnockPipeline {
  /** Steps 1–2: no cryptography. */
  screen(datagram: Uint8Array, source: KnockSource, nowMs: number): ScreenedKnock | Reject;
  /** Steps 3–9. */
  verify(knock: ScreenedKnock, nowMs: number): KnockResult;
  /** All nine steps. Never throws: a failure that is not a typed protocol error is `internal-error`. */
  processKnock(datagram: Uint8Array, source: KnockSource, nowMs: number): KnockResult;
  /** Swaps dependencies (on reload: new settings, credentials, trust store). */
  reconfigure(changes: Partial<PipelineDependencies>): void;
  readonly rateLimiter: SourceRateLimiter;
  readonly replayCache: ReplayCache;
  readonly grantsCache: GrantsCache;
}

function internalError(err: unknown): Reject {
  const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return reject('internal-error', what);
}

export function createKnockPipeline(options: KnockPipelineOptions): KnockPipeline {
  let deps: PipelineDependencies = {
    settings: options.settings,
    privateKey: options.privateKey,
    trust: options.trust,
    opener: options.opener,
  };
  const rateLimiter = options.rateLimiter ?? new SourceRateLimiter();
  const replayCache = options.replayCache ?? new ReplayCache();
  const grantsCache = options.grantsCache ?? new GrantsCache();

  function screen(datagram: Uint8Array, source: KnockSource, nowMs: number): ScreenedKnock | Reject {
    try {
      const parsed = checkSize(datagram, source.family, deps.settings);
      if (isReject(parsed)) return parsed;
      const limited = checkRateLimit(rateLimiter, source, nowMs);
      if (limited !== undefined) return limited;
      const keyId = checkReplay(replayCache, parsed.ephemeralPublicKey, nowMs, deps.settings.timestampThresholdSeconds);
      if (isReject(keyId)) return keyId;
      return { datagram, source, keyId };
    } catch (err) {
      return internalError(err);
    }
  }

  function verify(knock: ScreenedKnock, nowMs: number): KnockResult {
    const { settings, privateKey, trust, opener } = deps;
    const { source } = knock;
    try {
      const opened = checkDecrypt(knock.datagram, source, privateKey);
      if (isReject(opened)) return opened;

      const cert = checkCertificate(trust, opened.certificate, nowMs);
      if (isReject(cert)) return cert;

      const badSignature = checkSignature(opened, cert.publicKey);
      if (badSignature !== undefined) return badSignature;
      // An authenticated packet: its key now stays remembered whatever junk arrives.
      if (!replayCache.markVerified(knock.keyId, nowMs, ReplayCache.lifetimeMs(settings.timestampThresholdSeconds))) {
        return reject('overloaded', 'too many verified knocks inside the time window to remember');
      }

      const skewSeconds = checkTimestamp(opened.timestamp, nowMs, settings.timestampThresholdSeconds);
      if (isReject(skewSeconds)) return skewSeconds;

      const certificateHash = cert.certificateId ?? createHash('sha256').update(opened.certificate).digest('base64');
      const notGranted = checkGrant(grantsCache, certificateHash, opened.certificate, opened.protocol, opened.port);
      if (notGranted !== undefined) return notGranted;

      const mismatch = checkAddress(opened.address, source);
      if (mismatch !== undefined) return mismatch;

      const grant: Grant = { address: source.address, family: source.family, protocol: opened.protocol, port: opened.port };
      const meta = { subject: cert.subject, serial: cert.serial, issuer: cert.issuer, certificateId: certificateHash, chain: cert.chain };
      const refused = openGrant(opener, grant, settings.portOpenDurationSeconds, meta);
      if (refused !== undefined) return refused;

      return {
        ok: true,
        grant,
        subject: cert.subject,
        serial: cert.serial,
        expiresAt: nowMs + settings.portOpenDurationSeconds * 1000,
        skewSeconds,
      };
    } catch (err) {
      // Every expected failure is mapped above; a typed protocol error here is still the
      // packet's fault, anything else is a bug.
      if (isSknockProtocolError(err)) return reject('malformed-request', err.message);
      return internalError(err);
    }
  }

  return {
    screen,
    verify,
    processKnock(datagram, source, nowMs) {
      const screened = screen(datagram, source, nowMs);
      if (isReject(screened)) return screened;
      return verify(screened, nowMs);
    },
    reconfigure(changes) {
      deps = { ...deps, ...changes };
    },
    rateLimiter,
    replayCache,
    grantsCache,
  };
}
