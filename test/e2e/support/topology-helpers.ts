/** Small helpers over the netns harness for tests that run the same steps over IPv4 and IPv6. */
import type { Namespace, TcpProbeResult, UdpProbeResult } from '../../support/netns.js';

export type Family = 4 | 6;
export const FAMILIES: readonly Family[] = [4, 6];

/** `ns`'s address of `family` on the test link. */
export function addressOf(ns: Namespace, family: Family): string {
  return family === 4 ? ns.ipv4 : ns.ipv6;
}

/** Runs `fn` for IPv4 and IPv6 side by side. */
export async function bothFamilies<T>(fn: (family: Family) => Promise<T>): Promise<T[]> {
  return Promise.all(FAMILIES.map((f) => fn(f)));
}

export interface ProbeSpec {
  readonly from: Namespace;
  readonly family: Family;
  readonly protocol: 'tcp' | 'udp';
  readonly port: number;
}

/** `client1 -> tcp/2000 over IPv4`: a readable key for a probe table. */
export function probeName(p: ProbeSpec): string {
  return `${p.from.role} -> ${p.protocol}/${p.port} over IPv${p.family}`;
}

/**
 * Runs every probe side by side and returns `{ name: result }`, so one `deepEqual` against
 * the expected table shows every difference at once.
 */
export async function probeAll(server: Namespace, probes: readonly ProbeSpec[], timeoutMs = 400): Promise<Record<string, TcpProbeResult | UdpProbeResult>> {
  const results = await Promise.all(
    probes.map((p) =>
      p.protocol === 'tcp'
        ? p.from.probeTcp(addressOf(server, p.family), p.port, { timeoutMs })
        : p.from.probeUdp(addressOf(server, p.family), p.port, { timeoutMs }),
    ),
  );
  return Object.fromEntries(probes.map((p, i) => [probeName(p), results[i] as TcpProbeResult | UdpProbeResult]));
}
