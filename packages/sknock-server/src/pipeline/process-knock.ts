import { canonicalIpAddress, isSknockProtocolError, knockPacketKeys, type KnockDatagram, type KnockKeys, type KnockVersion, type OpenedKnock } from '@sknock/protocol';
import type { Grant } from '../firewall/backend.js';
import { checkAddress } from './check-address.js';
import { checkCertificate } from './check-certificate.js';
import { checkDecrypt, checkKeys } from './check-decrypt.js';
import { checkGrant } from './check-grant.js';
import { checkRateLimit } from './check-rate-limit.js';
import { checkReplay, checkReplayOf, recordAcceptedKey, type ReplayIds } from './check-replay.js';
import { checkSignature } from './check-signature.js';
import { checkSize } from './check-size.js';
import { checkTimestamp } from './check-timestamp.js';
import { GrantsCache } from './grants-cache.js';
import { openGrant } from './open-grant.js';
import { SourceRateLimiter } from './rate-limiter.js';
import { ciphertextDigest, ReplayCache } from './replay-cache.js';
import { isReject, reject } from './reject.js';
import type { CertificateVerifier, KeyAgreement, KnockResult, KnockSource, PipelineDependencies, Reject, StepResult } from './types.js';

/**
 * The knock pipeline: a fixed order of small checks, each in its own file with its own
 * reject code, each of one shape (`StepResult`: what it found, or a `Reject` value). Nothing here does I/O: the firewall is reached through `GrantOpener`, the
 * CA chain and CRL through `CertificateVerifier`, and time comes in as `nowMs`.
 *
 *  1. size, magic, version          check-size.ts        too-short too-long bad-magic bad-version bad-length
 *  2. rate limit, keys seen          check-rate-limit.ts  rate-limited
 *                                    check-replay.ts      replayed-key (and a remembered verdict)
 *  3. step 2b again, keys, decrypt   check-replay.ts      (as step 2b)
 *                                    check-decrypt.ts     decrypt-failed malformed-request
 *  4. certificate                    check-certificate.ts untrusted-certificate not-yet-valid expired revoked no-crl
 *  5. signature                      check-signature.ts   bad-signature
 *  6. timestamp window               check-timestamp.ts   stale-timestamp
 *  7. grant in the certificate       check-grant.ts       not-granted
 *  8. bound address = source         check-address.ts     address-mismatch
 *  9. record the key, open           check-replay.ts      replayed-key rate-limited overloaded
 *                                    open-grant.ts        overloaded
 *
 * Steps 1–2 (`screen`) cost no cryptography and run as each datagram arrives; steps 3–9
 * (`verify`) run from the daemon's bounded work queue. What steps 3–7 find out that the
 * datagram's bytes alone decide is remembered per point (replay-cache.ts, the seen tier), so
 * that step 2 can drop an exact duplicate before any cryptography.
 */

/** A datagram that passed steps 1–2, waiting for the crypto stages: split once, at step 1. */
export interface ScreenedKnock extends ReplayIds, KnockDatagram {
  readonly datagram: Uint8Array;
  readonly source: KnockSource;
  readonly version: KnockVersion;
  /** Views of its ciphertext and its last 65 bytes. */
  readonly ciphertext: Uint8Array;
  readonly ephemeralPublicKey: Uint8Array;
}

export interface KnockPipelineOptions extends PipelineDependencies {
  readonly rateLimiter?: SourceRateLimiter;
  readonly replayCache?: ReplayCache;
  readonly grantsCache?: GrantsCache;
  /** Step 3's ECDH + HKDF (default: `knockPacketKeys` of @sknock/protocol); tests count calls. */
  readonly keyAgreement?: KeyAgreement;
}

