import { randomInt } from 'node:crypto';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  RANDOM_KNOCK_PORT_MAX,
  RANDOM_KNOCK_PORT_MIN,
  SknockProtocolError,
  createKnockPacket,
  type IpFamily,
  type KnockProtocol,
} from '@sknock/protocol';
import { checkUsable, loadClientCredentials, loadServerCertificate, type LoadedCredentials } from './credentials.js';
import { publishFailure, publishKnockSent, publishPortOpen, publishRetry } from './diagnostics.js';
import { SknockClientError, invalidOption } from './errors.js';
import {
  KNOCKER_OPTION_KEYS,
  TARGET_OPTION_KEYS,
  validateKnockerOptions,
  validateTargetOptions,
  type KnockTargetOptions,
  type KnockerOptions,
  type NormalizedKnockerOptions,
  type NormalizedTarget,
} from './options.js';
import { applyProfile, type ProfileKnockerOptions } from './profile/apply-profile.js';
import { mergeKnockSettings } from './profile/merge.js';
import { pollPort } from './probe-port.js';
import { forgetPublicAddress, publicAddress } from './public-address.js';
import { resolveHost } from './resolve-host.js';
import { sendDatagram } from './send-datagram.js';
import { localAddressToward } from './source-address.js';

/**
 * The knock itself: resolve once, then up to `retries + 1` tries, each a fresh knock
 * datagram followed by TCP probes for its share of the remaining time.
 */

/** What a successful knock resolves to. */
export interface KnockResult {
  /** The IP address knocked at (and probed). */
  readonly address: string;
  readonly port: number;
  readonly protocol: KnockProtocol;
  /** Knock datagrams sent. */
  readonly attempts: number;
  /** ms from the call to the port answering (or to the datagram being sent, unverified). */
  readonly elapsedMs: number;
  /** `true` when a TCP connection to the port succeeded; `false` for UDP and `verify: false`. */
  readonly verified: boolean;
  /** The address bound into the knock (what the server must see as the source). */
  readonly sourceAddress: string;
}

/** Loaded, checked credentials: knock as often as you like without loading them again. */
export interface Knocker {
  knock(options: KnockTargetOptions): Promise<KnockResult>;
}

/** Internal extras (the CLI's): not part of the public API. */
export interface KnockInternals {
  /** Keep the probe connection that answered and return it (for `sknock connect`). */
  readonly keepSocket?: boolean;
}

export interface KnockOutcome extends KnockResult {
  readonly socket: Socket | undefined;
}

export interface PreparedKnock {
  readonly host: string;
  /** The resolved address, or the host as given when the host was not resolved. */
  readonly address: string;
  readonly sourceAddress: string;
  readonly datagram: Uint8Array;
  readonly knockPort: number;
}

export class KnockerImpl implements Knocker {
  constructor(
    private readonly credentials: LoadedCredentials,
    private readonly serverCertificate: Uint8Array,
  ) {}

  async knock(options: KnockTargetOptions): Promise<KnockResult> {
    const target = validateTargetOptions(options);
    const { socket: _none, ...result } = await this.run(target, performance.now(), {});
    return result;
  }

  /** Runs a validated knock. `started` is the `performance.now()` of the user's call. */
  async run(target: NormalizedTarget, started: number, internals: KnockInternals): Promise<KnockOutcome> {
    const deadline = started + target.timeout;
    const state: { attempts: number; family?: IpFamily } = { attempts: 0 };
    try {
      return await this.runTries(target, started, deadline, state, internals);
    } catch (err) {
      const error = toClientError(err);
      if (error.code === 'ERR_SKNOCK_PORT_NOT_OPENED' && target.sourceAddress === 'auto' && target.stunServer !== undefined && state.family !== undefined) {
        // The learned address may be stale: the next call asks the STUN server again.
        forgetPublicAddress({ stunServer: target.stunServer, family: state.family, localAddress: target.localAddress });
      }
      publishFailure({
        host: target.host,
        port: target.port,
        code: error.code,
        message: error.message,
        attempts: state.attempts,
        elapsedMs: performance.now() - started,
      });
      throw error;
    }
  }

