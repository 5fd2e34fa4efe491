/**
 * The nft scripts of the nftables back end, as pure functions of checked input (see
 * validate.ts), so their text can be unit-tested without root.
 *
 * The daemon owns one table, `inet <table>` (default `inet sknock`), and nothing else:
 *
 * ```
 * table inet sknock {
 *   set ipv4_grants { type ipv4_addr . inet_proto . inet_service; flags timeout; }
 *   set ipv6_grants { type ipv6_addr . inet_proto . inet_service; flags timeout; }
 *   chain input {
 *     type filter hook input priority filter - 1; policy accept;
 *     # policy reject|drop only:
 *     ct state established,related accept
 *     iif "lo" accept
 *     meta l4proto { icmp, ipv6-icmp } accept          # ICMPv6 carries neighbour discovery
 *     tcp dport { 22 } accept                         # emergencyAccessPorts
 *     udp dport 62201 udp length >= 808 @th,64,32 0x61010000 accept   # knock-shaped only
 *     # every policy:
 *     ip saddr . meta l4proto . th dport @ipv4_grants accept
 *     ip6 saddr . meta l4proto . th dport @ipv6_grants accept
 *     # policy reject:  meta l4proto tcp reject with tcp reset; reject with icmpx type port-unreachable
 *     # policy drop:    drop
 *   }
 *   chain knock_redirect {                             # anyPortKnocks only
 *     type nat hook prerouting priority dstnat; policy accept;
 *     udp length >= 808 @th,64,32 0x61010000 redirect to :62201
 *   }
 * }
 * ```
 *
 * Under `reject` the host answers exactly as a host without a firewall answers for a port
 * nobody listens on: TCP reset for TCP, ICMP port unreachable for the rest. A datagram to the
 * knock port that is not knock-shaped gets that same answer, so the daemon's socket does not
 * show itself to a scanner; under `drop` both vanish alike.
 */
import type { FirewallSetup, Grant, PortSpec } from './backend.js';
import { KNOCK_HEADER_WORD, UDP_HEADER_LENGTH } from './constants.js';

export const NFT_SET_IPV4 = 'ipv4_grants';
export const NFT_SET_IPV6 = 'ipv6_grants';
export const NFT_INPUT_CHAIN = 'input';
export const NFT_REDIRECT_CHAIN = 'knock_redirect';

/** One element to write with its timeout, for setup scripts. */
export interface TimedGrant {
  readonly grant: Grant;
  readonly timeoutMs: number;
}

function element(grant: Grant): string {
  return `${grant.address} . ${grant.protocol} . ${grant.port}`;
}

/** The match of a knock-shaped UDP datagram: long enough, first four payload bytes `a` 1 0 0. */
export function knockShapeMatch(minKnockDatagramLength: number): string {
  return `udp length >= ${minKnockDatagramLength + UDP_HEADER_LENGTH} @th,64,32 0x${KNOCK_HEADER_WORD.toString(16).padStart(8, '0')}`;
}

function portsRule(ports: readonly PortSpec[], protocol: 'tcp' | 'udp'): string | undefined {
  const list = [...new Set(ports.filter((p) => p.protocol === protocol).map((p) => p.port))].sort((a, b) => a - b);
  return list.length === 0 ? undefined : `${protocol} dport { ${list.join(', ')} } accept`;
}

/** The rules of the input chain, in order (without the chain's type line). */
export function inputChainRules(setup: FirewallSetup): string[] {
  const rules: string[] = [];
  const guarded = setup.policy !== 'none';
  if (guarded) {
    rules.push('ct state established,related accept');
    rules.push('iif "lo" accept');
    rules.push('meta l4proto { icmp, ipv6-icmp } accept');
    for (const protocol of ['tcp', 'udp'] as const) {
      const rule = portsRule(setup.emergencyAccessPorts, protocol);
      if (rule) rules.push(rule);
    }
    rules.push(`udp dport ${setup.knockPort} ${knockShapeMatch(setup.minKnockDatagramLength)} accept`);
  }
  rules.push(`ip saddr . meta l4proto . th dport @${NFT_SET_IPV4} accept`);
  rules.push(`ip6 saddr . meta l4proto . th dport @${NFT_SET_IPV6} accept`);
  if (setup.policy === 'reject') {
    rules.push('meta l4proto tcp reject with tcp reset');
    rules.push('reject with icmpx type port-unreachable');
  } else if (setup.policy === 'drop') {
    rules.push('drop');
  }
  return rules;
}

