import { createHash } from 'node:crypto';
import type { Credentials } from '@sknock/protocol';
import type { ServerConfig } from '../config/types.js';
import { CrlManager } from '../crl/index.js';
import { SknockServerError } from '../errors.js';
import { assertFirewallAccess } from '../firewall/access.js';
import type { FirewallBackend } from '../firewall/backend.js';
import { createFirewallBackend } from '../firewall/index.js';
import type { Logger } from '../logging/logger-type.js';
import { createKnockPipeline, type KnockPipeline } from '../pipeline/process-knock.js';
import { SourceRateLimiter } from '../pipeline/rate-limiter.js';
import { ReplayCache } from '../pipeline/replay-cache.js';
import type { GrantOpener, PipelineSettings } from '../pipeline/types.js';
import { TrustStore } from '../trust/index.js';
import { errorMessage } from './error-message.js';
import { loadCaFile, loadServerCredentials } from './server-credentials.js';
import { prepareServerFiles } from './server-files.js';
import type { CreateServerOptions, ServerLimits } from './server-options.js';

/**
 * Assembly: builds the daemon's components from the resolved config and the options —
 * credentials and CA certificates, the firewall back end, the CRL manager, the trust store
 * and the knock pipeline. Nothing here runs anything; the lifecycle (server.ts) starts and
 * stops what is built, the intake (intake.ts) feeds it datagrams.
 */

/** The server's key material, as read from its files (or given in memory). */
export interface ServerMaterial {
  readonly credentials: Credentials;
  /** caFile's certificates (intermediates, or the anchors when the credentials hold none). */
  readonly intermediates: readonly Uint8Array[];
  /** Identifies the CA certificates (a reload compares it to decide on a new CRL manager). */
  readonly issuersKey: string;
}

/** Prepares the server's files, reads the credentials and caFile; throws `ERR_SKNOCK_SERVER_CREDENTIALS` when nothing could be trusted. */
export async function loadServerMaterial(config: ServerConfig, logger: Logger): Promise<ServerMaterial> {
  await prepareServerFiles(config, logger);
  const credentials = await loadServerCredentials(config);
  const intermediates = await loadCaFile(config);
  if (credentials.caCertificates.length === 0 && intermediates.length === 0) {
    throw new SknockServerError(
      'ERR_SKNOCK_SERVER_CREDENTIALS',
      'the server credentials hold no CA certificate (and there is no caFile): no client certificate could ever be trusted',
    );
  }
  const hash = createHash('sha256');
  for (const der of [...credentials.caCertificates, ...intermediates]) hash.update(der);
  return { credentials, intermediates, issuersKey: hash.digest('base64') };
}

/** The numbers of the config the pipeline's checks use. */
export function pipelineSettingsOf(config: ServerConfig): PipelineSettings {
  return {
    knockPacketMinLength: config.knockPacketMinLength,
    recvBuffer: config.recvBuffer,
    timestampThresholdSeconds: config.timestampThresholdSeconds,
    portOpenDurationSeconds: config.portOpenDurationSeconds,
  };
}

export function makeCrlManager(config: ServerConfig, material: ServerMaterial, logger: Logger, now: () => number): CrlManager {
  return new CrlManager({
    caCertificates: [...material.credentials.caCertificates, ...material.intermediates],
    crlFile: config.crlFile,
    crlUrl: config.crlUrl,
    intervalMinutes: config.crlUpdateIntervalMinutes,
    requireCrl: config.requireCrl,
    logger: logger.child({ component: 'crl' }),
    now,
  });
}

export function makeTrustStore(config: ServerConfig, material: ServerMaterial, crl: CrlManager): TrustStore {
  const { credentials, intermediates } = material;
  const anchors = credentials.caCertificates.length > 0 ? [...credentials.caCertificates] : [...intermediates];
  return new TrustStore({ caCertificates: anchors, intermediates: [...intermediates], crl, requireCrl: config.requireCrl });
}

/** The firewall back end the options or the config name (or the caller's own), checked for the tools and privileges it needs. */
export function makeFirewall(chosen: NonNullable<CreateServerOptions['firewall']> | ServerConfig['firewallBackend'], config: ServerConfig, logger: Logger): FirewallBackend {
  if (typeof chosen !== 'string') return chosen;
  const log = logger.child({ component: 'firewall' });
  try {
    // Before anything is changed: a missing program or capability is named, not met as nft's netlink error.
    assertFirewallAccess(chosen);
    if (chosen === 'iptables') {
      return createFirewallBackend('iptables', {
        onError: (err) => (err.code === 'ERR_SKNOCK_FIREWALL_IN_USE' ? log.warn({ code: err.code, error: err.message }, 'firewall left alone') : log.error({ code: err.code, error: err.message }, 'firewall error')),
      });
    }
    if (chosen === 'exec') {
      return createFirewallBackend('exec', {
        open: config.execOpenCommand ?? [],
        close: config.execCloseCommand ?? [],
        ...(config.execSetupCommand ? { setup: config.execSetupCommand } : {}),
        ...(config.execTeardownCommand ? { teardown: config.execTeardownCommand } : {}),
        commandTimeoutMs: config.execCommandTimeoutSeconds * 1000,
        onError: (err) => log.error({ error: err.message, command: err.command, stderr: err.stderr }, 'firewall error'),
      });
    }
    if (chosen === 'nftables') {
      // The nft -i session ended between batches (the next one starts another) or could not start
      // (nft -f - per batch); or teardown found another instance's table and left it.
      return createFirewallBackend('nftables', {
        onError: (err) => log.warn({ code: err.code, error: err.message }, err.code === 'ERR_SKNOCK_FIREWALL_IN_USE' ? 'firewall left alone' : 'nft session'),
      });
    }
    return createFirewallBackend(chosen);
  } catch (err) {
    throw new SknockServerError('ERR_SKNOCK_FIREWALL', `firewall back end ${chosen} is unavailable: ${errorMessage(err)}`, { cause: err });
  }
}

/** The knock pipeline with its caches bounded by `limits`. */
export function makeKnockPipeline(config: ServerConfig, material: ServerMaterial, trust: TrustStore, opener: GrantOpener, limits: ServerLimits): KnockPipeline {
  return createKnockPipeline({
    settings: pipelineSettingsOf(config),
    privateKey: material.credentials.privateKey,
    trust,
    opener,
    rateLimiter: new SourceRateLimiter({ burst: limits.rateLimitBurst, perSecond: limits.rateLimitPerSecond, maxSources: limits.rateLimitMaxSources }),
    replayCache: new ReplayCache({
      maxSeen: limits.replaySeenMax,
      maxVerified: limits.replayVerifiedMax,
      maxVerifiedPerCertificate: limits.replayVerifiedPerCertificateMax,
    }),
  });
}
