import { performance } from 'node:perf_hooks';
import type { IpFamily } from '@sknock/protocol';
import { PUBLIC_ADDRESS_CACHE_ENTRIES, PUBLIC_ADDRESS_CACHE_MS } from './constants.js';
import { publishPublicAddress } from './diagnostics.js';
import { SknockClientError } from './errors.js';
import { resolveHost } from './resolve-host.js';
import { queryStun } from './stun-query.js';
import type { StunServer } from './stun-server.js';

/**
 * `sourceAddress: 'auto'`: the public address, asked of the STUN server the caller named and
 * kept for `PUBLIC_ADDRESS_CACHE_MS` (30 s, see constants.ts) per (server, family, local
 * address). Only a completed answer is cached; a failed call forgets its entry (`forget`).
 */

export interface PublicAddressOptions {
  readonly stunServer: StunServer;
  readonly family: IpFamily;
  readonly localAddress?: string | undefined;
  /** `performance.now()` time by which it must be known. */
  readonly deadline: number;
  readonly signal?: AbortSignal | undefined;
}

interface Entry {
  readonly address: string;
  readonly expiresAt: number;
}

const cache = new Map<string, Entry>();

function cacheKey(o: Pick<PublicAddressOptions, 'stunServer' | 'family' | 'localAddress'>): string {
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
  const server = await resolveStunHost(o);
  const answer = await queryStun({
    address: server,
    port: o.stunServer.port,
    family: o.family,
    serverText: o.stunServer.text,
    localAddress: o.localAddress,
    deadline: o.deadline,
    signal: o.signal,
  });
  while (cache.size >= PUBLIC_ADDRESS_CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
  cache.set(key, { address: answer.address, expiresAt: now() + PUBLIC_ADDRESS_CACHE_MS });
  publishPublicAddress({ stunServer: o.stunServer.text, address: answer.address, cached: false, requests: answer.requests, elapsedMs: now() - started });
  return answer.address;
}

/** Drops the cached answer (after a knock bound to it did not open the port). */
export function forgetPublicAddress(o: Pick<PublicAddressOptions, 'stunServer' | 'family' | 'localAddress'>): void {
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
