/**
 * Chains of the host's own ruleset that drop inbound traffic by default: a base chain on the
 * input hook whose policy is `drop`, or whose last rule drops or rejects everything (no
 * match before the verdict). In nftables an `accept` ends only the base chain it is in; the
 * packet still meets every other base chain on the hook, so such a chain in another table
 * drops what sknock-server grants (with any `firewallPolicy`, and with `none` nothing else
 * would let it through). `check-config` warns of them.
 *
 * Read from `nft -j list ruleset` (nftables, and iptables-nft, whose tables nft lists) and
 * `iptables-legacy-save` / `ip6tables-legacy-save` (the legacy iptables tables, when those
 * programs exist). Listing needs CAP_NET_ADMIN: without it nothing can be seen, and the
 * answer says so.
 */
import type { SavedTable } from './iptables-rules.js';
import { parseIptablesSave } from './iptables-rules.js';
import { runCommand } from './run-command.js';

export interface DroppingChain {
  /** `nft table inet filter chain input`, `iptables-legacy INPUT`, … */
  readonly where: string;
  /** `policy drop`, or `a final rule that drops everything`. */
  readonly how: string;
  /** Where it lives: `nft` (nf_tables) or `iptables-legacy`. */
  readonly kind: 'nft' | 'iptables-legacy';
  /** nft only: the chain's family, table and name. */
  readonly family?: string;
  readonly table?: string;
  readonly chain?: string;
}

interface NftChain {
  readonly family: string;
  readonly table: string;
  readonly name: string;
  readonly hook?: string;
  readonly policy?: string;
  readonly type?: string;
}

interface NftRule {
  readonly family: string;
  readonly table: string;
  readonly chain: string;
  readonly expr: ReadonlyArray<Record<string, unknown>>;
}

/** Statements that do not narrow which packets a rule applies to. */
const UNCONDITIONAL = new Set(['counter', 'log', 'drop', 'reject']);

function isDropAll(rule: NftRule): boolean {
  const last = rule.expr[rule.expr.length - 1];
  if (last === undefined) return false;
  const verdict = Object.keys(last)[0];
  if (verdict !== 'drop' && verdict !== 'reject') return false;
  return rule.expr.every((e) => UNCONDITIONAL.has(Object.keys(e)[0] ?? ''));
}

/** The dropping input base chains in `nft -j list ruleset` output. */
export function droppingNftChains(json: string): DroppingChain[] {
  let doc: { nftables?: unknown };
  try {
    doc = JSON.parse(json) as { nftables?: unknown };
  } catch {
    return [];
  }
  if (!Array.isArray(doc.nftables)) return [];
  const chains: NftChain[] = [];
  const lastRule = new Map<string, NftRule>();
  const key = (family: string, table: string, chain: string): string => `${family} ${table} ${chain}`;
  for (const item of doc.nftables as Array<Record<string, unknown>>) {
    if (item['chain'] !== undefined) chains.push(item['chain'] as NftChain);
    else if (item['rule'] !== undefined) {
      const r = item['rule'] as NftRule;
      if (Array.isArray(r.expr)) lastRule.set(key(r.family, r.table, r.chain), r);
    }
  }
  const out: DroppingChain[] = [];
  for (const c of chains) {
    if (c.hook !== 'input' || !['ip', 'ip6', 'inet'].includes(c.family)) continue;
    const last = lastRule.get(key(c.family, c.table, c.name));
    const how = c.policy === 'drop' ? 'policy drop' : last !== undefined && isDropAll(last) ? 'a final rule that drops everything' : undefined;
    if (how === undefined) continue;
    out.push({ where: `nft table ${c.family} ${c.table} chain ${c.name}`, how, kind: 'nft', family: c.family, table: c.table, chain: c.name });
  }
  return out;
}

/** A dropping INPUT chain in `iptables-save` output (`tool` names it in `where`). */
export function droppingSavedInput(saveText: string, tool: string): DroppingChain[] {
  const filter: SavedTable | undefined = parseIptablesSave(saveText).get('filter');
  if (filter === undefined) return [];
  const policy = filter.chains.get('INPUT');
  const rules = filter.rules.filter((r) => r.startsWith('-A INPUT '));
  const last = rules[rules.length - 1];
  const how =
    policy === 'DROP'
      ? 'policy DROP'
      : last !== undefined && /^-A INPUT (-m comment --comment ("[^"]*"|\S+) )?-j (DROP|REJECT)( --reject-with \S+)?$/.test(last)
        ? 'a final rule that drops everything'
        : undefined;
  return how === undefined ? [] : [{ where: `${tool} INPUT`, how, kind: 'iptables-legacy' }];
}

export interface RulesetView {
  /** False when the ruleset could not be listed (no CAP_NET_ADMIN, no nft). */
  readonly seen: boolean;
  /** Why not, when not. */
  readonly reason?: string;
  readonly dropping: DroppingChain[];
}

/** Lists the host's ruleset and finds its dropping input chains. Never throws. */
export async function findDroppingChains(options: { netns?: string; timeoutMs?: number } = {}): Promise<RulesetView> {
  const run = { netns: options.netns, timeoutMs: options.timeoutMs ?? 10_000 };
  const dropping: DroppingChain[] = [];
  try {
    const { stdout } = await runCommand('nft', ['-j', 'list', 'ruleset'], run);
    dropping.push(...droppingNftChains(stdout));
  } catch (err) {
    return { seen: false, reason: (err as Error).message, dropping };
  }
  for (const tool of ['iptables-legacy-save', 'ip6tables-legacy-save']) {
    try {
      const { stdout } = await runCommand(tool, [], run);
      dropping.push(...droppingSavedInput(stdout, tool.replace('-save', '')));
    } catch {
      // no legacy iptables here (or nothing it may show): nft's view is what there is
    }
  }
  return { seen: true, dropping };
}
