/**
 * Who owns a firewall table (nftables) or chain set (iptables): one set-up back-end instance.
 * Tables and chains live per network namespace, so the mark that names the owner lives in
 * them too (an nftables table comment, an iptables rule comment), not in a file under /run,
 * which every namespace of the host shares.
 *
 * The mark names the process by its pid and its start time (field 22 of /proc/PID/stat, in
 * clock ticks since boot: a pid reused by another process has another start time), the pid
 * namespace the pid is counted in, the back-end instance (a random id: two instances in one
 * process are two owners) and its knock port (for people):
 *
 *     sknock-server pid=4242 start=1234567 pidns=4026531836 id=9f2c4e1a7b3d5c60 port=62201
 *
 * An owner is alive while that process runs (same pid, same start time) and, for an instance
 * in this very process, until its teardown. An owner in another pid namespace cannot be
 * looked up; it counts as alive, so a daemon never takes over what it cannot prove is
 * abandoned (the error says how to remove a table that is). /proc mounted with `hidepid`
 * (systemd `ProtectProc=invisible`) hides other users' processes: a daemon that cannot see
 * the owner's process would take it for gone. The shipped unit sets neither, and runs every
 * daemon as the same user.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';

export interface OwnerMark {
  readonly pid: number;
  /** Start time of the process in clock ticks since boot, as /proc prints it. */
  readonly start: string;
  /** Inode number of the pid namespace (`/proc/self/ns/pid`), or `?` where it cannot be read. */
  readonly pidns: string;
  /** The back-end instance: 16 hex digits. */
  readonly instance: string;
  readonly knockPort: number;
}

/** How an owner found in the firewall relates to the instance looking. */
export type OwnerState =
  /** It is the instance looking. */
  | 'self'
  /** Its process runs (or it is another live instance of this process). */
  | 'alive'
  /** Its process has gone, or it was torn down: its rules are stale. */
  | 'dead'
  /** In another pid namespace: its process cannot be looked up. */
  | 'unknown';

const MARK_PREFIX = 'sknock-server';
const MARK_PATTERN = /^sknock-server pid=(\d{1,10}) start=(\d{1,20}) pidns=(\d{1,20}|\?) id=([0-9a-f]{16}) port=(\d{1,5})$/;

/** Instances of this process that are set up now (their ids). */
const liveInstances = new Set<string>();

/** A new random instance id. */
export function newInstanceId(): string {
  return randomBytes(8).toString('hex');
}

/** Marks `instance` as set up (its rules are in force) in this process. */
export function claimInstance(instance: string): void {
  liveInstances.add(instance);
}

/** Marks `instance` as torn down. */
export function releaseInstance(instance: string): void {
  liveInstances.delete(instance);
}

/** The start time (clock ticks since boot) of process `pid`, or undefined when there is no such process. */
export function processStartTime(pid: number | 'self'): string | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // Field 2 is "(comm)", which may hold spaces and parentheses: count from the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const start = fields[22 - 3];
  return start !== undefined && /^\d+$/.test(start) ? start : undefined;
}

function pidNamespace(): string {
  try {
    return /^pid:\[(\d+)\]$/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? '?';
  } catch {
    return '?';
  }
}

/** This process's mark for back-end `instance` with knock port `knockPort`. */
export function ownMark(instance: string, knockPort: number): OwnerMark {
  return Object.freeze({ pid: process.pid, start: processStartTime('self') ?? '0', pidns: pidNamespace(), instance, knockPort });
}

export function formatOwnerMark(mark: OwnerMark): string {
  return `${MARK_PREFIX} pid=${mark.pid} start=${mark.start} pidns=${mark.pidns} id=${mark.instance} port=${mark.knockPort}`;
}

/** The mark in `text`, or undefined when `text` is not one (a table of an older version, or someone else's). */
export function parseOwnerMark(text: string): OwnerMark | undefined {
  const m = MARK_PATTERN.exec(text.trim());
  if (m === null) return undefined;
  const [, pid, start, pidns, instance, port] = m as unknown as [string, string, string, string, string, string];
  return Object.freeze({ pid: Number(pid), start, pidns, instance, knockPort: Number(port) });
}

/** How the owner `mark` relates to back-end instance `self` (see OwnerState). */
export function ownerState(mark: OwnerMark, self: string): OwnerState {
  if (mark.instance === self) return 'self';
  const ours = pidNamespace();
  if (mark.pidns !== ours || ours === '?') return 'unknown';
  if (mark.pid === process.pid && mark.start === processStartTime('self')) {
    return liveInstances.has(mark.instance) ? 'alive' : 'dead';
  }
  return processStartTime(mark.pid) === mark.start ? 'alive' : 'dead';
}

