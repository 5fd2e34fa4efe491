import { randomInt } from 'node:crypto';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { performance } from 'node:perf_hooks';
import { RANDOM_KNOCK_PORT_MAX, RANDOM_KNOCK_PORT_MIN, createKnockPacket, type IpFamily, type KnockProtocol } from '@sknock/protocol';
import { DEFAULT_KNOCK_AFTER_MS } from './constants.js';
import { checkUsable, loadClientCredentials, loadServerCertificate, type LoadedCredentials } from './credentials.js';
import { publishFailure } from './diagnostics.js';
import { SknockClientError, invalidOption, toClientError } from './errors.js';
import { GrantMemory } from './grant-memory.js';
import type { ConnectOptions, SocketDefaults, TlsConnectOptions } from './connect-options.js';
import type { KnockingSocket } from './knocking-socket.js';
import { validateKnockerOptions, validateTargetOptions, type KnockTargetOptions, type KnockerOptions, type NormalizedKnockerOptions, type NormalizedTarget } from './options.js';
import { PortFlight, type FlightHost, type FlightOutcome, type Located } from './port-flight.js';
import { resolveHost } from './resolve-host.js';
import { sendDatagram } from './send-datagram.js';
import { localAddressToward } from './source-address.js';

/**
 * A knocker: loaded credentials, the grants it made (`GrantMemory`) and the flights under way
 * (`PortFlight`: one datagram and one wait for concurrent calls to the same target).
 */

/** What a successful knock resolves to. */
export interface KnockResult {
  /** The IP address knocked at (and probed). */
  readonly address: string;
  readonly port: number;
  readonly protocol: KnockProtocol;
  /** Knock datagrams sent (0 when the port already answered: a grant was still running). */
  readonly attempts: number;
  /** ms from the call to the port answering (or to the datagram being sent, unverified). */
  readonly elapsedMs: number;
  /** `true` when a TCP connection to the port succeeded; `false` for UDP and `verify: false`. */
  readonly verified: boolean;
  /** The address bound into the knock (what the server must see as the source). */
  readonly sourceAddress: string;
  /**
   * How long the grant lasts, s: the `grantSeconds` option, or what this knocker learned
   * (the longest time after a knock at which a connection still succeeded, once a later
   * connection found the port closed); `undefined` when neither says.
   */
  readonly grantSeconds: number | undefined;
  /** When the grant of the last knock runs out (ms since the epoch, as `Date.now()`), when `grantSeconds` is known. */
  readonly grantExpiresAt: number | undefined;
}

/** Loaded, checked credentials: knock and connect as often as you like without loading them again. */
export interface Knocker {
  /** Knocks (always sends a datagram) and, for TCP, waits until the port answers. */
  knock(options: KnockTargetOptions): Promise<KnockResult>;
  /** A TCP connection to the port, knocking first only when it does not answer (`connect()`). */
  connect(options: ConnectOptions): Promise<Socket>;
  /** `connect()`, then TLS over that connection (`tlsConnect()`). */
  tlsConnect(options: TlsConnectOptions): Promise<TLSSocket>;
  /**
   * A socket-like stream that knocks and connects when its `connect(port, host)` is called:
   * for libraries that take a stream factory and connect it themselves (pg's `stream`).
   */
  socket(defaults?: SocketDefaults): KnockingSocket;
}

/** Internal extras (the CLI's and `connect()`'s): not part of the public API. */
export interface KnockInternals {
  /** Want a connection of one's own (`connect()`): tries the port first, keeps the connection that answered. */
  readonly keepSocket?: boolean;
  /** With `keepSocket`: ms the port is given before knocking (default `DEFAULT_KNOCK_AFTER_MS`). */
  readonly knockAfter?: number;
}

export type KnockOutcome = FlightOutcome;

export interface PreparedKnock {
  readonly host: string;
  /** The resolved address, or the host as given when the host was not resolved. */
  readonly address: string;
  readonly sourceAddress: string;
  readonly datagram: Uint8Array;
  readonly knockPort: number;
}

