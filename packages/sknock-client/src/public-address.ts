import { performance } from 'node:perf_hooks';
import type { IpFamily } from '@sknock/protocol';
import { PUBLIC_ADDRESS_CACHE_ENTRIES, PUBLIC_ADDRESS_CACHE_MS } from './constants.js';
import { publishPublicAddress } from './diagnostics.js';
import { SknockClientError } from './errors.js';
import { resolveHost } from './resolve-host.js';
import { queryStun, type StunAnswer } from './stun-query.js';
import type { StunServer } from './stun-server.js';

/**
 * `sourceAddress: 'auto'`: the public address, asked of the STUN server the caller named and
 * kept for `PUBLIC_ADDRESS_CACHE_MS` (30 s, see constants.ts) per (server, family, local
 * address). Only a completed answer is cached; a failed call forgets its entry (`forget`).
 * Calls that find no answer cached while one is being asked for share that transaction (ten
 * concurrent `connect()` send one STUN request); it runs until the first caller's deadline
 * and is cancelled once every caller has left (aborted, or out of its own time).
 */

/** What an answer is kept per. */
export interface PublicAddressKey {
  readonly stunServer: StunServer;
  readonly family: IpFamily;
  readonly localAddress?: string | undefined;
}

export interface PublicAddressOptions extends PublicAddressKey {
  /** `performance.now()` time by which it must be known. */
  readonly deadline: number;
  readonly signal?: AbortSignal | undefined;
}

interface Entry {
  readonly address: string;
  readonly expiresAt: number;
}

/** A STUN transaction under way and the calls waiting for it. */
interface Shared {
  readonly answer: Promise<StunAnswer>;
  readonly cancel: AbortController;
  /** The first caller's deadline, which bounds the transaction. */
  readonly deadline: number;
  waiting: number;
}

const cache = new Map<string, Entry>();
const underWay = new Map<string, Shared>();

function cacheKey(o: PublicAddressKey): string {
  return JSON.stringify([o.stunServer.host.toLowerCase(), o.stunServer.port, o.family, o.localAddress ?? '']);
}

/** The public address (canonical text) for a knock of `family`. */
export async function publicAddress(o: PublicAddressOptions, now: () => number = () => performance.now()): Promise<string> {
  const started = now();
  const key = cacheKey(o);
  const hit = cache.get(key);
  if (hit !== undefined && hit.expiresAt > started) {
    publishPublicAddress({ stunServer: o.stunServer.text, address: hit.address, cached: true, requests: 0, elapsedMs: now() - started });
    return hit.address;
  }
  cache.delete(key);
  let shared = underWay.get(key);
  const leader = shared === undefined;
  if (shared === undefined) {
    const cancel = new AbortController();
    const answer = ask(o, cancel.signal).then((a) => {
      while (cache.size >= PUBLIC_ADDRESS_CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
      cache.set(key, { address: a.address, expiresAt: now() + PUBLIC_ADDRESS_CACHE_MS });
      return a;
    });
    const created: Shared = { answer, cancel, deadline: o.deadline, waiting: 0 };
    const done = (): void => {
      if (underWay.get(key) === created) underWay.delete(key);
    };
    answer.then(done, done);
    underWay.set(key, created);
    shared = created;
  }
  const answer = await waitFor(shared, o);
  publishPublicAddress({
    stunServer: o.stunServer.text,
    address: answer.address,
    cached: !leader,
    requests: leader ? answer.requests : 0,
    elapsedMs: now() - started,
  });
  return answer.address;
}

async function ask(o: PublicAddressOptions, signal: AbortSignal): Promise<StunAnswer> {
  const server = await resolveStunHost(o);
  return queryStun({
    address: server,
    port: o.stunServer.port,
    family: o.family,
    serverText: o.stunServer.text,
    localAddress: o.localAddress,
    deadline: o.deadline,
    signal,
  });
}

/** One caller's wait for a shared transaction, bounded by its own deadline and signal. */
function waitFor(shared: Shared, o: PublicAddressOptions): Promise<StunAnswer> {
  shared.waiting++;
  return new Promise<StunAnswer>((resolve, reject) => {
    let left = false;
    const leave = (): void => {
      if (left) return;
      left = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      if (--shared.waiting === 0) shared.cancel.abort();
    };
    const onAbort = (): void => {
      leave();
      reject(new SknockClientError('ERR_SKNOCK_ABORTED', 'knock aborted while asking the STUN server for the public address', { cause: o.signal?.reason, attempts: 0 }));
    };
    // A caller with less time than the transaction's leaves on its own; the rest end with it.
    const timer = o.deadline >= shared.deadline ? undefined : setTimeout(() => {
      leave();
      reject(
        new SknockClientError('ERR_SKNOCK_STUN_FAILED', `stunServer: no answer from ${o.stunServer.text} within the time left (a request another call made is still under way)`, {
          option: 'stunServer',
        }),
      );
    }, Math.max(0, o.deadline - performance.now()));
    if (o.signal?.aborted) {
      onAbort();
      return;
    }
    o.signal?.addEventListener('abort', onAbort, { once: true });
    shared.answer.then(
      (a) => {
        if (left) return;
        leave();
        resolve(a);
      },
      (err: unknown) => {
        if (left) return;
        leave();
        reject(err);
      },
    );
  });
}

/** Drops the cached answer (after a knock bound to it did not open the port). */
export function forgetPublicAddress(o: PublicAddressKey): void {
  cache.delete(cacheKey(o));
}

/** Test hook: empties the cache. */
export function clearPublicAddressCache(): void {
  cache.clear();
}

async function resolveStunHost(o: PublicAddressOptions): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new SknockClientError('ERR_SKNOCK_STUN_FAILED', `stunServer: resolving ${o.stunServer.host} took longer than the time left`, { option: 'stunServer' })),
      Math.max(0, o.deadline - performance.now()),
    );
  });
  try {
    const { address } = await Promise.race([resolveHost(o.stunServer.host, o.family), late]);
    return address;
  } catch (err) {
    if (err instanceof SknockClientError && err.code === 'ERR_SKNOCK_RESOLVE_FAILED') {
      const code = (err.cause as NodeJS.ErrnoException | undefined)?.code ?? 'error';
      throw new SknockClientError('ERR_SKNOCK_RESOLVE_FAILED', `stunServer: ${o.stunServer.host} does not resolve to an IPv${o.family} address (the knock goes over IPv${o.family}): ${code}`, {
        option: 'stunServer',
        cause: err,
      });
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
