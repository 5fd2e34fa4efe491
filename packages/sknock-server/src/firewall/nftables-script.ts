/**
 * The nft scripts of the nftables back end, as pure functions of checked input (see
 * validate.ts), so their text can be unit-tested without root.
 *
 * The daemon owns the table `inet <table>` (default `inet sknock`) and, when it hands the
 * daemon copies of knock-shaped datagrams, `ip <table>` and `ip6 <table>`; nothing else:
 *
 * ```
 * table inet sknock {
 *   comment "sknock-server pid=4242 start=1234567 pidns=4026531836 id=9f2c4e1a7b3d5c60 port=62201"
 *   set ipv4_grants { type ipv4_addr . inet_proto . inet_service; flags timeout; }
 *   set ipv6_grants { type ipv6_addr . inet_proto . inet_service; flags timeout; }
 *   chain input {
 *     type filter hook input priority filter - 1; policy accept;
 *     # policy reject|drop only:
 *     ct state established,related accept
 *     iif "lo" accept                                  # loopback, and the copies below
 *     meta l4proto { icmp, ipv6-icmp } accept          # ICMPv6 carries neighbour discovery
 *     tcp dport { 22 } accept                         # emergencyAccessPorts
 *     # every policy:
 *     ip saddr . meta l4proto . th dport @ipv4_grants accept
 *     ip6 saddr . meta l4proto . th dport @ipv6_grants accept
 *     # policy reject:  meta l4proto tcp reject with tcp reset; reject with icmpx type port-unreachable
 *     # policy drop:    drop
 *   }
 * }
 * table ip sknock {                                    # ip6: the same, with ::1
 *   chain knock_copy {
 *     type filter hook input priority filter - 2; policy accept;
 *     iif != "lo" fib daddr type local udp length >= 808 @th,64,32 0x61010000 dup to 127.0.0.1 device "lo"
 *   }
 *   chain knock_port {                                 # anyPortKnocks only
 *     type filter hook prerouting priority raw; policy accept;
 *     iif "lo" fib saddr type != local udp dport != 62201 udp length >= 808 @th,64,32 0x61010000 udp dport set 62201
 *   }
 * }
 * ```
 *
 * How knocks reach the daemon. A knock-shaped datagram (long enough, starting `a` 1 0 0)
 * addressed to this host is copied (`dup`) before the input chain sees it. The copy goes out
 * through loopback with its header as it was, true source address included, comes back in on
 * `lo` (accepted), has its destination port set to the knock port (anyPortKnocks) and
 * reaches the daemon's socket. The original goes on and meets the policy like any other
 * datagram. So under `reject` a knock, a knock-shaped datagram to any port and one to the
 * knock port all get ICMP port unreachable, exactly as a host without the daemon answers:
 * the daemon is invisible to a scanner under every policy. Which datagrams are copied:
 *
 * | policy | anyPortKnocks on | anyPortKnocks off |
 * | --- | --- | --- |
 * | reject, drop | to every port (the originals are refused) | to the knock port (the original is refused) |
 * | none | to every port but the knock port (there the original reaches the socket) | none (the original reaches the socket) |
 *
 * Only datagrams that arrived addressed to this host are copied (`iif != "lo"` in the input
 * hook, `fib daddr type local`): traffic the host forwards (a router, a container host, a VPN
 * gateway) never passes the input hook, and broadcasts are left alone. Only datagrams the
 * socket can receive are copied (`listenAddress`): none of a family it is not bound for,
 * only those to its address when it is bound to one. The copy is marked untracked by the
 * kernel (`dup`), so it never joins the original's conntrack flow; its port is rewritten
 * statelessly, with the checksum.
 *
 * `dup` exists only in the `ip` and `ip6` families (not `inet`), hence the two small tables.
 * The comment on the inet table names its owner (see owner.ts): setup refuses to replace a
 * table whose owner still runs.
 */
import type { FirewallSetup, Grant, PortSpec } from './backend.js';
import { KNOCK_HEADER_WORD, UDP_HEADER_LENGTH } from './constants.js';

