/**
 * The iptables-restore scripts of the iptables back end and a reader of `iptables-save`
 * output, as pure functions of checked input, so their text can be unit-tested without root.
 *
 * Per family (iptables and ip6tables alike), with the default prefix `SKNOCK`:
 *
 * ```
 * *filter
 * -A INPUT -j SKNOCK                                  # first rule of INPUT
 * -A SKNOCK -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT     ┐
 * -A SKNOCK -i lo -j ACCEPT                                           │ policy
 * -A SKNOCK -p icmp -j ACCEPT            (ip6: -p ipv6-icmp)          │ reject|drop
 * -A SKNOCK -p tcp -m tcp --dport 22 -j ACCEPT     (emergency ports)  │ only
 * -A SKNOCK -p udp -m udp --dport 62201 -m u32 --u32 "<knock-shaped>" -j ACCEPT ┘
 * -A SKNOCK -m comment --comment "sknock-server pid=… start=… pidns=… id=… port=62201" -j SKNOCK-GRANTS
 * -A SKNOCK -p tcp -j REJECT --reject-with tcp-reset                 ┐ reject
 * -A SKNOCK -j REJECT --reject-with icmp-port-unreachable (icmp6-…)   ┘ (drop: -j DROP)
 * -A SKNOCK-GRANTS -s 192.0.2.7/32 -p tcp -m tcp --dport 2000 -j ACCEPT   # one per grant
 * *nat                                                 # anyPortKnocks only
 * -A PREROUTING -j SKNOCK-KNOCK
 * -A SKNOCK-KNOCK -p udp -m addrtype --dst-type LOCAL -m u32 --u32 "<knock-shaped>" -j REDIRECT --to-ports 62201
 * *mangle                                              # policy reject|drop without anyPortKnocks
 * -A INPUT -j SKNOCK-COPY
 * -A SKNOCK-COPY ! -i lo -p udp -m udp --dport 62201 -m addrtype --dst-type LOCAL -m u32 --u32 "<knock-shaped>" -j TEE --gateway 127.0.0.1
 * ```
 *
 * How knocks reach the daemon. With anyPortKnocks, knock-shaped datagrams to any port are
 * redirected to the knock port and accepted there (`<knock-shaped>` on the knock port, the
 * last accept of the policy): under `reject` such a datagram is absorbed on every port while
 * any other gets ICMP port unreachable, which a scanner can see. xtables has no stateless
 * port rewrite, so this back end cannot do what the nftables one does (copy the datagram and
 * point the copy at the knock port). Without anyPortKnocks, under `reject`/`drop`, a
 * knock-shaped datagram to the knock port is copied (TEE to the loopback address, ::1 for
 * IPv6: the copy keeps its true source and comes back in on `lo`, where it is accepted) and
 * the original is refused like any other: the knock port answers exactly like a closed one.
 * Under `none` without anyPortKnocks the socket gets the originals.
 *
 * The comment on the jump to SKNOCK-GRANTS names the owner (owner.ts). Only datagrams
 * addressed to this host are redirected (`addrtype LOCAL`): PREROUTING also sees what the
 * host forwards (a router, a container host, a VPN gateway), which must pass untouched.
 *
 * `<knock-shaped>` checks the UDP length field (which counts the 8-byte header) and the first
 * four payload bytes `a` 1 0 0. For IPv4 it finds the UDP header through the IHL field; for
 * IPv6 it assumes no extension header (offset 40).
 */
import type { FirewallSetup, Grant } from './backend.js';
import { IPV6_HEADER_LENGTH, KNOCK_HEADER_WORD, UDP_HEADER_LENGTH } from './constants.js';

export type IpFamily = 4 | 6;

export interface IptablesChains {
  /** The chain INPUT jumps to (filter table). */
  readonly main: string;
  /** The chain holding one ACCEPT rule per grant (filter table). */
  readonly grants: string;
  /** The chain PREROUTING jumps to for anyPortKnocks (nat table). */
  readonly knock: string;
  /** The chain INPUT jumps to that copies knocks to the socket (mangle table). */
  readonly copy: string;
}

export function iptablesChains(prefix: string): IptablesChains {
  return { main: prefix, grants: `${prefix}-GRANTS`, knock: `${prefix}-KNOCK`, copy: `${prefix}-COPY` };
}

