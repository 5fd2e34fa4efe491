import type { GrantEvent } from '../daemon/grant-keeper.js';
import type { SknockServer } from '../daemon/server.js';
import type { ControlRequest } from './control-protocol.js';

/**
 * What each control command answers, from the server's public methods (`stats()`,
 * `grants()`, `closeGrants()`, `flushGrants()`): plain JSON, the same under every back end.
 */

/** The part of `SknockServer` the commands use. */
export type ControlTarget = Pick<SknockServer, 'stats' | 'grants' | 'closeGrants' | 'flushGrants' | 'address' | 'config'>;

export interface ControlContext {
  readonly server: ControlTarget;
  /** When the daemon started (ms since the epoch). */
  readonly startedAt: number;
  readonly version: string;
  readonly now: () => number;
}

/** One grant as the commands show it. */
export interface GrantRow {
  readonly address: string;
  readonly family: 4 | 6;
  readonly protocol: 'tcp' | 'udp';
  readonly port: number;
  /** ISO time. */
  readonly expiresAt: string;
  readonly secondsLeft: number;
  /** The certificate that asked for it last ('' for a grant the daemon no longer tracked). */
  readonly subject: string;
  readonly serial: string;
  readonly issuer: string;
}

function rowOf(g: GrantEvent, now: number): GrantRow {
  return {
    address: g.grant.address,
    family: g.grant.family,
    protocol: g.grant.protocol,
    port: g.grant.port,
    expiresAt: new Date(g.expiresAt).toISOString(),
    secondsLeft: Math.max(0, Math.ceil((g.expiresAt - now) / 1000)),
    subject: g.subject,
    serial: g.serial,
    issuer: g.issuer,
  };
}

function byAddress(a: GrantRow, b: GrantRow): number {
  return a.family - b.family || a.address.localeCompare(b.address) || a.protocol.localeCompare(b.protocol) || a.port - b.port;
}

export function statusOf(ctx: ControlContext): Record<string, unknown> {
  const { server } = ctx;
  const now = ctx.now();
  const stats = server.stats();
  const config = server.config;
  return {
    pid: process.pid,
    version: ctx.version,
    state: stats.state,
    startedAt: new Date(ctx.startedAt).toISOString(),
    uptimeSeconds: Math.max(0, Math.floor((now - ctx.startedAt) / 1000)),
    listening: server.address(),
    firewall: {
      backend: config?.firewallBackend,
      policy: config?.firewallPolicy,
      anyPortKnocks: config?.anyPortKnocks,
      emergencyAccessPorts: config?.emergencyAccessPorts.map((p) => `${p.protocol}/${p.port}`),
      watchdog: stats.firewall,
    },
    knocks: { received: stats.received, accepted: stats.accepted, rejected: stats.rejected },
    queue: stats.queue,
    grants: stats.grants,
    replayCache: stats.replayCache,
    rateLimitedSources: stats.rateLimitedSources,
    requireCrl: config?.requireCrl,
    crl: stats.crl,
  };
}

export function grantRows(server: ControlTarget, now: number): GrantRow[] {
  return server.grants().map((g) => rowOf(g, now)).sort(byAddress);
}

/** Runs one request; rejects with the server's typed error when it refuses (bad address, not running). */
export async function runControlCommand(ctx: ControlContext, request: ControlRequest): Promise<unknown> {
  switch (request.command) {
    case 'status':
      return statusOf(ctx);
    case 'grants':
      return { grants: grantRows(ctx.server, ctx.now()) };
    case 'close': {
      const closed = await ctx.server.closeGrants(request.address, request.protocol, request.port);
      return { closed: closed.map((g) => rowOf(g, ctx.now())).sort(byAddress) };
    }
    case 'flush': {
      const closed = await ctx.server.flushGrants();
      return { closed: closed.map((g) => rowOf(g, ctx.now())).sort(byAddress) };
    }
  }
}
