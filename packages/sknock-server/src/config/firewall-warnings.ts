/**
 * `check-config`'s warnings about what the firewall would let through: `firewallPolicy =
 * none` (every port the host's own rules leave open stays open to everyone, knock or not),
 * and an input chain of the host's own ruleset that drops by default, which drops the
 * daemon's grants too (an nftables accept ends only its own base chain; see
 * ../firewall/ruleset-drops.ts). The ruleset is looked at only when this process may list
 * it (root or CAP_NET_ADMIN).
 */
import { DEFAULT_NFT_TABLE } from '../firewall/constants.js';
import { findDroppingChains, type DroppingChain } from '../firewall/ruleset-drops.js';
import { runCommand } from '../firewall/run-command.js';
import type { ServerConfig } from './types.js';

/** Back ends that write the policy's rules themselves. */
const RULE_WRITING = new Set(['nftables', 'iptables']);

/** True when `chain` is where the back end's own rules or jump live, so it decides there itself. */
function isOwn(chain: DroppingChain, backend: string, iptablesVariant: 'nf_tables' | 'legacy' | undefined): boolean {
  if (chain.kind === 'nft' && chain.family === 'inet' && chain.table === DEFAULT_NFT_TABLE) return true;
  if (backend !== 'iptables') return false;
  // The iptables back end's jump is the first rule of INPUT: a grant is accepted in that very chain.
  if (iptablesVariant === 'legacy') return chain.kind === 'iptables-legacy';
  return chain.kind === 'nft' && (chain.family === 'ip' || chain.family === 'ip6') && chain.table === 'filter' && chain.chain === 'INPUT';
}

async function iptablesVariantOf(netns: string | undefined): Promise<'nf_tables' | 'legacy' | undefined> {
  try {
    const { stdout } = await runCommand('iptables', ['--version'], { netns, timeoutMs: 5000 });
    return stdout.includes('(legacy)') ? 'legacy' : stdout.includes('nf_tables') ? 'nf_tables' : undefined;
  } catch {
    return undefined;
  }
}

export async function firewallPolicyWarnings(config: ServerConfig, options: { netns?: string } = {}): Promise<string[]> {
  const backend = config.firewallBackend;
  if (!RULE_WRITING.has(backend)) return [];
  const file = config.configFile === undefined ? '' : ` in ${config.configFile}`;
  const warnings: string[] = [];
  if (config.firewallPolicy === 'none') {
    warnings.push(
      `firewallPolicy = none${file}: sknock-server only adds accepts for its grants, so every port the host's own rules leave open ` +
        'stays open to everyone, knock or not, and the knock port answers like an open one. Use firewallPolicy = drop: ' +
        'only grants, established connections and emergencyAccessPorts (default tcp/22, so SSH stays reachable) get in',
    );
  }
  const view = await findDroppingChains({ netns: options.netns });
  if (!view.seen) return warnings;
  const variant = backend === 'iptables' ? await iptablesVariantOf(options.netns) : undefined;
  for (const chain of view.dropping) {
    if (isOwn(chain, backend, variant)) continue;
    const what = `${chain.where} drops inbound traffic by default (${chain.how})`;
    warnings.push(
      config.firewallPolicy === 'none'
        ? `firewallPolicy = none${file}, and ${what}: an accept in sknock-server's own ${backend === 'nftables' ? 'table' : 'chains'} does not get a packet past that chain, so no grant would let anything through. ` +
            `Use firewallPolicy = drop and take the default drop out of that chain (sknock-server's chain then decides), or accept the granted traffic there yourself`
        : `${what}: an accept in sknock-server's own ${backend === 'nftables' ? 'table' : 'chains'} does not get a packet past that chain, so grants and emergencyAccessPorts are dropped there. ` +
            `Take the default drop out of that chain (firewallPolicy = ${config.firewallPolicy} drops what nobody granted), or accept the granted traffic there yourself`,
    );
  }
  return warnings;
}