/** Whether knock-shaped datagrams to the knock port are copied to the socket (see the module comment). */
export function copiesKnocks(setup: FirewallSetup): boolean {
  return setup.policy !== 'none' && !setup.anyPortKnocks;
}

/** The TEE rule of the mangle copy chain for `family`, or undefined when the socket gets nothing of that family. */
export function copyRule(family: IpFamily, chains: IptablesChains, setup: FirewallSetup): string | undefined {
  const bound = setup.listenAddress ?? '::';
  let destination = '';
  if (bound === '0.0.0.0') {
    if (family === 6) return undefined;
  } else if (bound !== '::') {
    if ((bound.includes(':') ? 6 : 4) !== family) return undefined;
    destination = ` -d ${bound}/${hostPrefix(family)}`;
  }
  const gateway = family === 4 ? '127.0.0.1' : '::1';
  return `-A ${chains.copy} ! -i lo -p udp -m udp --dport ${setup.knockPort} -m addrtype --dst-type LOCAL${destination} -m u32 --u32 "${knockU32(family, setup.minKnockDatagramLength)}" -j TEE --gateway ${gateway}`;
}

/** One table of `iptables-save` output. */
export interface SavedTable {
  /** Chain name → policy (`ACCEPT`, `DROP`, or `-` for a user chain). */
  readonly chains: Map<string, string>;
  /** The `-A …` lines, as printed. */
  readonly rules: string[];
}

/** Reads `iptables-save` output: table name → its chains and rules. */
export function parseIptablesSave(text: string): Map<string, SavedTable> {
  const tables = new Map<string, SavedTable>();
  let current: SavedTable | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      current = { chains: new Map(), rules: [] };
      tables.set(line.slice(1), current);
    } else if (line === 'COMMIT') {
      current = undefined;
    } else if (current && line.startsWith(':')) {
      const [name = '', policy = '-'] = line.slice(1).split(/\s+/);
      current.chains.set(name, policy);
    } else if (current && line.startsWith('-A ')) {
      current.rules.push(line);
    }
  }
  return tables;
}

/** True when the save output says the nf_tables variant printed it. */
export function isNftVariant(saveText: string): boolean {
  return /^# Generated by ip6?tables-save v[\d.]+ \(nf_tables\)/m.test(saveText);
}

const BUILTIN_CHAINS = new Set(['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']);

/** True when a table holds nothing but built-in chains with policy ACCEPT and no rules. */
export function isEmptyTable(table: SavedTable | undefined): boolean {
  if (table === undefined) return true;
  if (table.rules.length > 0) return false;
  for (const [name, policy] of table.chains) {
    if (!BUILTIN_CHAINS.has(name) || policy !== 'ACCEPT') return false;
  }
  return true;
}

function hostPrefix(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}

/** The `u32` expression of a knock-shaped datagram (see the module comment). */
export function knockU32(family: IpFamily, minKnockDatagramLength: number): string {
  const udpLength = minKnockDatagramLength + UDP_HEADER_LENGTH;
  const word = `0x${KNOCK_HEADER_WORD.toString(16).padStart(8, '0')}`;
  if (family === 4) return `0>>22&0x3C@4>>16=${udpLength}:65535&&0>>22&0x3C@8=${word}`;
  return `${IPV6_HEADER_LENGTH + 4}>>16=${udpLength}:65535&&${IPV6_HEADER_LENGTH + UDP_HEADER_LENGTH}=${word}`;
}

/** The ACCEPT rule of one grant, for `-A` (add) or `-D` (delete). */
export function grantRule(chains: IptablesChains, grant: Grant, action: '-A' | '-D'): string {
  return `${action} ${chains.grants} -s ${grant.address}/${hostPrefix(grant.family)} -p ${grant.protocol} -m ${grant.protocol} --dport ${grant.port} -j ACCEPT`;
}

/** The rule that jumps to the grants chain and carries the owner mark. */
export function ownerRule(chains: IptablesChains, owner: string): string {
  return `-A ${chains.main} -m comment --comment "${owner.replace(/["\\]/g, '')}" -j ${chains.grants}`;
}