/**
 * Replaces the table in one transaction: removes a stale table of an earlier run (the empty
 * `table` line makes the `delete` succeed when there is none), creates the sets and chains,
 * and writes `grants` back with their remaining timeouts. Atomic: on any error nothing changes.
 */
export function nftSetupScript(table: string, setup: FirewallSetup, grants: readonly TimedGrant[] = []): string {
  const lines = [
    `table inet ${table} {}`,
    `delete table inet ${table}`,
    `table inet ${table} {`,
    `\tset ${NFT_SET_IPV4} { type ipv4_addr . inet_proto . inet_service; flags timeout; }`,
    `\tset ${NFT_SET_IPV6} { type ipv6_addr . inet_proto . inet_service; flags timeout; }`,
    `\tchain ${NFT_INPUT_CHAIN} {`,
    '\t\ttype filter hook input priority filter - 1; policy accept;',
    ...inputChainRules(setup).map((r) => `\t\t${r}`),
    '\t}',
  ];
  if (setup.anyPortKnocks) {
    lines.push(
      `\tchain ${NFT_REDIRECT_CHAIN} {`,
      '\t\ttype nat hook prerouting priority dstnat; policy accept;',
      `\t\t${knockShapeMatch(setup.minKnockDatagramLength)} redirect to :${setup.knockPort}`,
      '\t}',
    );
  }
  lines.push('}');
  for (const family of [4, 6] as const) {
    const elements = grants.filter((g) => g.grant.family === family);
    if (elements.length === 0) continue;
    const set = family === 4 ? NFT_SET_IPV4 : NFT_SET_IPV6;
    lines.push(`add element inet ${table} ${set} { ${elements.map((g) => `${element(g.grant)} timeout ${g.timeoutMs}ms`).join(', ')} }`);
  }
  return lines.join('\n') + '\n';
}

/** Removes the table, and succeeds also when it is already gone. */
export function nftTeardownScript(table: string): string {
  return `table inet ${table} {}\ndelete table inet ${table}\n`;
}

/** The new state of one grant in a batch: open until `timeoutMs` from now, or closed (`timeoutMs` absent). */
export interface GrantChange {
  readonly grant: Grant;
  readonly timeoutMs?: number;
}

/**
 * One batch of grant changes (each grant at most once), as one transaction: per set,
 *
 * ```
 * add element inet sknock ipv4_grants { A, B }                           # every grant of the batch
 * delete element inet sknock ipv4_grants { A, B }
 * add element inet sknock ipv4_grants { A timeout 15000ms }              # the ones that stay open
 * ```
 *
 * A plain `add` of an element that exists leaves its timeout alone on kernels before 6.x, so
 * an open grant is renewed by delete + add; the first `add` (a no-op for an element that is
 * there) makes the `delete` succeed for one that is not, or has just expired. Inside one
 * transaction this never leaves a gap and never makes a second element. Three commands per
 * set, not per grant: nft takes a 2,000-grant batch in half the time.
 */
export function nftBatchScript(table: string, changes: readonly GrantChange[]): string {
  const lines: string[] = [];
  for (const family of [4, 6] as const) {
    const mine = changes.filter((c) => c.grant.family === family);
    if (mine.length === 0) continue;
    const prefix = `element inet ${table} ${family === 4 ? NFT_SET_IPV4 : NFT_SET_IPV6}`;
    const all = mine.map((c) => element(c.grant)).join(', ');
    lines.push(`add ${prefix} { ${all} }`, `delete ${prefix} { ${all} }`);
    const open = mine.filter((c) => c.timeoutMs !== undefined);
    if (open.length > 0) lines.push(`add ${prefix} { ${open.map((c) => `${element(c.grant)} timeout ${c.timeoutMs}ms`).join(', ')} }`);
  }
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}
