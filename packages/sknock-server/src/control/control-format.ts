import type { GrantRow } from './control-commands.js';

/**
 * The admin commands' text output (`--json` prints the daemon's reply as it is): a grants
 * table with aligned columns, and `status` as labelled lines.
 */

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const parts = [d > 0 ? `${d}d` : '', h > 0 ? `${h}h` : '', m > 0 ? `${m}m` : '', `${s % 60}s`].filter((p) => p !== '');
  return parts.slice(0, 2).join(' ');
}

/** `ADDRESS  PORT  EXPIRES IN  SUBJECT  SERIAL`, one row per grant, or a line saying there are none. */
export function formatGrants(rows: readonly GrantRow[]): string {
  if (rows.length === 0) return 'no grants open\n';
  return `${table(
    ['ADDRESS', 'PORT', 'EXPIRES IN', 'EXPIRES AT', 'SUBJECT', 'SERIAL'],
    rows.map((r) => [r.address, `${r.protocol}/${r.port}`, duration(r.secondsLeft), r.expiresAt, r.subject || '-', r.serial || '-']),
  )}\n`;
}

/** What `grants close` / `grants flush` closed. */
export function formatClosed(rows: readonly GrantRow[]): string {
  if (rows.length === 0) return 'no grant matched: nothing closed\n';
  return `closed ${rows.length} grant${rows.length === 1 ? '' : 's'}:\n${formatGrants(rows)}`;
}

type Json = Record<string, unknown>;

function obj(v: unknown): Json {
  return typeof v === 'object' && v !== null ? (v as Json) : {};
}

function crlLine(issuer: Json, now: number): string {
  const name = String(issuer['issuer'] ?? '?');
  if (issuer['haveCrl'] !== true) return `${name}: no CRL held`;
  const next = typeof issuer['nextUpdate'] === 'string' ? Date.parse(issuer['nextUpdate']) : NaN;
  const state = issuer['stale'] === true ? 'STALE' : 'fresh';
  const left = Number.isNaN(next) ? '' : next > now ? `, next update in ${duration((next - now) / 1000)}` : `, next update was due ${duration((now - next) / 1000)} ago`;
  const number = issuer['crlNumber'] === undefined ? '' : ` number ${String(issuer['crlNumber'])}`;
  const revoked = issuer['revokedCount'] === undefined ? '' : `, ${String(issuer['revokedCount'])} revoked`;
  return `${name}: CRL${number} ${state} (from ${String(issuer['source'] ?? '?')}, this update ${String(issuer['thisUpdate'] ?? '?')}${left}${revoked})`;
}

/** `status` as text. */
export function formatStatus(status: Json, now = Date.now()): string {
  const fw = obj(status['firewall']);
  const watchdog = obj(fw['watchdog']);
  const knocks = obj(status['knocks']);
  const rejected = Object.entries(obj(knocks['rejected'])).filter(([, n]) => Number(n) > 0);
  const rejectedTotal = rejected.reduce((a, [, n]) => a + Number(n), 0);
  const queue = obj(status['queue']);
  const grants = obj(status['grants']);
  const listening = obj(status['listening']);
  const crl = obj(status['crl']);
  const issuers = Array.isArray(crl['issuers']) ? (crl['issuers'] as unknown[]).map(obj) : [];
  const host = String(listening['address'] ?? '?');
  const lines: Array<[string, string]> = [
    ['daemon', `sknock-server ${String(status['version'])}, pid ${String(status['pid'])}, ${String(status['state'])} for ${duration(Number(status['uptimeSeconds']))} (since ${String(status['startedAt'])})`],
    ['listening', `udp ${host.includes(':') ? `[${host}]` : host}:${String(listening['port'] ?? '?')}`],
    ['firewall', `${String(fw['backend'])}, policy ${String(fw['policy'])}, anyPortKnocks ${fw['anyPortKnocks'] === true ? 'on' : 'off'}, emergency ${(fw['emergencyAccessPorts'] as string[] | undefined)?.join(' ') || 'none'}`],
    ['watchdog', `${String(watchdog['checks'] ?? 0)} checks, ${String(watchdog['repairs'] ?? 0)} repairs, ${String(watchdog['failedChecks'] ?? 0)} failed`],
    ['knocks', `${String(knocks['received'])} received, ${String(knocks['accepted'])} accepted, ${rejectedTotal} rejected${rejected.length > 0 ? ` (${rejected.map(([c, n]) => `${c} ${String(n)}`).join(', ')})` : ''}`],
    ['queue', `${String(queue['length'])} of ${String(queue['max'])} (high water ${String(queue['highWater'])}, dropped ${String(queue['dropped'])})`],
    ['grants', `${String(grants['held'])} open, ${String(grants['pending'])} being written; ${String(grants['opened'])} writes, ${String(grants['failedWrites'])} failed, ${String(grants['lost'])} lost, ${String(grants['revoked'])} closed by revocation`],
    ['CRL', `requireCrl ${status['requireCrl'] === true ? 'on' : 'off'}${issuers.length === 0 ? ', no CA' : ''}`],
    ...issuers.map((i): [string, string] => ['', crlLine(i, now)]),
  ];
  const width = Math.max(...lines.map(([k]) => k.length));
  return `${lines.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\n`;
}
