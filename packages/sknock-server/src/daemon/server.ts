import { createHash } from 'node:crypto';
import type { RemoteInfo, Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { FRAME_OVERHEAD_IPV6, type Credentials } from '@sknock/protocol';
import { loadConfigFile } from '../config/load-config.js';
import { resolveServerConfig } from '../config/resolve.js';
import type { ServerConfig } from '../config/types.js';
import { STOP_DRAIN_TIMEOUT_MS } from '../constants.js';
import { CrlManager, type CrlIssuerStatus, type CrlStatus } from '../crl/index.js';
import { SknockServerError } from '../errors.js';
import type { FirewallBackend } from '../firewall/backend.js';
import { assertFirewallAccess } from '../firewall/access.js';
import { isSknockFirewallError } from '../firewall/errors.js';
import { createFirewallBackend } from '../firewall/index.js';
import { createLogger, silentLogger } from '../logging/create-logger.js';
import type { Logger } from '../logging/logger-type.js';
import { normaliseSource } from '../pipeline/normalise-source.js';
import { createKnockPipeline, type KnockPipeline, type ScreenedKnock } from '../pipeline/process-knock.js';
import { SourceRateLimiter } from '../pipeline/rate-limiter.js';
import { REJECT_CODES, type RejectCode } from '../pipeline/reject-codes.js';
import { isReject } from '../pipeline/reject.js';
import { ReplayCache } from '../pipeline/replay-cache.js';
import type { Accept, KnockSource, PipelineSettings } from '../pipeline/types.js';
import { verifyTimingChannel } from '../metrics/verify-timing.js';
import { TrustStore } from '../trust/index.js';
import { FirewallWatchdog, type FirewallCheckState, type FirewallWatchdogStats } from './firewall-watchdog.js';
import { GrantKeeper, type GrantCloseEvent, type GrantEvent, type GrantMatch } from './grant-keeper.js';
import { bindKnockSocket, closeSocket } from './knock-socket.js';
import { RejectLog } from './reject-log.js';
import { ReturningSources } from './returning-sources.js';
import { loadCaFile, loadServerCredentials } from './server-credentials.js';
import { prepareServerFiles } from './server-files.js';
import { checkServerOptions, type CreateServerOptions } from './server-options.js';
import { WorkQueue } from './work-queue.js';

/**
 * `createServer(options)`: the sKnock daemon as a library. Owns the socket, the work queue,
 * the pipeline's caches, the CRL manager, the trust store, the firewall back end and the
 * grants it made; emits what happens. It never answers a knock.
 */

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
  /** The client certificate's subject and serial, when the knock got far enough to show them. */
  readonly subject?: string;
  readonly serial?: string;
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

/** Config keys that only a restart applies (the sockets and the firewall's base rules). */
const RESTART_KEYS = ['knockPort', 'listenAddress', 'firewallBackend', 'firewallPolicy', 'emergencyAccessPorts', 'anyPortKnocks', 'firewallCheckIntervalSeconds', 'controlSocket', 'metricsAddress'] as const;

/** What `firewallHealth()` says: whether the firewall watchdog can vouch for the rules. */
export interface FirewallHealth {
  /** False for a back end without `check()` (memory, exec, a plug-in): nothing to vouch for. */
  readonly watched: boolean;
  /** The latest check, at most `maxAgeMs` old (undefined while not running). */
  readonly lastCheck?: FirewallCheckState;
}

function settingsOf(config: ServerConfig): PipelineSettings {
  return {
    knockPacketMinLength: config.knockPacketMinLength,
    recvBuffer: config.recvBuffer,
    timestampThresholdSeconds: config.timestampThresholdSeconds,
    portOpenDurationSeconds: config.portOpenDurationSeconds,
  };
}

/** What is held from one CA, in loggable form. */
export interface CrlIssuerSummary {
  /** The CA's subject, one line. */
  readonly issuer: string;
  /** SHA-256 of its subject and key (base64url): CRLs and revocations are kept by it. */
  readonly issuerId: string;
  readonly haveCrl: boolean;
  readonly stale: boolean;
  readonly thisUpdate?: string;
  readonly nextUpdate?: string;
  readonly crlNumber?: string;
  readonly source?: string;
  /** The crlFile path or crlUrl it came from. */
  readonly origin?: string;
  readonly revokedCount?: number;
}

/**
 * The CRLs in force, in loggable form (dates as ISO text, CRL numbers as strings). The summary
 * fields describe them together (with one CA: its CRL): `haveCrl` at least one is held,
 * `stale` at least one is past its nextUpdate, `thisUpdate` the oldest, `nextUpdate` the
 * earliest, `crlNumber` only when one CRL is held, `source` when they all came the same way,
 * `revokedCount` all together; `issuers` says what is held from each CA.
 */
export interface CrlSummary {
  readonly haveCrl: boolean;
  readonly stale: boolean;
  readonly thisUpdate?: string;
  readonly nextUpdate?: string;
  readonly crlNumber?: string;
  readonly source?: string;
  readonly revokedCount?: number;
  readonly issuers: readonly CrlIssuerSummary[];
}

function datesForLog(status: CrlStatus | CrlIssuerStatus): Record<string, string | number> {
  return {
    ...(status.thisUpdate ? { thisUpdate: status.thisUpdate.toISOString() } : {}),
    ...(status.nextUpdate ? { nextUpdate: status.nextUpdate.toISOString() } : {}),
    ...(status.crlNumber !== undefined ? { crlNumber: status.crlNumber.toString() } : {}),
    ...(status.source ? { source: status.source } : {}),
    ...(status.revokedCount !== undefined ? { revokedCount: status.revokedCount } : {}),
  };
}

function crlStatusForLog(status: CrlStatus): CrlSummary {
  return {
    haveCrl: status.haveCrl,
    stale: status.stale,
    ...datesForLog(status),
    issuers: status.issuers.map((i) => ({
      issuer: i.issuer,
      issuerId: i.issuerId,
      haveCrl: i.haveCrl,
      stale: i.stale,
      ...datesForLog(i),
      ...(i.origin !== undefined ? { origin: i.origin } : {}),
    })),
  };
}

function issuersKey(credentials: Credentials, intermediates: readonly Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const der of [...credentials.caCertificates, ...intermediates]) hash.update(der);
  return hash.digest('base64');
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class SknockServer extends EventEmitter<ServerEvents> {
  readonly #options: CreateServerOptions;
  readonly #now: () => number;
  #config: ServerConfig | undefined;
  #logger: Logger;
  #ownLogger = false;
  #state: ServerState = 'stopped';
  #starting: Promise<ServerAddress> | undefined;
  #socket: Socket | undefined;
  #firewall: FirewallBackend | undefined;
  /** True once setup() was called: only then may teardown() run (it would remove another instance's state). */
  #firewallTouched = false;
  #watchdog: FirewallWatchdog | undefined;
  #watchdogStats: FirewallWatchdogStats = { checks: 0, repairs: 0, failedChecks: 0 };
  #crl: CrlManager | undefined;
  #keeper: GrantKeeper | undefined;
  #pipeline: KnockPipeline | undefined;
  #queue: WorkQueue<ScreenedKnock> | undefined;
  #rejectLog: RejectLog | undefined;
  readonly #returning = new ReturningSources();
  /** Identifies the CA certificates the CRL manager was made with (reload compares). */
  #issuersKey = '';
  #received = 0;
  #accepted = 0;
  #rejected: Record<RejectCode, number> = Object.fromEntries(REJECT_CODES.map((c) => [c, 0])) as Record<RejectCode, number>;

  constructor(options: CreateServerOptions = {}) {
    super();
    this.#options = checkServerOptions(options);
    this.#now = options.now ?? Date.now;
    if (typeof options.config !== 'string') {
      // Settings given as an object (or only credentials): validated now, at the boundary.
      this.#config = this.#resolveObjectConfig();
    }
    this.#logger = silentLogger();
    if (options.logger !== undefined && options.logger !== false) this.#logger = options.logger;
    else if (options.logger === undefined && this.#config !== undefined) this.#useOwnLogger(this.#config);
  }

  #useOwnLogger(config: ServerConfig): void {
    const level = config.logLevel;
    if (this.#ownLogger) {
      (this.#logger as Logger & { level: string }).level = level;
      return;
    }
    this.#logger = createLogger({ level });
    this.#ownLogger = true;
  }

  #resolveObjectConfig(): ServerConfig {
    const { config, credentials } = this.#options;
    return resolveServerConfig({ ...(typeof config === 'object' ? config : {}), ...(credentials ? { credentials } : {}) });
  }

  /** The config file read again (or, for settings given as an object, checked again: files, PFXPasswdFile). */
  async #readConfig(reloading = false): Promise<ServerConfig> {
    const { config, credentials } = this.#options;
    if (typeof config !== 'string') return reloading ? this.#resolveObjectConfig() : (this.#config as ServerConfig);
    const fromFile = await loadConfigFile(config);
    return credentials === undefined ? fromFile : { ...fromFile, credentials };
  }

  get state(): ServerState {
    return this.#state;
  }

  /** The resolved configuration in force (undefined before a config file is read). */
  get config(): ServerConfig | undefined {
    return this.#config;
  }

  /**
   * Reads the config (file), loads the credentials, starts the CRL manager, binds the socket,
   * sets the firewall up (policy, emergency ports, knock port, any-port knocks), then starts
   * taking knocks, with the firewall watchdog running. On failure everything started so far is
   * undone and the error thrown: `SknockConfigError`, or `SknockServerError`
   * (`ERR_SKNOCK_CREDENTIALS`, `ERR_SKNOCK_FIREWALL`, `ERR_SKNOCK_FIREWALL_IN_USE`, `ERR_SKNOCK_BIND`).
   */
  async start(): Promise<ServerAddress> {
    if (this.#state !== 'stopped') throw new SknockServerError('ERR_SKNOCK_STATE', `start() while ${this.#state}`);
    this.#state = 'starting';
    const starting = this.#start();
    this.#starting = starting;
    try {
      return await starting;
    } finally {
      this.#starting = undefined;
    }
  }

  async #start(): Promise<ServerAddress> {
    try {
      const config = await this.#readConfig();
      this.#config = config;
      if (this.#options.logger === undefined) this.#useOwnLogger(config);
      const log = this.#logger;
      await prepareServerFiles(config, log);
      const credentials = await loadServerCredentials(config);
      const intermediates = await loadCaFile(config);
      this.#checkAnchors(credentials, intermediates);
      const firewall = this.#makeFirewall(config);
      this.#firewall = firewall;

      this.#crl = this.#makeCrlManager(config, credentials, intermediates);
      this.#issuersKey = issuersKey(credentials, intermediates);
      await this.#crl.start();
      this.#crl.on('updated', this.#onCrlUpdated);
      const trust = this.#makeTrustStore(config, credentials, intermediates, this.#crl);

      const limits = this.#options.limits ?? {};
      const keeper = new GrantKeeper({
        firewall,
        logger: log.child({ component: 'grants' }),
        now: this.#now,
        revokedLink: (chain) => this.#crl?.revokedLink(chain),
        maxPending: limits.openPendingMax,
        maxAttempts: limits.openMaxAttempts,
        retryBaseMs: limits.openRetryBaseMs,
      });
      keeper.on('open', (e: GrantEvent) => {
        log.info({ event: 'open', grant: e.grant, subject: e.subject, serial: e.serial, expiresAt: new Date(e.expiresAt).toISOString() }, 'grant open');
        this.#emitSafely('open', e);
      });
      keeper.on('close', (e: GrantCloseEvent) => {
        // A revoked grant was logged at warn by the keeper, with why; one an operator closed at info.
        if (e.reason === 'expired') log.info({ event: 'close', reason: e.reason, grant: e.grant, subject: e.subject, serial: e.serial }, 'grant expired');
        this.#emitSafely('close', e);
      });
      keeper.on('lost', (e: GrantEvent & { error: string }) => this.#emitSafely('lost', e));
      this.#keeper = keeper;

      this.#pipeline = createKnockPipeline({
        settings: settingsOf(config),
        privateKey: credentials.privateKey,
        trust,
        opener: keeper,
        rateLimiter: new SourceRateLimiter({ burst: limits.rateLimitBurst, perSecond: limits.rateLimitPerSecond, maxSources: limits.rateLimitMaxSources }),
        replayCache: new ReplayCache({
          maxSeen: limits.replaySeenMax,
          maxVerified: limits.replayVerifiedMax,
          maxVerifiedPerCertificate: limits.replayVerifiedPerCertificateMax,
        }),
      });
      this.#rejectLog = new RejectLog({
        logger: log,
        now: this.#now,
        perSecond: limits.rejectLogPerSecond,
        summaryIntervalMs: limits.rejectSummaryIntervalMs,
      });
      this.#queue = new WorkQueue<ScreenedKnock>({
        process: (k) => this.#verify(k),
        max: limits.queueMax,
        priorityMax: limits.queueMax === undefined ? undefined : Math.max(1, Math.min(limits.queueMax, Math.floor(limits.queueMax / 4))),
        batchMax: limits.batchMax,
      });

      const port = this.#options.listenPort ?? config.knockPort;
      this.#socket = await bindKnockSocket({ address: config.listenAddress, port, logger: log, onMessage: this.#onMessage });
      const bound = this.address() as ServerAddress;

      this.#firewallTouched = true;
      try {
        await firewall.setup({
          policy: config.firewallPolicy,
          emergencyAccessPorts: config.emergencyAccessPorts,
          knockPort: bound.port,
          listenAddress: bound.address,
          anyPortKnocks: config.anyPortKnocks,
          minKnockDatagramLength: Math.max(0, config.knockPacketMinLength - FRAME_OVERHEAD_IPV6),
        });
      } catch (err) {
        if (isSknockFirewallError(err, 'ERR_SKNOCK_FIREWALL_IN_USE')) {
          // Another daemon's rules: setup changed nothing, and nothing may be torn down.
          this.#firewallTouched = false;
          throw new SknockServerError('ERR_SKNOCK_FIREWALL_IN_USE', `firewall back end ${firewall.name}: ${err.message}`, { cause: err });
        }
        const hint = isSknockFirewallError(err, 'ERR_SKNOCK_FIREWALL_UNAVAILABLE') ? ' (sknock-server check-config --firewall says what is missing)' : '';
        throw new SknockServerError('ERR_SKNOCK_FIREWALL', `firewall back end ${firewall.name} could not be set up: ${errorMessage(err)}${hint}`, { cause: err });
      }
      this.#watchdog = new FirewallWatchdog({
        firewall,
        intervalMs: config.firewallCheckIntervalSeconds * 1000,
        logger: log.child({ component: 'firewall' }),
        now: this.#now,
      });
      this.#watchdog.start();

      this.#state = 'running';
      log.info(
        {
          event: 'listening',
          address: bound.address,
          port: bound.port,
          firewall: firewall.name,
          policy: config.firewallPolicy,
          anyPortKnocks: config.anyPortKnocks,
          recvBufferBytes: this.#recvBufferSize(),
          crl: crlStatusForLog(this.#crl.status()),
        },
        'sknock-server listening',
      );
      if (firewall.name === 'iptables' && config.anyPortKnocks && config.firewallPolicy !== 'drop') {
        log.warn(
          { event: 'fingerprint', firewall: firewall.name, policy: config.firewallPolicy, anyPortKnocks: true },
          'iptables with anyPortKnocks: knock-shaped datagrams are absorbed on every UDP port while others get ICMP port unreachable, so a scanner can tell a knock daemon is there (nftables, anyPortKnocks off or firewallPolicy drop avoid that)',
        );
      }
      this.emit('listening', bound);
      return bound;
    } catch (err) {
      try {
        await this.#undo(this.#firewall, true);
      } catch {
        // logged by #undo; the start error is the one to report
      }
      this.#state = 'stopped';
      throw err;
    }
  }

  #checkAnchors(credentials: Credentials, intermediates: readonly Uint8Array[]): void {
    if (credentials.caCertificates.length === 0 && intermediates.length === 0) {
      throw new SknockServerError(
        'ERR_SKNOCK_CREDENTIALS',
        'the server credentials hold no CA certificate (and there is no caFile): no client certificate could ever be trusted',
      );
    }
  }

  #makeCrlManager(config: ServerConfig, credentials: Credentials, intermediates: readonly Uint8Array[]): CrlManager {
    return new CrlManager({
      caCertificates: [...credentials.caCertificates, ...intermediates],
      crlFile: config.crlFile,
      crlUrl: config.crlUrl,
      intervalMinutes: config.crlUpdateIntervalMinutes,
      requireCrl: config.requireCrl,
      logger: this.#logger.child({ component: 'crl' }),
      now: this.#now,
    });
  }

  /** A CRL was taken: grants of certificates it revokes close at once. */
  readonly #onCrlUpdated = (): void => {
    try {
      this.#keeper?.closeRevoked();
    } catch (err) {
      this.#logger.error({ error: errorMessage(err) }, 'error closing the grants of revoked certificates');
    }
  };

  #makeTrustStore(config: ServerConfig, credentials: Credentials, intermediates: readonly Uint8Array[], crl: CrlManager): TrustStore {
    const anchors = credentials.caCertificates.length > 0 ? [...credentials.caCertificates] : [...intermediates];
    return new TrustStore({ caCertificates: anchors, intermediates: [...intermediates], crl, requireCrl: config.requireCrl });
  }

  #makeFirewall(config: ServerConfig): FirewallBackend {
    const chosen = this.#options.firewall ?? config.firewallBackend;
    if (typeof chosen !== 'string') return chosen;
    const log = this.#logger.child({ component: 'firewall' });
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

  #recvBufferSize(): number | undefined {
    try {
      return this.#socket?.getRecvBufferSize();
    } catch {
      return undefined;
    }
  }

  /** The socket's 'message' handler: steps 1–2 at once, the rest through the bounded queue. */
  readonly #onMessage = (msg: Buffer, rinfo: RemoteInfo): void => {
    this.#received += 1;
    let source: KnockSource | undefined;
    try {
      if (this.#state !== 'running') return;
      source = normaliseSource(rinfo.address, rinfo.family, rinfo.port);
      if (this.listenerCount('knock') > 0) this.#emitSafely('knock', { source, length: msg.length });
      const pipeline = this.#pipeline as KnockPipeline;
      const now = this.#now();
      const screened = pipeline.screen(msg, source, now);
      if (isReject(screened)) {
        this.#reject(screened, source);
        return;
      }
      const returning = this.#returning.has(source.address, now);
      if (!(this.#queue as WorkQueue<ScreenedKnock>).push(screened, returning)) {
        this.#reject({ code: 'overloaded', detail: returning ? 'work queue full (returning sources)' : 'work queue full' }, source);
      }
    } catch (err) {
      // Nothing a network sends gets here (the pipeline returns rejects); a listener's throw might.
      this.#logger.error({ error: errorMessage(err), source: source?.address }, 'error handling a datagram');
    }
  };

  #verify(knock: ScreenedKnock): void {
    try {
      if (this.#state !== 'running') return;
      const now = this.#now();
      const timed = verifyTimingChannel.hasSubscribers;
      const startedAt = timed ? performance.now() : 0;
      const result = (this.#pipeline as KnockPipeline).verify(knock, now);
      if (timed) verifyTimingChannel.publish({ server: this, seconds: (performance.now() - startedAt) / 1000, accepted: result.ok });
      if (!result.ok) {
        this.#reject(result, knock.source);
        return;
      }
      this.#accepted += 1;
      this.#returning.add(knock.source.address, now);
      const { grant, subject, serial, expiresAt, skewSeconds } = result;
      this.#logger.info(
        {
          event: 'accept',
          subject,
          serial,
          sourceAddress: knock.source.address,
          sourcePort: knock.source.port,
          protocol: grant.protocol,
          port: grant.port,
          skewSeconds,
          expiresAt: new Date(expiresAt).toISOString(),
        },
        'knock accepted',
      );
      if (this.listenerCount('accept') > 0) this.#emitSafely('accept', { grant, subject, serial, expiresAt, skewSeconds, source: knock.source });
    } catch (err) {
      this.#logger.error({ error: errorMessage(err) }, 'error handling a knock');
    }
  }

  #reject(r: { readonly code: RejectCode; readonly detail: string; readonly subject?: string; readonly serial?: string }, source: KnockSource): void {
    this.#rejected[r.code] += 1;
    this.#rejectLog?.record(r, source);
    if (this.listenerCount('reject') > 0) {
      const { code, detail, subject, serial } = r;
      this.#emitSafely('reject', { code, source, detail, ...(subject === undefined ? {} : { subject, serial }) });
    }
  }

  /** Emits an event; a listener that throws is logged, and the daemon goes on (it is not the network's fault). */
  #emitSafely<K extends keyof ServerEvents>(name: K, ...args: ServerEvents[K]): void {
    try {
      (this.emit as (n: K, ...a: ServerEvents[K]) => boolean)(name, ...args);
    } catch (err) {
      this.#logger.error({ event: name, error: errorMessage(err) }, `a '${String(name)}' listener threw`);
    }
  }

  /**
   * Re-reads the config file (if the server was made from one), the server's PKCS#12 file,
   * caFile and the CRL, and applies them. Keys that need a restart (socket, firewall base
   * rules) are logged and listed in the `reload` event. A bad new config is logged and
   * thrown; the one in force stays.
   */
  async reload(): Promise<void> {
    if (this.#state !== 'running') throw new SknockServerError('ERR_SKNOCK_STATE', `reload() while ${this.#state}`);
    const old = this.#config as ServerConfig;
    const log = this.#logger;
    try {
      const config = await this.#readConfig(true);
      await prepareServerFiles(config, log);
      const credentials = await loadServerCredentials(config);
      const intermediates = await loadCaFile(config);
      this.#checkAnchors(credentials, intermediates);
      const issuers = issuersKey(credentials, intermediates);
      const crlSourceChanged =
        JSON.stringify(config.crlFile) !== JSON.stringify(old.crlFile) ||
        JSON.stringify(config.crlUrl) !== JSON.stringify(old.crlUrl) ||
        config.crlUpdateIntervalMinutes !== old.crlUpdateIntervalMinutes ||
        config.requireCrl !== old.requireCrl ||
        issuers !== this.#issuersKey;
      let crl = this.#crl as CrlManager;
      if (crlSourceChanged) {
        // Other CA certificates or another CRL source: a fresh manager, started before the old one stops.
        const fresh = this.#makeCrlManager(config, credentials, intermediates);
        await fresh.start();
        if (this.#state !== 'running') {
          fresh.stop();
          return;
        }
        crl.stop();
        crl.off('updated', this.#onCrlUpdated);
        crl = fresh;
        this.#crl = fresh;
        this.#issuersKey = issuers;
        fresh.on('updated', this.#onCrlUpdated);
        this.#onCrlUpdated();
      } else {
        // The same source: re-read it; a CRL file that no longer verifies keeps the last good CRL.
        await crl.reload();
      }
      const trust = this.#makeTrustStore(config, credentials, intermediates, crl);
      if (this.#state !== 'running') return;
      (this.#pipeline as KnockPipeline).reconfigure({ settings: settingsOf(config), privateKey: credentials.privateKey, trust });
      this.#config = config;
      if (this.#ownLogger) this.#useOwnLogger(config);
      const restartNeeded = RESTART_KEYS.filter((k) => JSON.stringify(config[k]) !== JSON.stringify(old[k]));
      if (restartNeeded.length > 0) log.warn({ event: 'reload', restartNeeded }, `changed settings that apply only after a restart: ${restartNeeded.join(', ')}`);
      log.info({ event: 'reload', crl: crlStatusForLog(crl.status()) }, 'configuration reloaded');
      this.emit('reload', { restartNeeded });
    } catch (err) {
      log.error({ event: 'reload', error: errorMessage(err) }, 'reload failed; keeping the configuration in force');
      throw err;
    }
  }

  /**
   * Stops taking knocks, lets firewall writes in flight finish (bounded), removes exactly
   * what the server added to the firewall, and stops every timer. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.#state === 'starting') {
      // Let the start finish (or fail and undo itself), then stop what it started.
      await this.#starting?.catch(() => undefined);
    }
    if (this.#state === 'stopped' || this.#state === 'stopping') return;
    this.#state = 'stopping';
    const firewall = this.#firewall;
    let teardownError: unknown;
    try {
      await this.#undo(firewall);
    } catch (err) {
      teardownError = err;
    }
    this.#state = 'stopped';
    this.#logger.info({ event: 'stopped', received: this.#received, accepted: this.#accepted }, 'sknock-server stopped');
    this.emit('stopped');
    if (teardownError !== undefined) {
      throw new SknockServerError('ERR_SKNOCK_FIREWALL', `firewall teardown failed: ${errorMessage(teardownError)}`, { cause: teardownError });
    }
  }

  /** Undoes whatever start() got to; throws the teardown's error after doing the rest. */
  async #undo(firewall = this.#firewall, afterFailedStart = false): Promise<void> {
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket !== undefined) await closeSocket(socket);
    const watchdog = this.#watchdog;
    this.#watchdog = undefined;
    if (watchdog !== undefined) {
      await watchdog.stop();
      this.#watchdogStats = watchdog.stats;
    }
    this.#queue?.clear();
    if (this.#keeper !== undefined) {
      await this.#keeper.idle(STOP_DRAIN_TIMEOUT_MS);
      this.#keeper.stop();
      this.#keeper.removeAllListeners();
    }
    this.#rejectLog?.stop();
    this.#crl?.off('updated', this.#onCrlUpdated);
    this.#crl?.stop();
    this.#keeper = undefined;
    this.#queue = undefined;
    this.#rejectLog = undefined;
    this.#crl = undefined;
    this.#pipeline = undefined;
    this.#firewall = undefined;
    const touched = this.#firewallTouched;
    this.#firewallTouched = false;
    if (firewall !== undefined && touched) {
      try {
        await firewall.teardown();
      } catch (err) {
        const line = { event: 'teardown', firewall: firewall.name, error: errorMessage(err) };
        // The tools could not run at all (no permission, no program): the failed setup could not have changed anything either.
        if (afterFailedStart && isSknockFirewallError(err, 'ERR_SKNOCK_FIREWALL_UNAVAILABLE')) {
          this.#logger.debug(line, 'nothing to undo: the firewall tools could not run');
          return;
        }
        if (afterFailedStart) this.#logger.warn(line, 'could not undo the firewall set-up of the failed start');
        else this.#logger.error(line, 'firewall teardown failed');
        throw err;
      }
    }
  }

  /** The bound address (undefined unless listening). */
  address(): ServerAddress | undefined {
    if (this.#socket === undefined) return undefined;
    const a = this.#socket.address();
    return { address: a.address, family: a.family === 'IPv4' ? 4 : 6, port: a.port };
  }

  /** Grants the server made that have not expired yet. */
  grants(): GrantEvent[] {
    return this.#keeper?.held() ?? [];
  }

  /**
   * Closes at once every grant of `address` (an IPv4 or IPv6 address), or only its
   * `protocol`/`port`; resolves with what it closed once the firewall took it. Throws
   * `ERR_SKNOCK_INVALID_OPTION` for a bad address or port, `ERR_SKNOCK_STATE` unless running.
   */
  async closeGrants(address: string, protocol?: 'tcp' | 'udp', port?: number): Promise<GrantEvent[]> {
    const family = typeof address === 'string' ? isIP(address) : 0;
    if (family === 0) throw new SknockServerError('ERR_SKNOCK_INVALID_OPTION', `closeGrants: address must be an IPv4 or IPv6 address, not ${JSON.stringify(address)}`);
    if (protocol !== undefined && protocol !== 'tcp' && protocol !== 'udp') throw new SknockServerError('ERR_SKNOCK_INVALID_OPTION', 'closeGrants: protocol must be tcp or udp');
    if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65_535)) throw new SknockServerError('ERR_SKNOCK_INVALID_OPTION', 'closeGrants: port must be a whole number from 1 to 65535');
    const keeper = this.#runningKeeper('closeGrants');
    const match: GrantMatch = { address: normaliseSource(address, family, 0).address, ...(protocol === undefined ? {} : { protocol }), ...(port === undefined ? {} : { port }) };
    return keeper.close(match);
  }

  /** Closes every grant at once (those held, and any other the back end lists); resolves with what it closed. */
  async flushGrants(): Promise<GrantEvent[]> {
    return this.#runningKeeper('flushGrants').flush();
  }

  #runningKeeper(what: string): GrantKeeper {
    if (this.#state !== 'running' || this.#keeper === undefined) throw new SknockServerError('ERR_SKNOCK_STATE', `${what}() while ${this.#state}`);
    return this.#keeper;
  }

  /**
   * What the firewall watchdog found at its latest check; a check older than `maxAgeMs` (or
   * none yet) is made now, and repairs what it finds missing, as the watchdog's own would.
   */
  async firewallHealth(maxAgeMs = 1000): Promise<FirewallHealth> {
    const watchdog = this.#watchdog;
    if (watchdog === undefined || this.#state !== 'running') return { watched: false };
    if (!watchdog.watching) return { watched: false };
    const last = watchdog.lastCheck;
    if (last === undefined || this.#now() - last.at > maxAgeMs) await watchdog.checkNow();
    const lastCheck = watchdog.lastCheck;
    return { watched: true, ...(lastCheck === undefined ? {} : { lastCheck }) };
  }

  stats(): ServerStats {
    const q = this.#queue?.stats();
    const pipeline = this.#pipeline;
    return {
      state: this.#state,
      received: this.#received,
      accepted: this.#accepted,
      rejected: { ...this.#rejected },
      queue: { length: q?.length ?? 0, max: q?.max ?? 0, highWater: q?.highWater ?? 0, dropped: q?.dropped ?? 0 },
      grants: this.#keeper?.stats() ?? { pending: 0, held: 0, opened: 0, failedWrites: 0, lost: 0, revoked: 0 },
      replayCache: { seen: pipeline?.replayCache.seenSize ?? 0, verified: pipeline?.replayCache.verifiedSize ?? 0 },
      rateLimitedSources: pipeline?.rateLimiter.size ?? 0,
      firewall: this.#watchdog?.stats ?? this.#watchdogStats,
      crl: this.#crl === undefined ? undefined : crlStatusForLog(this.#crl.status()),
    };
  }
}

/** Makes a server (not started: call `start()`). Throws at once on bad options or settings. */
export function createServer(options: CreateServerOptions = {}): SknockServer {
  return new SknockServer(options);
}