export const NFT_SET_IPV4 = 'ipv4_grants';
export const NFT_SET_IPV6 = 'ipv6_grants';
export const NFT_INPUT_CHAIN = 'input';
export const NFT_COPY_CHAIN = 'knock_copy';
export const NFT_PORT_CHAIN = 'knock_port';

/** Where each family's copy is sent: loopback's own address. */
const LOOPBACK = { 4: '127.0.0.1', 6: '::1' } as const;

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
 * For family `family`: undefined when the daemon's socket receives nothing of it, else the
 * destination match of the datagrams it receives ('' for any local address).
 */
function socketDestination(setup: FirewallSetup, family: 4 | 6): string | undefined {
  const bound = setup.listenAddress ?? '::';
  if (bound === '::') return '';
  if (bound === '0.0.0.0') return family === 4 ? '' : undefined;
  const boundFamily = bound.includes(':') ? 6 : 4;
  if (boundFamily !== family) return undefined;
  return `${family === 4 ? 'ip' : 'ip6'} daddr ${bound} `;
}

/** Which knock-shaped datagrams get a copy, by destination port ('' for all; undefined: none). See the module comment. */
function copiedPorts(setup: FirewallSetup): string | undefined {
  if (setup.policy === 'none') return setup.anyPortKnocks ? `udp dport != ${setup.knockPort} ` : undefined;
  return setup.anyPortKnocks ? '' : `udp dport ${setup.knockPort} `;
}

/** The copy rule of family `family`, or undefined when that family gets none. */
export function copyRule(setup: FirewallSetup, family: 4 | 6): string | undefined {
  const destination = socketDestination(setup, family);
  const ports = copiedPorts(setup);
  if (destination === undefined || ports === undefined) return undefined;
  return `iif != "lo" fib daddr type local ${destination}${ports}${knockShapeMatch(setup.minKnockDatagramLength)} dup to ${LOOPBACK[family]} device "lo"`;
}

/** The rule that points a copy at the knock port (anyPortKnocks). */
export function copyPortRule(setup: FirewallSetup): string {
  return `iif "lo" fib saddr type != local udp dport != ${setup.knockPort} ${knockShapeMatch(setup.minKnockDatagramLength)} udp dport set ${setup.knockPort}`;
}

/** The families that get a copy table. */
export function copyFamilies(setup: FirewallSetup): Array<4 | 6> {
  return ([4, 6] as const).filter((f) => copyRule(setup, f) !== undefined);
}

/** `ip` or `ip6`. */
export function nftFamily(family: 4 | 6): 'ip' | 'ip6' {
  return family === 4 ? 'ip' : 'ip6';
}

/** How setup finds the inet table: absent, or there with this handle (which must still be it). */
export type TableExpectation = { readonly absent: true } | { readonly handle: number };

function quoted(text: string): string {
  return `"${text.replace(/["\\]/g, '')}"`;
}

/**
 * Puts the tables in place in one transaction (on any error nothing changes), writing
 * `grants` back with their remaining timeouts. The first command is the guard that makes it
 * safe against another instance doing the same at the same moment: `create table`, which
 * fails if a table has appeared since `expect` was read, or `delete table … handle N`, which
 * fails if the table seen has been replaced since. The copy tables are replaced whatever they
 * hold (the empty `table` line makes each `delete` succeed when there is none).
 */
