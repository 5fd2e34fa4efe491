import type { SknockServer } from '../daemon/server.js';

/**
 * What `/healthz` says. Unhealthy (503) when:
 * - the daemon is not running;
 * - the firewall watchdog's latest check (made now when the last is older than a second)
 *   found the daemon's rules missing or changed (`nft delete table`, `iptables -F`: it has
 *   rebuilt them by now, and the next check says intact again) or could not check or
 *   rebuild them (another daemon owns the table, nft fails). Back ends without a check
 *   (memory, exec) have nothing to report;
 * - under `requireCrl`, a CA has no CRL or only a stale one (every knock is refused `no-crl`).
 *   Without requireCrl a stale CRL is reported but healthy (knocks are still taken).
 */

export interface HealthCheck {
  readonly ok: boolean;
  readonly detail: string;
}

export interface HealthReport {
  readonly ok: boolean;
  /** Why not, one sentence each (empty when ok). */
  readonly reasons: string[];
  readonly checks: { readonly daemon: HealthCheck; readonly firewall: HealthCheck; readonly crl: HealthCheck };
}

export async function healthOf(server: Pick<SknockServer, 'stats' | 'config' | 'firewallHealth'>): Promise<HealthReport> {
  const stats = server.stats();
  const daemon: HealthCheck = stats.state === 'running' ? { ok: true, detail: 'running' } : { ok: false, detail: `the daemon is ${stats.state}` };

  let firewall: HealthCheck;
  const fw = await server.firewallHealth();
  const backend = server.config?.firewallBackend ?? 'firewall';
  if (!fw.watched) firewall = { ok: true, detail: `${backend}: not watched (no check for this back end)` };
  else if (fw.lastCheck === undefined) firewall = { ok: false, detail: `${backend}: not checked yet` };
  else if (fw.lastCheck.outcome === 'intact') firewall = { ok: true, detail: `${backend}: rules in force` };
  else if (fw.lastCheck.outcome === 'repaired') firewall = { ok: false, detail: `${backend}: the rules were missing or changed (${fw.lastCheck.problem ?? '?'}); rebuilt` };
  else firewall = { ok: false, detail: `${backend}: check failed${fw.lastCheck.code === undefined ? '' : ` (${fw.lastCheck.code})`}: ${fw.lastCheck.problem ?? '?'}` };

  const requireCrl = server.config?.requireCrl === true;
  const problems = (stats.crl?.issuers ?? []).flatMap((i) =>
    !i.haveCrl ? [`no CRL of '${i.issuer}' is held`] : i.stale ? [`the CRL of '${i.issuer}' is stale (nextUpdate ${i.nextUpdate ?? '?'} has passed)`] : [],
  );
  const crl: HealthCheck =
    problems.length === 0
      ? { ok: true, detail: 'every CA has a fresh CRL' }
      : { ok: !requireCrl, detail: `${problems.join('; ')}${requireCrl ? ' and requireCrl is on: knocks are refused' : ' (requireCrl is off: knocks are still taken)'}` };

  const reasons = [daemon, firewall, crl].filter((c) => !c.ok).map((c) => c.detail);
  return { ok: reasons.length === 0, reasons, checks: { daemon, firewall, crl } };
}
