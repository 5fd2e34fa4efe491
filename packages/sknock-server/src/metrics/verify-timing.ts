import { channel } from 'node:diagnostics_channel';

/**
 * How long steps 3–9 of each knock took (the work queue's part: decrypt, certificate,
 * signature, grant), published on a diagnostics channel so that the daemon's hot path pays
 * for the clock only while someone listens (the metrics endpoint's histogram,
 * ./metrics-registry.ts). Every server of the process publishes here; `server` says which.
 */

export const VERIFY_TIMING_CHANNEL = 'sknock-server:verify';

export interface VerifyTiming {
  /** The `SknockServer` that verified the knock. */
  readonly server: object;
  /** Seconds the verification took. */
  readonly seconds: number;
  /** True when the knock was accepted. */
  readonly accepted: boolean;
}

export const verifyTimingChannel = channel(VERIFY_TIMING_CHANNEL);