  /**
   * Builds one datagram without sending it (`--dry-run`). With `sourceAddress` given the
   * host is not resolved (`address` is then the host as given), so a knock can be prepared
   * on a machine that cannot see the server.
   */
  async prepare(target: NormalizedTarget, started: number): Promise<PreparedKnock> {
    const deadline = started + target.timeout;
    checkUsable(this.credentials, target.protocol, target.port);
    const knockPort = target.knockPort ?? randomKnockPort();
    if (target.sourceAddress !== undefined && target.sourceAddress !== 'auto') {
      const sourceAddress = stripZone(target.sourceAddress);
      return { host: target.host, address: target.host, sourceAddress, knockPort, datagram: this.packet(target, sourceAddress) };
    }
    const { address, sourceAddress } = await this.locate(target, deadline);
    return { host: target.host, address, sourceAddress, knockPort, datagram: this.packet(target, sourceAddress) };
  }

  private async locate(target: NormalizedTarget, deadline: number): Promise<{ address: string; family: IpFamily; sourceAddress: string }> {
    const { address, family } = await beforeDeadline(resolveHost(target.host, target.family), deadline, target.signal);
    if (target.localAddress !== undefined) {
      const localFamily = stripZone(target.localAddress).includes(':') ? 6 : 4;
      if (localFamily !== family) throw invalidOption('localAddress', `is an IPv${localFamily} address but ${target.host} resolved to IPv${family} ${address}`);
    }
    let sourceAddress = target.sourceAddress;
    if (sourceAddress === 'auto' && target.stunServer !== undefined) {
      sourceAddress = await publicAddress({ stunServer: target.stunServer, family, localAddress: target.localAddress, deadline, signal: target.signal });
    } else if (sourceAddress !== undefined) {
      const bare = stripZone(sourceAddress);
      const sourceFamily = bare.includes(':') ? 6 : 4;
      if (sourceFamily !== family) {
        throw invalidOption('sourceAddress', `is an IPv${sourceFamily} address but ${target.host} resolved to IPv${family} ${address}`);
      }
      sourceAddress = bare;
    } else {
      sourceAddress = await beforeDeadline(localAddressToward(address, family), deadline, target.signal);
    }
    return { address, family, sourceAddress };
  }

  private packet(target: NormalizedTarget, sourceAddress: string): Uint8Array {
    return createKnockPacket({
      credentials: this.credentials,
      serverCertificate: this.serverCertificate,
      protocol: target.protocol,
      port: target.port,
      address: sourceAddress,
    });
  }

  private async runTries(
    target: NormalizedTarget,
    started: number,
    deadline: number,
    state: { attempts: number; family?: IpFamily },
    internals: KnockInternals,
  ): Promise<KnockOutcome> {
    throwIfAborted(target.signal, 0);
    checkUsable(this.credentials, target.protocol, target.port);
    const { address, family, sourceAddress } = await this.locate(target, deadline);
    state.family = family;
    const checking = target.protocol === 'tcp' && target.verify;
    const tries = checking ? target.retries + 1 : 1;
    let lastProbeError = 'no answer';

    for (let i = 0; i < tries; i++) {
      throwIfAborted(target.signal, state.attempts);
      if (i > 0) {
        publishRetry({ host: target.host, address, port: target.port, attempt: i + 1, elapsedMs: performance.now() - started, lastProbeError });
      }
      const knockPort = target.knockPort ?? randomKnockPort();
      const datagram = this.packet(target, sourceAddress);
      try {
        await sendDatagram({ address, port: knockPort, family, data: datagram, localAddress: target.localAddress });
      } catch (cause) {
        if (cause instanceof SknockClientError) throw cause;
        const code = (cause as NodeJS.ErrnoException)?.code ?? String(cause);
        throw new SknockClientError('ERR_SKNOCK_SEND_FAILED', `cannot send the knock to ${address} port ${knockPort}: ${code}`, {
          cause,
          attempts: state.attempts,
        });
      }
      state.attempts++;
      const sentAt = performance.now();
      publishKnockSent({
        host: target.host,
        address,
        port: target.port,
        protocol: target.protocol,
        knockPort,
        sourceAddress,
        attempt: state.attempts,
        bytes: datagram.length,
        elapsedMs: sentAt - started,
      });
      if (!checking) {
        return result(false, undefined);
      }
      // Each try gets an equal share of the time left, so a late start still leaves every
      // remaining try its window; the last one ends at the deadline.
      const until = sentAt + Math.max(0, deadline - sentAt) / (tries - i);
      const polled = await pollPort({
        address,
        port: target.port,
        family,
        until,
        signal: target.signal,
        keepSocket: internals.keepSocket === true,
        localAddress: target.localAddress,
      });
      if (polled.outcome === 'open') {
        const now = performance.now();
        publishPortOpen({
          host: target.host,
          address,
          port: target.port,
          attempt: state.attempts,
          elapsedMs: now - started,
          sinceKnockMs: now - sentAt,
          probes: polled.probes,
        });
        return result(true, polled.socket, now);
      }
      if (polled.outcome === 'aborted') throwIfAborted(target.signal, state.attempts);
      if (polled.outcome === 'closed') lastProbeError = polled.lastError;
    }
    throw new SknockClientError(
      'ERR_SKNOCK_PORT_NOT_OPENED',
      `tcp/${target.port} on ${target.host === address ? address : `${target.host} (${address})`} did not open after ` +
        `${plural(state.attempts, 'knock')} in ${Math.round(performance.now() - started)} ms (last probe: ${lastProbeError})`,
      { attempts: state.attempts },
    );

    function result(verified: boolean, socket: Socket | undefined, now = performance.now()): KnockOutcome {
      return { address, port: target.port, protocol: target.protocol, attempts: state.attempts, elapsedMs: now - started, verified, sourceAddress, socket };
    }
  }
}

