import { channel } from 'node:diagnostics_channel';
import type { KnockProtocol } from '@sknock/protocol';
import { CHANNEL_CONNECTED, CHANNEL_FAILURE, CHANNEL_KNOCK_SENT, CHANNEL_PORT_OPEN, CHANNEL_RETRY } from './constants.js';
import type { SknockClientErrorCode } from './errors.js';

/**
 * The SDK never logs: it publishes these `node:diagnostics_channel` messages. Subscribe
 * with `diagnostics_channel.subscribe(CHANNEL_KNOCK_SENT, fn)`. Messages are plain frozen
 * objects; nothing secret is in them.
 */

/** After each knock datagram has been handed to the OS. */
export interface KnockSentMessage {
  readonly host: string;
  /** The resolved address the knock went to. */
  readonly address: string;
  readonly port: number;
  readonly protocol: KnockProtocol;
  /** UDP destination port of this datagram. */
  readonly knockPort: number;
  /** The address bound into the packet. */
  readonly sourceAddress: string;
  /** 1 for the first knock of the call. */
  readonly attempt: number;
  /** Datagram size in bytes. */
  readonly bytes: number;
  /** ms since the call started. */
  readonly elapsedMs: number;
}

/** When a probe connection to the port succeeded. */
export interface PortOpenMessage {
  readonly host: string;
  readonly address: string;
  readonly port: number;
  readonly attempt: number;
  /** ms since the call started. */
  readonly elapsedMs: number;
  /** ms from the last knock being sent to the port answering. */
  readonly sinceKnockMs: number;
  /** Probe connections made during this try. */
  readonly probes: number;
}

/** When a try ended without the port answering and another knock follows. */
export interface RetryMessage {
  readonly host: string;
  readonly address: string;
  readonly port: number;
  /** The number of the knock about to be sent (2 for the first retry). */
  readonly attempt: number;
  readonly elapsedMs: number;
  /** The last probe's error code (`ECONNREFUSED`, ...) or `'no answer'`. */
  readonly lastProbeError: string;
}

/** When `connect()` (or an agent, or `knocker.socket()`) hands over a connection: one message per connection. */
export interface ConnectedMessage {
  readonly host: string;
  readonly address: string;
  readonly port: number;
  /** Knocks sent for it (0: a grant was still running; shared with concurrent calls). */
  readonly knocks: number;
  /** ms since the call started. */
  readonly elapsedMs: number;
}

/** When the call rejects. */
export interface FailureMessage {
  readonly host: string;
  readonly port: number;
  readonly code: SknockClientErrorCode;
  readonly message: string;
  readonly attempts: number;
  readonly elapsedMs: number;
}

const knockSent = channel(CHANNEL_KNOCK_SENT);
const portOpen = channel(CHANNEL_PORT_OPEN);
const retry = channel(CHANNEL_RETRY);
const failure = channel(CHANNEL_FAILURE);
const connected = channel(CHANNEL_CONNECTED);

export function publishKnockSent(message: KnockSentMessage): void {
  if (knockSent.hasSubscribers) knockSent.publish(Object.freeze(message));
}
export function publishPortOpen(message: PortOpenMessage): void {
  if (portOpen.hasSubscribers) portOpen.publish(Object.freeze(message));
}
export function publishRetry(message: RetryMessage): void {
  if (retry.hasSubscribers) retry.publish(Object.freeze(message));
}
export function publishFailure(message: FailureMessage): void {
  if (failure.hasSubscribers) failure.publish(Object.freeze(message));
}
export function publishConnected(message: ConnectedMessage): void {
  if (connected.hasSubscribers) connected.publish(Object.freeze(message));
}
