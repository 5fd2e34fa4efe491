/**
 * What the kernel holds for one grant: how many nftables set elements or iptables rules
 * allow (address, protocol, port), read inside the server namespace.
 */
import type { Namespace } from '../../support/netns.js';

export type BackendName = 'nftables' | 'iptables';

export interface GrantQuery {
  readonly address: string;
  readonly protocol: 'tcp' | 'udp';
  readonly port: number;
}

/** Number of set elements (nftables, table `inet sknock`) or ACCEPT rules (iptables chain SKNOCK-GRANTS) for `grant`. */
export async function grantEntryCount(ns: Namespace, backend: BackendName, grant: GrantQuery): Promise<number> {
  const v6 = grant.address.includes(':');
  if (backend === 'nftables') {
    const r = await ns.exec('nft', ['list', 'set', 'inet', 'sknock', v6 ? 'ipv6_grants' : 'ipv4_grants'], { allowFailure: true });
    if (r.code !== 0) return 0;
    const element = `${grant.address} . ${grant.protocol} . ${grant.port}`;
    return r.stdout.split(element).length - 1;
  }
  const r = await ns.exec(v6 ? 'ip6tables-save' : 'iptables-save', ['-t', 'filter'], { allowFailure: true });
  const rule = `-A SKNOCK-GRANTS -s ${grant.address}/${v6 ? 128 : 32} -p ${grant.protocol} -m ${grant.protocol} --dport ${grant.port} -j ACCEPT`;
  return r.stdout.split('\n').filter((l) => l.trim() === rule).length;
}

/** The whole table `inet sknock` as nft lists it ('' when there is none). */
export async function nftSknockTable(ns: Namespace): Promise<string> {
  const r = await ns.exec('nft', ['list', 'table', 'inet', 'sknock'], { allowFailure: true });
  return r.code === 0 ? r.stdout : '';
}
