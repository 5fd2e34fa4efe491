/**
 * Can this process drive a firewall back end? Asked before anything is changed, so that a
 * user meets a sentence naming what is missing (a program, CAP_NET_ADMIN) rather than nft's
 * or iptables' raw netlink error.
 *
 * - `firewallAccessProblems(name)`: the programs are on PATH and the process holds
 *   CAP_NET_ADMIN in a way the programs it starts inherit (root with the capability in its
 *   bounding set; any other user with it as an ambient capability). Synchronous, starts
 *   nothing: the daemon asks it before it sets the firewall up.
 * - `firewallDryRunProblems(name, setup)`: the back end's real setup script checked by the
 *   kernel without being applied (`nft --check -f -`, `iptables-restore --test`), so missing
 *   kernel support (nat, reject, set timeouts) shows too. `check-config --firewall` asks both.
 *
 * The programs that only act on what they are given (exec back end) and the memory back end
 * need nothing and get no problems here.
 */
import { accessSync, constants as fsConstants, readFileSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import type { FirewallSetup } from './backend.js';
import { SknockFirewallError } from './errors.js';
import { iptablesChains, iptablesSetupScript, parseIptablesSave, type IpFamily } from './iptables-rules.js';
import { nftSetupScript } from './nftables-script.js';
import { formatOwnerMark, ownMark } from './owner.js';
import { firstLines, runCommand } from './run-command.js';

/**
 * The dry run checks the setup script under names of its own, so it neither collides with a
 * running daemon's table (a `create table` guard would fail) nor trips its owner check.
 */
const DRY_RUN_NFT_TABLE = 'sknock_check';
const DRY_RUN_IPTABLES_CHAIN = 'SKNOCK-CHECK';

/** capabilities(7): CAP_NET_ADMIN is bit 12. */
const CAP_NET_ADMIN_BIT = 12n;

/** The capability sets of a process, from `/proc/<pid>/status` (`CapEff:` and the others, hex). */
export interface ProcessCapabilities {
  readonly effective: bigint;
  readonly ambient: bigint;
  readonly bounding: bigint;
}

/** Reads `CapEff`, `CapAmb` and `CapBnd` from a `/proc/…/status` text; undefined when absent. */
export function parseCapabilities(status: string): ProcessCapabilities | undefined {
  const read = (name: string): bigint | undefined => {
    const m = new RegExp(`^${name}:\\s*([0-9a-fA-F]+)\\s*$`, 'm').exec(status);
    return m ? BigInt(`0x${m[1]}`) : undefined;
  };
  const effective = read('CapEff');
  const bounding = read('CapBnd');
  if (effective === undefined || bounding === undefined) return undefined;
  return { effective, ambient: read('CapAmb') ?? 0n, bounding };
}

function has(set: bigint, bit: bigint): boolean {
  return ((set >> bit) & 1n) === 1n;
}

/** The programs a back end runs (found on PATH), by config name. */
export function firewallPrograms(name: string): string[] {
  if (name === 'nftables') return ['nft'];
  if (name === 'iptables') return ['iptables-save', 'iptables-restore', 'ip6tables-save', 'ip6tables-restore'];
  return [];
}

/** The Debian package that brings a back end's programs, for messages. */
function packageOf(name: string): string {
  return name === 'nftables' ? 'nftables' : 'iptables';
}

/** The first executable `program` on `path` (a PATH value), or undefined. */
export function findProgram(program: string, path = process.env['PATH'] ?? ''): string | undefined {
  const candidates = isAbsolute(program) ? [program] : path.split(delimiter).filter((d) => d !== '').map((d) => join(d, program));
  for (const file of candidates) {
    try {
      if (!statSync(file).isFile()) continue;
      accessSync(file, fsConstants.X_OK);
      return file;
    } catch {
      // not there, or not executable: try the next folder
    }
  }
  return undefined;
}

export interface FirewallAccessOptions {
  /** `/proc/self/status` text (tests pass their own). */
  readonly status?: string;
  /** The user id (tests pass their own; default `process.getuid()`). */
  readonly uid?: number;
  /** PATH to search (default `process.env.PATH`). */
  readonly path?: string;
}

/**
 * What stops this process from driving the back end `name`, each a full sentence; empty
 * when nothing does (or `name` needs nothing). Starts no process.
 */
export function firewallAccessProblems(name: string, options: FirewallAccessOptions = {}): string[] {
  const programs = firewallPrograms(name);
  if (programs.length === 0) return [];
  const problems: string[] = [];
  const missing = programs.filter((p) => findProgram(p, options.path) === undefined);
  if (missing.length > 0) {
    problems.push(
      `firewallBackend = ${name} runs ${missing.join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not installed or not on PATH (apt-get install ${packageOf(name)})`,
    );
  }
  let status = options.status;
  if (status === undefined) {
    try {
      status = readFileSync('/proc/self/status', 'utf8');
    } catch {
      return problems; // not Linux, or no /proc: nothing to say before trying
    }
  }
  const caps = parseCapabilities(status);
  if (caps === undefined) return problems;
  const uid = options.uid ?? process.getuid?.() ?? 0;
  const tool = programs[0] === 'nft' ? 'nft' : 'iptables';
  const fix =
    'run it as root, or give it the capability: the systemd unit does (AmbientCapabilities=CAP_NET_ADMIN); by hand, ' +
    'setpriv --inh-caps +net_admin --ambient-caps +net_admin …';
  if (uid === 0) {
    if (!has(caps.effective, CAP_NET_ADMIN_BIT) || !has(caps.bounding, CAP_NET_ADMIN_BIT)) {
      problems.push(`sknock-server runs as root but without CAP_NET_ADMIN, which ${tool} needs to change the firewall: ${fix}`);
    }
  } else if (!has(caps.ambient, CAP_NET_ADMIN_BIT)) {
    const held = has(caps.effective, CAP_NET_ADMIN_BIT) ? ' (it holds it, but not as an ambient capability, so the programs it starts lose it)' : '';
    problems.push(`sknock-server runs as uid ${uid} without CAP_NET_ADMIN for the programs it starts${held}; ${tool} needs it to change the firewall: ${fix}`);
  }
  return problems;
}

/** `firewallAccessProblems` as one error (the daemon throws it before setting anything up). */
export function assertFirewallAccess(name: string, options: FirewallAccessOptions = {}): void {
  const problems = firewallAccessProblems(name, options);
  if (problems.length > 0) {
    throw new SknockFirewallError('ERR_SKNOCK_FIREWALL_UNAVAILABLE', problems.join('; '));
  }
}

export interface DryRunOptions {
  /** Run inside this network namespace (`ip netns exec NAME …`), for tests. */
  readonly netns?: string;
  readonly timeoutMs?: number;
}

/**
 * Checks the back end's setup script for `setup` with the kernel without applying it. Each
 * problem a sentence (with the tool's first lines of error output); empty when the kernel
 * would take it.
 */
export async function firewallDryRunProblems(name: string, setup: FirewallSetup, options: DryRunOptions = {}): Promise<string[]> {
  const run = { netns: options.netns, timeoutMs: options.timeoutMs ?? 10_000 };
  const owner = formatOwnerMark(ownMark('dry-run', setup.knockPort));
  const explain = (what: string, err: unknown): string => {
    const e = err as SknockFirewallError;
    const detail = e.stderr ? firstLines(e.stderr) : e.message;
    const why = e.code === 'ERR_SKNOCK_FIREWALL_UNAVAILABLE' ? ' (no permission, or the program is missing)' : '';
    return `firewallBackend = ${name}: ${what} failed${why}: ${detail}`;
  };
  if (name === 'nftables') {
    try {
      await runCommand('nft', ['--check', '-f', '-'], { ...run, input: nftSetupScript(DRY_RUN_NFT_TABLE, setup, owner, { absent: true }) });
      return [];
    } catch (err) {
      return [explain(`the kernel refused a dry run of the setup (nft --check -f -)`, err)];
    }
  }
  if (name === 'iptables') {
    const problems: string[] = [];
    const chains = iptablesChains(DRY_RUN_IPTABLES_CHAIN);
    for (const family of [4, 6] as IpFamily[]) {
      const tool = family === 4 ? 'iptables' : 'ip6tables';
      try {
        const saved = await runCommand(`${tool}-save`, [], run);
        const script = iptablesSetupScript(family, chains, setup, parseIptablesSave(saved.stdout), [], owner);
        await runCommand(`${tool}-restore`, ['--test', '--noflush', '--wait', '10'], { ...run, input: script });
      } catch (err) {
        problems.push(explain(`a dry run of the ${tool} setup (${tool}-restore --test)`, err));
      }
    }
    return problems;
  }
  return [];
}
