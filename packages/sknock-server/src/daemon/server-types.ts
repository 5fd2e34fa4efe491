import type { FirewallWatchdogStats } from './firewall-watchdog.js';
import type { GrantCloseEvent, GrantEvent } from './grant-keeper.js';
import type { CrlSummary } from './crl-summary.js';
import type { RejectCode } from '../pipeline/reject-codes.js';
import type { Accept, KnockSource } from '../pipeline/types.js';

/** What a `SknockServer` emits and reports (`stats()`): the daemon's public shapes. */

/** A datagram arrived (before any check). */
export interface KnockEvent {
  readonly source: KnockSource;
  readonly length: number;
}

/** A datagram was dropped, and why. */
export interface RejectEvent {
  readonly code: RejectCode;
  readonly source: KnockSource;
  readonly detail: string;
}

/** A knock passed every check; its grant is on its way to the firewall (`open` follows). */
export interface AcceptEvent extends Omit<Accept, 'ok'> {
  readonly source: KnockSource;
}

/** `open`: the firewall now holds the grant; `close`: its time ran out, or a CRL revoked every certificate holding it (`reason`). */
export type OpenEvent = GrantEvent;
export type CloseEvent = GrantCloseEvent;

export interface ServerAddress {
  readonly address: string;
  readonly family: 4 | 6;
  readonly port: number;
}

export interface ServerStats {
  readonly state: ServerState;
  /** Datagrams received. */
  readonly received: number;
  /** Knocks that passed every check. */
  readonly accepted: number;
  /** Rejected datagrams by code (every code present, zero or not). */
  readonly rejected: Readonly<Record<RejectCode, number>>;
  readonly queue: { readonly length: number; readonly max: number; readonly highWater: number; readonly dropped: number };
  /** `revoked`: grants closed early because a CRL revoked every certificate holding them. */
  readonly grants: { readonly pending: number; readonly held: number; readonly opened: number; readonly failedWrites: number; readonly lost: number; readonly revoked: number };
  readonly replayCache: { readonly seen: number; readonly verified: number };
  readonly rateLimitedSources: number;
  /** The firewall watchdog (firewallCheckIntervalSeconds): checks made, repairs, failed checks. */
  readonly firewall: FirewallWatchdogStats;
  /** The CRLs in force (absent while stopped). */
  readonly crl?: CrlSummary;
}

export type ServerState = 'stopped' | 'starting' | 'running' | 'stopping';

export interface ServerEvents {
  knock: [KnockEvent];
  reject: [RejectEvent];
  accept: [AcceptEvent];
  open: [OpenEvent];
  close: [CloseEvent];
  lost: [GrantEvent & { readonly error: string }];
  listening: [ServerAddress];
  reload: [{ readonly restartNeeded: readonly string[] }];
  stopped: [];
}