function stripZone(address: string): string {
  return address.includes('%') ? address.slice(0, address.indexOf('%')) : address;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function randomKnockPort(): number {
  return randomInt(RANDOM_KNOCK_PORT_MIN, RANDOM_KNOCK_PORT_MAX + 1);
}

function throwIfAborted(signal: AbortSignal | undefined, attempts: number): void {
  if (signal?.aborted) {
    throw new SknockClientError('ERR_SKNOCK_ABORTED', `knock aborted${attempts > 0 ? ` after ${plural(attempts, 'knock')}` : ''}`, {
      cause: signal.reason,
      attempts,
    });
  }
}

/**
 * Races a step that cannot itself be cancelled (dns.lookup) against the deadline and the
 * signal. The step's own later failure is swallowed.
 */
function beforeDeadline<T>(step: Promise<T>, deadline: number, signal: AbortSignal | undefined): Promise<T> {
  throwIfAborted(signal, 0);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      cleanup();
      try {
        throwIfAborted(signal, 0);
      } catch (err) {
        reject(err);
      }
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new SknockClientError('ERR_SKNOCK_TIMEOUT', 'timeout: ran out of time before the first knock was sent (resolving the host took too long)', { attempts: 0 }));
    }, Math.max(0, deadline - performance.now()));
    const cleanup = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    step.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (err: unknown) => {
        cleanup();
        reject(err);
      },
    );
  });
}

function toClientError(err: unknown): SknockClientError {
  if (err instanceof SknockClientError) return err;
  if (err instanceof SknockProtocolError) {
    return new SknockClientError('ERR_SKNOCK_CREDENTIALS', `cannot build the knock: ${err.message} [${err.code}]`, { cause: err });
  }
  return new SknockClientError('ERR_SKNOCK_SEND_FAILED', `unexpected failure: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

/** Loads a knocker's credentials and server certificate (validated options). */
export async function loadKnocker(options: NormalizedKnockerOptions): Promise<KnockerImpl> {
  const [credentials, serverCertificate] = await Promise.all([loadClientCredentials(options.source), loadServerCertificate(options.serverCertificate)]);
  return new KnockerImpl(credentials, serverCertificate);
}

/**
 * Loads and checks credentials and the server certificate once (PKCS#12 decryption is slow
 * on purpose) and returns a knocker for apps that knock often.
 */
export async function createKnocker(options: KnockerOptions | ProfileKnockerOptions): Promise<Knocker> {
  const { options: filled, section } = await applyProfile(options, KNOCKER_OPTION_KEYS, true);
  if (section === undefined) {
    const impl = await loadKnocker(validateKnockerOptions(filled));
    return { knock: (target: KnockTargetOptions) => impl.knock(target) };
  }
  // From a profile: its credentials now, its knock settings as defaults of every knock.
  const credentials = Object.fromEntries(Object.entries(filled).filter(([k]) => !TARGET_OPTION_KEYS.includes(k)));
  const impl = await loadKnocker(validateKnockerOptions(credentials));
  return {
    knock: (target: KnockTargetOptions) =>
      impl.knock(target !== null && typeof target === 'object' ? (mergeKnockSettings(target as unknown as Record<string, unknown>, section.settings) as unknown as KnockTargetOptions) : target),
  };
}