export interface KnockPipeline {
  /** Steps 1–2: no cryptography. */
  screen(datagram: Uint8Array, source: KnockSource, nowMs: number): StepResult<ScreenedKnock>;
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

const defaultKeyAgreement: KeyAgreement = (ephemeralPublicKey, privateKey) => knockPacketKeys(ephemeralPublicKey, { privateKey });

function internalError(err: unknown): Reject {
  const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return reject('internal-error', what);
}

/**
 * What steps 3–9 found out that step 2 can use next time, remembered once the knock is
 * refused (an accepted knock's key refuses every later datagram with it anyway, so the
 * valid path spends nothing on this).
 */
interface Findings {
  /** Keys that just cost an ECDH. */
  fresh: KnockKeys | undefined;
  /** `ciphertextDigest`, if step 2 computed it. */
  digest: string | undefined;
  /** A reject this ciphertext's bytes decide (and the trust store it holds under, if only one). */
  fixed: Reject | undefined;
  fixedUnder: CertificateVerifier | undefined;
  /** Decrypted, a trusted certificate and a good signature: the request (what it binds). */
  authentic: OpenedKnock | undefined;
  /** A later check of an authentic knock that its bytes decide (`not-granted`). */
  authenticRefused: Reject | undefined;
}

/** Notes a reject this ciphertext's bytes decide (under `onlyUnder`, if it holds only there). */
function fixed(found: Findings, r: Reject, onlyUnder?: CertificateVerifier): Reject {
  found.fixed = r;
  found.fixedUnder = onlyUnder;
  return r;
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
  const keyAgreement = options.keyAgreement ?? defaultKeyAgreement;

  function screen(datagram: Uint8Array, source: KnockSource, nowMs: number): StepResult<ScreenedKnock> {
    try {
      const parsed = checkSize(datagram, source.family, deps.settings);
      if (isReject(parsed)) return parsed;
      const limited = checkRateLimit(rateLimiter, source, nowMs);
      if (isReject(limited)) return limited;
      const { version, ciphertext, ephemeralPublicKey } = parsed;
      const ids = checkReplay(replayCache, ciphertext, ephemeralPublicKey, source, nowMs, {
        thresholdSeconds: deps.settings.timestampThresholdSeconds,
        trust: deps.trust,
      });
      if (isReject(ids)) return ids;
      // Built field by field, one shape for all: a spread of `ids` cost more than the rest of step 2.
      return { keyId: ids.keyId, y: ids.y, digest: ids.digest, datagram, source, version, ciphertext, ephemeralPublicKey };
    } catch (err) {
      return internalError(err);
    }
  }

  function verify(knock: ScreenedKnock, nowMs: number): KnockResult {
    const found: Findings = { fresh: undefined, digest: undefined, fixed: undefined, fixedUnder: undefined, authentic: undefined, authenticRefused: undefined };
    const result = checkKnock(knock, nowMs, found);
    if (result.ok) return result;
    try {
      rememberFindings(knock, found, nowMs);
    } catch (err) {
      return internalError(err);
    }
    return result;
  }

  function rememberFindings(knock: ScreenedKnock, found: Findings, nowMs: number): void {
    const { keyId, source } = knock;
    if (found.fresh !== undefined) {
      replayCache.rememberKeys(keyId, knock.y, found.fresh, nowMs, ReplayCache.lifetimeMs(deps.settings.timestampThresholdSeconds));
    }
    if (found.authentic === undefined && found.fixed === undefined) return;
    const digest = found.digest ?? knock.digest ?? ciphertextDigest(knock.ciphertext);
    const opened = found.authentic;
    if (opened !== undefined) {
      // Now no other ciphertext with this key can be genuine, and a copy of this one from
      // another address, or outside the window, is dropped at step 2.
      const address = canonicalIpAddress(opened.address); // already canonical: a safety net, once
      const authentic = { digest, family: source.family, address, timestamp: opened.timestamp, refused: found.authenticRefused };
      replayCache.rememberAuthentic(keyId, authentic, nowMs);
    } else if (found.fixed !== undefined) {
      const trust = found.fixedUnder === undefined ? {} : { trust: found.fixedUnder };
      replayCache.rememberReject(keyId, { digest, family: source.family, reject: found.fixed, ...trust }, nowMs);
    }
  }

  function checkKnock(knock: ScreenedKnock, nowMs: number, found: Findings): KnockResult {
    const { settings, privateKey, trust, opener } = deps;
    const { source, keyId } = knock;
    const thresholdSeconds = settings.timestampThresholdSeconds;
    try {
      // Step 2b again: while this datagram waited in the queue, a copy ahead of it may have
      // been accepted, or have taught the seen tier what this one would come to (cheap).
      const again = checkReplayOf(replayCache, keyId, knock.y, knock.ciphertext, source, nowMs, { thresholdSeconds, trust });
      if (isReject(again)) return again;
      if (again.digest !== undefined) found.digest = again.digest;

      const point = checkKeys(replayCache, keyId, knock.y, knock.ephemeralPublicKey, privateKey, keyAgreement, nowMs, ReplayCache.lifetimeMs(thresholdSeconds));
      if (isReject(point)) return point;
      if (point.fresh) found.fresh = point.keys;
      const opened = checkDecrypt(knock, source, point.keys);
      if (isReject(opened)) return fixed(found, opened);

      const cert = checkCertificate(trust, opened.certificate, nowMs);
      // Only a certificate that does not chain (or is no P-256 client certificate) stays
      // refused, under this trust store; validity and revocation change with time and CRLs,
      // and a certificate whose chain verified is checked again cheaply.
      if (isReject(cert)) {
        const refused = reject(cert.code, cert.detail);
        return cert.lasting ? fixed(found, refused, trust) : refused;
      }

      const badSignature = checkSignature(opened, cert.publicKey);
      if (isReject(badSignature)) return fixed(found, badSignature);
      found.authentic = opened;

      const skewSeconds = checkTimestamp(opened.timestamp, nowMs, thresholdSeconds);
      if (isReject(skewSeconds)) return skewSeconds;

      const certificateHash = cert.certificateId;
      const notGranted = checkGrant(grantsCache, certificateHash, opened.certificate, opened.protocol, opened.port);
      if (isReject(notGranted)) {
        found.authenticRefused = notGranted;
        return notGranted;
      }

      const mismatch = checkAddress(opened.address, source);
      if (isReject(mismatch)) return mismatch;

      // Only now is the key recorded as a replay for every later datagram. A knock refused
      // above (stale, not granted, from another address) cannot be replayed into a grant
      // anyway: a copy is bit for bit the same signed request, so it binds the same address,
      // timestamp and port and goes through the same checks; one that passes them later is
      // that knock's first acceptance, and is recorded then. Recording earlier would let
      // anyone who sees a knock spend its key (a copy sent first from another address) and
      // let one certificate fill this tier with knocks that open nothing.
      const unrecorded = recordAcceptedKey(replayCache, keyId, certificateHash, nowMs, thresholdSeconds);
      if (isReject(unrecorded)) return unrecorded;

      const grant: Grant = { address: source.address, family: source.family, protocol: opened.protocol, port: opened.port };
      const meta = { subject: cert.subject, serial: cert.serial, issuer: cert.issuer, certificateId: certificateHash, chain: cert.chain };
      const refused = openGrant(opener, grant, settings.portOpenDurationSeconds, meta);
      if (isReject(refused)) {
        // Not accepted after all: its key may be accepted later (it is that knock's first time).
        replayCache.unmarkVerified(keyId);
        return refused;
      }

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
      // The seen tier's keys and verdicts were derived with the server key: a new one voids them.
      if (changes.privateKey !== undefined && !changes.privateKey.equals(deps.privateKey)) replayCache.forgetSeen();
      deps = { ...deps, ...changes };
    },
    rateLimiter,
    replayCache,
    grantsCache,
  };
}