export class KnockerImpl implements FlightHost {
  readonly memory = new GrantMemory();
  readonly #flights = new Map<string, PortFlight>();

  constructor(
    private readonly credentials: LoadedCredentials,
    private readonly serverCertificate: Uint8Array,
  ) {}

  async knock(options: KnockTargetOptions): Promise<KnockResult> {
    const target = validateTargetOptions(options);
    const { socket: _none, ...result } = await this.run(target, performance.now(), {});
    return result;
  }

  /**
   * Runs a validated knock (or, with `keepSocket`, a connect). `started` is the
   * `performance.now()` of the user's call. Joins the flight already under way for the same
   * target, if there is one.
   */
  async run(target: NormalizedTarget, started: number, internals: KnockInternals): Promise<KnockOutcome> {
    try {
      throwIfAborted(target.signal, 0);
      const wantsSocket = internals.keepSocket === true && target.protocol === 'tcp' && target.verify;
      const grantKey = `${target.host}|${target.family}|${target.port}|${target.sourceAddress ?? ''}`;
      const flightKey = `${grantKey}|${target.protocol}|${target.verify}|${target.knockPort ?? ''}`;
      const join = { started, deadline: started + target.timeout, wantsSocket, forceKnock: !wantsSocket, signal: target.signal };
      let flight = this.#flights.get(flightKey);
      if (flight === undefined) {
        const knockAfter = wantsSocket ? (internals.knockAfter ?? DEFAULT_KNOCK_AFTER_MS) : 0;
        const created = new PortFlight(this, { ...target, knockAfter }, grantKey, join, () => {
          if (this.#flights.get(flightKey) === created) this.#flights.delete(flightKey);
        });
        flight = created;
        this.#flights.set(flightKey, created);
      }
      return await flight.join(join);
    } catch (err) {
      const error = toClientError(err);
      publishFailure({
        host: target.host,
        port: target.port,
        code: error.code,
        message: error.message,
        attempts: error.attempts ?? 0,
        elapsedMs: performance.now() - started,
      });
      throw error;
    }
  }

  checkUsable(target: NormalizedTarget): void {
    checkUsable(this.credentials, target.protocol, target.port);
  }

  async send(located: Located, knockPort: number, datagram: Uint8Array, attempts: number): Promise<void> {
    try {
      await sendDatagram({ address: located.address, port: knockPort, family: located.family, data: datagram });
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException)?.code ?? String(cause);
      throw new SknockClientError('ERR_SKNOCK_SEND_FAILED', `cannot send the knock to ${located.address} port ${knockPort}: ${code}`, { cause, attempts });
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
    if (target.sourceAddress !== undefined) {
      const sourceAddress = stripZone(target.sourceAddress);
      return { host: target.host, address: target.host, sourceAddress, knockPort, datagram: this.packet(target, sourceAddress) };
    }
    const { address, sourceAddress } = await this.locate(target, deadline);
    return { host: target.host, address, sourceAddress, knockPort, datagram: this.packet(target, sourceAddress) };
  }

  async locate(target: NormalizedTarget, deadline: number): Promise<{ address: string; family: IpFamily; sourceAddress: string }> {
    const { address, family } = await beforeDeadline(resolveHost(target.host, target.family), deadline, target.signal);
    let sourceAddress = target.sourceAddress;
    if (sourceAddress !== undefined) {
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

  packet(target: NormalizedTarget, sourceAddress: string): Uint8Array {
    return createKnockPacket({
      credentials: this.credentials,
      serverCertificate: this.serverCertificate,
      protocol: target.protocol,
      port: target.port,
      address: sourceAddress,
    });
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

/** Loads a knocker's credentials and server certificate (validated options). */
export async function loadKnocker(options: NormalizedKnockerOptions): Promise<KnockerImpl> {
  const [credentials, serverCertificate] = await Promise.all([loadClientCredentials(options.source), loadServerCertificate(options.serverCertificate)]);
  return new KnockerImpl(credentials, serverCertificate);
}