export function nftSetupScript(
  table: string,
  setup: FirewallSetup,
  owner: string,
  expect: TableExpectation,
  grants: readonly TimedGrant[] = [],
): string {
  // A table's comment is set when it is made (a later `table … { comment }` leaves it), so `create` carries it.
  const lines = 'absent' in expect ? [`create table inet ${table} { comment ${quoted(owner)}; }`] : [`delete table inet handle ${expect.handle}`];
  lines.push(
    `table inet ${table} {`,
    `\tcomment ${quoted(owner)}`,
    `\tset ${NFT_SET_IPV4} { type ipv4_addr . inet_proto . inet_service; flags timeout; }`,
    `\tset ${NFT_SET_IPV6} { type ipv6_addr . inet_proto . inet_service; flags timeout; }`,
    `\tchain ${NFT_INPUT_CHAIN} {`,
    '\t\ttype filter hook input priority filter - 1; policy accept;',
    ...inputChainRules(setup).map((r) => `\t\t${r}`),
    '\t}',
    '}',
  );
  for (const family of [4, 6] as const) {
    const f = nftFamily(family);
    lines.push(`table ${f} ${table} {}`, `delete table ${f} ${table}`);
    const rule = copyRule(setup, family);
    if (rule === undefined) continue;
    lines.push(
      `table ${f} ${table} {`,
      `\tchain ${NFT_COPY_CHAIN} {`,
      '\t\ttype filter hook input priority filter - 2; policy accept;',
      `\t\t${rule}`,
      '\t}',
    );
    if (setup.anyPortKnocks) {
      lines.push(`\tchain ${NFT_PORT_CHAIN} {`, '\t\ttype filter hook prerouting priority raw; policy accept;', `\t\t${copyPortRule(setup)}`, '\t}');
    }
    lines.push('}');
  }
  for (const family of [4, 6] as const) {
    const elements = grants.filter((g) => g.grant.family === family);
    if (elements.length === 0) continue;
    const set = family === 4 ? NFT_SET_IPV4 : NFT_SET_IPV6;
    lines.push(`add element inet ${table} ${set} { ${elements.map((g) => `${element(g.grant)} timeout ${g.timeoutMs}ms`).join(', ')} }`);
  }
  return lines.join('\n') + '\n';
}

/**
 * Removes the tables: the inet table only if it is still the one with `handle` (undefined:
 * it is gone already), the copy tables whatever they hold. Succeeds when they are gone.
 */
export function nftTeardownScript(table: string, handle: number | undefined): string {
  const lines = handle === undefined ? [] : [`delete table inet handle ${handle}`];
  for (const family of [4, 6] as const) lines.push(`table ${nftFamily(family)} ${table} {}`, `delete table ${nftFamily(family)} ${table}`);
  return lines.join('\n') + '\n';
}

/**
 * One table's block of a `list ruleset` listing (from its `table` line to the `}` that closes
 * it), or undefined when the listing has no such table. (`list ruleset -t` leaves set elements
 * out and, unlike `list table` in nft 1.0.6, does not fetch them: a check costs the same with
 * 10 grants as with 100,000.)
 */
export function tableBlock(listing: string, family: 'inet' | 'ip' | 'ip6', table: string): string | undefined {
  const lines = listing.split('\n');
  const start = lines.findIndex((l) => l === `table ${family} ${table} {` || l.startsWith(`table ${family} ${table} { #`));
  if (start < 0) return undefined;
  const end = lines.indexOf('}', start);
  return end < 0 ? undefined : lines.slice(start, end + 1).join('\n') + '\n';
}

/** The blocks of the tables `setup` makes (inet first), each, or `(table F T is missing)`, on its own. */
export function ownTables(listing: string, table: string, setup: FirewallSetup): string {
  const families: Array<'inet' | 'ip' | 'ip6'> = ['inet', ...copyFamilies(setup).map(nftFamily)];
  return families.map((f) => tableBlock(listing, f, table) ?? `(table ${f} ${table} is missing)\n`).join('');
}

/** What the first lines of `nft -a list table inet T` say: the table's handle and its comment. */
export interface ListedTable {
  readonly handle: number;
  readonly comment: string | undefined;
}

/** Reads the handle and comment from a listing of one table made with `-a` (undefined: not such a listing). */
export function parseTableListing(text: string): ListedTable | undefined {
  const head = /^table \S+ \S+ \{ # handle (\d+)\n(?:\tcomment "((?:[^"\\]|\\.)*)"\n)?/.exec(text);
  if (head === null) return undefined;
  return { handle: Number(head[1]), comment: head[2] };
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