/** The owner mark of our chains in `filter` (undefined: no main chain, or one without a mark). */
export function savedOwner(filter: SavedTable | undefined, chains: IptablesChains): string | undefined {
  const prefix = `-A ${chains.main} -m comment --comment "`;
  const suffix = `" -j ${chains.grants}`;
  const rule = filter?.rules.find((r) => r.startsWith(prefix) && r.endsWith(suffix));
  return rule?.slice(prefix.length, rule.length - suffix.length);
}

/** The rules of the main chain, in order. */
export function mainChainRules(family: IpFamily, chains: IptablesChains, setup: FirewallSetup, owner: string): string[] {
  const c = chains.main;
  const rules: string[] = [];
  if (setup.policy !== 'none') {
    rules.push(`-A ${c} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);
    rules.push(`-A ${c} -i lo -j ACCEPT`);
    rules.push(`-A ${c} -p ${family === 4 ? 'icmp' : 'ipv6-icmp'} -j ACCEPT`);
    const seen = new Set<string>();
    for (const p of setup.emergencyAccessPorts) {
      const id = `${p.protocol}/${p.port}`;
      if (seen.has(id)) continue;
      seen.add(id);
      rules.push(`-A ${c} -p ${p.protocol} -m ${p.protocol} --dport ${p.port} -j ACCEPT`);
    }
    // Redirected knocks (anyPortKnocks) are accepted at the knock port; copies come in on lo.
    if (setup.anyPortKnocks) {
      rules.push(`-A ${c} -p udp -m udp --dport ${setup.knockPort} -m u32 --u32 "${knockU32(family, setup.minKnockDatagramLength)}" -j ACCEPT`);
    }
  }
  rules.push(ownerRule(chains, owner));
  if (setup.policy === 'reject') {
    rules.push(`-A ${c} -p tcp -j REJECT --reject-with tcp-reset`);
    rules.push(`-A ${c} -j REJECT --reject-with ${family === 4 ? 'icmp-port-unreachable' : 'icmp6-port-unreachable'}`);
  } else if (setup.policy === 'drop') {
    rules.push(`-A ${c} -j DROP`);
  }
  return rules;
}

function countJumps(table: SavedTable | undefined, from: string, to: string): number {
  if (table === undefined) return 0;
  return table.rules.filter((r) => r === `-A ${from} -j ${to}`).length;
}

/** The redirect of knock-shaped datagrams addressed to this host (anyPortKnocks). */
export function knockRedirectRule(family: IpFamily, chains: IptablesChains, setup: FirewallSetup): string {
  return `-A ${chains.knock} -p udp -m addrtype --dst-type LOCAL -m u32 --u32 "${knockU32(family, setup.minKnockDatagramLength)}" -j REDIRECT --to-ports ${setup.knockPort}`;
}

/**
 * The lines that make our filter chains empty, starting with the guard that makes the script
 * fail (nothing applied) when the chains changed hands after `filter` was read: no main chain
 * yet: `-N` fails if one appeared meanwhile; a main chain with an owner mark: deleting that
 * exact rule fails if it was replaced. A main chain without a mark (an older version's, or one
 * flushed by someone) gets no guard. An existing chain is emptied by declaring it; a missing
 * one is made with `-N` (never both for one chain: iptables-nft refuses that now and then).
 */
function chainLines(chains: IptablesChains, filter: SavedTable | undefined): string[] {
  const has = (chain: string): boolean => filter?.chains.has(chain) ?? false;
  const lines: string[] = [];
  if (!has(chains.main)) {
    lines.push(`-N ${chains.main}`);
  } else {
    const owner = savedOwner(filter, chains);
    if (owner !== undefined) lines.push(ownerRule(chains, owner).replace(/^-A /, '-D '));
    lines.push(`:${chains.main} - [0:0]`);
  }
  lines.push(has(chains.grants) ? `:${chains.grants} - [0:0]` : `-N ${chains.grants}`);
  return lines;
}

/**
 * One `iptables-restore --noflush` script that replaces whatever an earlier run left (the
 * chain lines create our chains or flush them; stale jumps are deleted) and installs the
 * chains, the policy with the owner mark, and `grants`. Guarded (see chainLines). The nat
 * table is touched only for anyPortKnocks or to remove a stale knock chain. Atomic per table.
 */
export function iptablesSetupScript(
  family: IpFamily,
  chains: IptablesChains,
  setup: FirewallSetup,
  current: Map<string, SavedTable>,
  grants: readonly Grant[],
  owner: string,
): string {
  const filter = current.get('filter');
  const lines = ['*filter', ...chainLines(chains, filter)];
  for (let i = countJumps(filter, 'INPUT', chains.main); i > 0; i--) lines.push(`-D INPUT -j ${chains.main}`);
  lines.push(`-I INPUT 1 -j ${chains.main}`);
  lines.push(...mainChainRules(family, chains, setup, owner));
  for (const g of grants) if (g.family === family) lines.push(grantRule(chains, g, '-A'));
  lines.push('COMMIT');
  const nat = current.get('nat');
  const staleKnock = nat?.chains.has(chains.knock) ?? false;
  if (setup.anyPortKnocks || staleKnock) {
    lines.push('*nat', `:${chains.knock} - [0:0]`);
    for (let i = countJumps(nat, 'PREROUTING', chains.knock); i > 0; i--) lines.push(`-D PREROUTING -j ${chains.knock}`);
    if (setup.anyPortKnocks) {
      lines.push(`-I PREROUTING 1 -j ${chains.knock}`);
      lines.push(knockRedirectRule(family, chains, setup));
    } else {
      lines.push(`-X ${chains.knock}`);
    }
    lines.push('COMMIT');
  }
  const mangle = current.get('mangle');
  const copy = copiesKnocks(setup) ? copyRule(family, chains, setup) : undefined;
  if (copy !== undefined || (mangle?.chains.has(chains.copy) ?? false)) {
    lines.push('*mangle', `:${chains.copy} - [0:0]`);
    for (let i = countJumps(mangle, 'INPUT', chains.copy); i > 0; i--) lines.push(`-D INPUT -j ${chains.copy}`);
    if (copy !== undefined) lines.push(`-I INPUT 1 -j ${chains.copy}`, copy);
    else lines.push(`-X ${chains.copy}`);
    lines.push('COMMIT');
  }
  return lines.join('\n') + '\n';
}

/** Removes our jumps and chains, as `current` shows them; empty string when there is nothing. */
export function iptablesTeardownScript(chains: IptablesChains, current: Map<string, SavedTable>): string {
  const lines: string[] = [];
  const filter = current.get('filter');
  if (filter && (filter.chains.has(chains.main) || filter.chains.has(chains.grants))) {
    lines.push('*filter');
    for (let i = countJumps(filter, 'INPUT', chains.main); i > 0; i--) lines.push(`-D INPUT -j ${chains.main}`);
    for (const c of [chains.main, chains.grants]) if (filter.chains.has(c)) lines.push(`-F ${c}`);
    for (const c of [chains.main, chains.grants]) if (filter.chains.has(c)) lines.push(`-X ${c}`);
    lines.push('COMMIT');
  }
  const nat = current.get('nat');
  if (nat && nat.chains.has(chains.knock)) {
    lines.push('*nat');
    for (let i = countJumps(nat, 'PREROUTING', chains.knock); i > 0; i--) lines.push(`-D PREROUTING -j ${chains.knock}`);
    lines.push(`-F ${chains.knock}`, `-X ${chains.knock}`, 'COMMIT');
  }
  const mangle = current.get('mangle');
  if (mangle && mangle.chains.has(chains.copy)) {
    lines.push('*mangle');
    for (let i = countJumps(mangle, 'INPUT', chains.copy); i > 0; i--) lines.push(`-D INPUT -j ${chains.copy}`);
    lines.push(`-F ${chains.copy}`, `-X ${chains.copy}`, 'COMMIT');
  }
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}

/**
 * What `current` would look like after teardown: the table minus our chains and jumps.
 * Used to decide whether a table that did not exist before setup is empty again.
 */
export function withoutOurs(table: SavedTable | undefined, chains: IptablesChains): SavedTable | undefined {
  if (table === undefined) return undefined;
  const ours = new Set([chains.main, chains.grants, chains.knock, chains.copy]);
  const kept = new Map([...table.chains].filter(([name]) => !ours.has(name)));
  const rules = table.rules.filter((r) => {
    const chain = r.split(/\s+/)[1] ?? '';
    if (ours.has(chain)) return false;
    return !(r === `-A INPUT -j ${chains.main}` || r === `-A PREROUTING -j ${chains.knock}` || r === `-A INPUT -j ${chains.copy}`);
  });
  return { chains: kept, rules };
}

/** Our part of one family's `iptables-save`, as `check()` compares it. */
export interface OurRules {
  /** Rules of the main chain (undefined: no such chain). */
  readonly main: readonly string[] | undefined;
  /** Rules of the grants chain (undefined: no such chain). */
  readonly grants: readonly string[] | undefined;
  /** Rules of the nat knock chain (undefined: no such chain). */
  readonly knock: readonly string[] | undefined;
  /** Rules of the mangle copy chain (undefined: no such chain). */
  readonly copy: readonly string[] | undefined;
  /** Whether the first mangle INPUT rule is the one jump to the copy chain. */
  readonly copyJumpFirst: boolean;
  /** Whether the first INPUT rule is the one jump to the main chain. */
  readonly inputJumpFirst: boolean;
  /** Whether the first PREROUTING rule is the one jump to the knock chain. */
  readonly preroutingJumpFirst: boolean;
}

function chainRules(table: SavedTable | undefined, chain: string): string[] | undefined {
  if (!(table?.chains.has(chain) ?? false)) return undefined;
  return (table as SavedTable).rules.filter((r) => r.split(/\s+/)[1] === chain);
}

function jumpFirst(table: SavedTable | undefined, from: string, to: string): boolean {
  const jumps = (table?.rules ?? []).filter((r) => r.split(/\s+/)[1] === from);
  return jumps[0] === `-A ${from} -j ${to}` && countJumps(table, from, to) === 1;
}

/** Reads our chains and jumps out of one family's saved tables. */
export function ourRules(current: Map<string, SavedTable>, chains: IptablesChains): OurRules {
  const filter = current.get('filter');
  const nat = current.get('nat');
  const mangle = current.get('mangle');
  return {
    main: chainRules(filter, chains.main),
    grants: chainRules(filter, chains.grants),
    knock: chainRules(nat, chains.knock),
    copy: chainRules(mangle, chains.copy),
    copyJumpFirst: jumpFirst(mangle, 'INPUT', chains.copy),
    inputJumpFirst: jumpFirst(filter, 'INPUT', chains.main),
    preroutingJumpFirst: jumpFirst(nat, 'PREROUTING', chains.knock),
  };
}

/**
 * What is wrong with `found` against `expected` (the state right after setup, with the grant
 * rules `grantLines`), in a few words; undefined when nothing is.
 */
export function rulesProblem(found: OurRules, expected: OurRules, grantLines: readonly string[], chains: IptablesChains): string | undefined {
  if (found.main === undefined || found.grants === undefined) return `chain ${chains.main} or ${chains.grants} is missing`;
  if (!found.inputJumpFirst) return `the jump to ${chains.main} is not the first rule of INPUT`;
  if (JSON.stringify(found.main) !== JSON.stringify(expected.main)) return `the rules of chain ${chains.main} were changed`;
  if (JSON.stringify([...found.grants].sort()) !== JSON.stringify([...grantLines].sort())) return `the grant rules in ${chains.grants} were changed`;
  if (expected.knock !== undefined) {
    if (found.knock === undefined) return `chain ${chains.knock} is missing`;
    if (!found.preroutingJumpFirst) return `the jump to ${chains.knock} is not the first rule of PREROUTING`;
    if (JSON.stringify(found.knock) !== JSON.stringify(expected.knock)) return `the rules of chain ${chains.knock} were changed`;
  }
  if (expected.copy !== undefined) {
    if (found.copy === undefined) return `chain ${chains.copy} is missing`;
    if (!found.copyJumpFirst) return `the jump to ${chains.copy} is not the first rule of mangle INPUT`;
    if (JSON.stringify(found.copy) !== JSON.stringify(expected.copy)) return `the rules of chain ${chains.copy} were changed`;
  }
  return undefined;
}
