import type { Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { FRAME_OVERHEAD_IPV6 } from '@sknock/protocol';
import { loadConfigFile } from '../config/load-config.js';
import { resolveServerConfig } from '../config/resolve.js';
import type { ServerConfig } from '../config/types.js';
import { STOP_DRAIN_TIMEOUT_MS } from '../constants.js';
import type { CrlManager } from '../crl/index.js';
import { SknockServerError } from '../errors.js';
import type { FirewallBackend } from '../firewall/backend.js';
import { isSknockFirewallError } from '../firewall/errors.js';
import { createLogger, silentLogger } from '../logging/create-logger.js';
import type { Logger } from '../logging/logger-type.js';
import type { KnockPipeline } from '../pipeline/process-knock.js';
import { loadServerMaterial, makeCrlManager, makeFirewall, makeKnockPipeline, makeTrustStore, pipelineSettingsOf } from './assembly.js';
import { crlStatusForLog } from './crl-summary.js';
import { errorMessage } from './error-message.js';
import { FirewallWatchdog, type FirewallWatchdogStats } from './firewall-watchdog.js';
import { GrantKeeper, type GrantCloseEvent, type GrantEvent } from './grant-keeper.js';
import { KnockIntake } from './intake.js';
import { bindKnockSocket, closeSocket } from './knock-socket.js';
import { checkServerOptions, type CreateServerOptions } from './server-options.js';
import type { ServerAddress, ServerEvents, ServerState, ServerStats } from './server-types.js';

export type { CrlIssuerSummary, CrlSummary } from './crl-summary.js';
export type { AcceptEvent, CloseEvent, KnockEvent, OpenEvent, RejectEvent, ServerAddress, ServerEvents, ServerState, ServerStats } from './server-types.js';

/**
 * `createServer(options)`: the sKnock daemon as a library. Owns the socket, the work queue,
 * the pipeline's caches, the CRL manager, the trust store, the firewall back end and the
 * grants it made; emits what happens. It never answers a knock.
 *
 * This file is the lifecycle: start (read the config, build the components — assembly.ts —,
 * bind, set the firewall up, open the intake — intake.ts), reload, stop, and what it reports.
 * Signals are the command's (cli/server-main.ts).
 */

/** Config keys that only a restart applies (the socket and the firewall's base rules). */
const RESTART_KEYS = ['knockPort', 'listenAddress', 'firewallBackend', 'firewallPolicy', 'emergencyAccessPorts', 'anyPortKnocks', 'firewallCheckIntervalSeconds'] as const;

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
  readonly #intake: KnockIntake;
  /** Identifies the CA certificates the CRL manager was made with (reload compares). */
  #issuersKey = '';

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
    this.#intake = new KnockIntake({
      now: this.#now,
      events: { wants: (name) => this.listenerCount(name) > 0, emit: (name, ...args) => this.#emitSafely(name, ...args) },
    });
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
   * (`ERR_SKNOCK_SERVER_CREDENTIALS`, `ERR_SKNOCK_FIREWALL`, `ERR_SKNOCK_FIREWALL_IN_USE`, `ERR_SKNOCK_BIND`).
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
      const material = await loadServerMaterial(config, log);
      const firewall = makeFirewall(this.#options.firewall ?? config.firewallBackend, config, log);
      this.#firewall = firewall;

      const crl = makeCrlManager(config, material, log, this.#now);
      this.#crl = crl;
      this.#issuersKey = material.issuersKey;
      await crl.start();
      crl.on('updated', this.#onCrlUpdated);

      const limits = this.#options.limits ?? {};
      const keeper = this.#makeGrantKeeper(firewall, log);
      this.#keeper = keeper;
      this.#pipeline = makeKnockPipeline(config, material, makeTrustStore(config, material, crl), keeper, limits);

      const port = this.#options.listenPort ?? config.knockPort;
      this.#socket = await bindKnockSocket({ address: config.listenAddress, port, logger: log, onMessage: this.#intake.onMessage });
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

      this.#intake.open(this.#pipeline, log, limits);
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
          crl: crlStatusForLog(crl.status()),
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

  #makeGrantKeeper(firewall: FirewallBackend, log: Logger): GrantKeeper {
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
      this.#emitSafely('open', e);
    });
    keeper.on('close', (e: GrantCloseEvent) => {
      // A revoked grant was logged at warn by the keeper, with why.
      if (e.reason === 'expired') log.debug({ event: 'close', reason: e.reason, grant: e.grant, subject: e.subject, serial: e.serial }, 'grant expired');
      this.#emitSafely('close', e);
    });
    keeper.on('lost', (e: GrantEvent & { error: string }) => this.#emitSafely('lost', e));
    return keeper;
  }

  /** A CRL was taken: grants of certificates it revokes close at once. */
  readonly #onCrlUpdated = (): void => {
    try {
      this.#keeper?.closeRevoked();
    } catch (err) {
      this.#logger.error({ error: errorMessage(err) }, 'error closing the grants of revoked certificates');
    }
  };

  #recvBufferSize(): number | undefined {
    try {
      return this.#socket?.getRecvBufferSize();
    } catch {
      return undefined;
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
      const material = await loadServerMaterial(config, log);
      const crlSourceChanged =
        JSON.stringify(config.crlFile) !== JSON.stringify(old.crlFile) ||
        JSON.stringify(config.crlUrl) !== JSON.stringify(old.crlUrl) ||
        config.crlUpdateIntervalMinutes !== old.crlUpdateIntervalMinutes ||
        config.requireCrl !== old.requireCrl ||
        material.issuersKey !== this.#issuersKey;
      let crl = this.#crl as CrlManager;
      if (crlSourceChanged) {
        // Other CA certificates or another CRL source: a fresh manager, started before the old one stops.
        const fresh = makeCrlManager(config, material, log, this.#now);
        await fresh.start();
        if (this.#state !== 'running') {
          fresh.stop();
          return;
        }
        crl.stop();
        crl.off('updated', this.#onCrlUpdated);
        crl = fresh;
        this.#crl = fresh;
        this.#issuersKey = material.issuersKey;
        fresh.on('updated', this.#onCrlUpdated);
        this.#onCrlUpdated();
      } else {
        // The same source: re-read it; a CRL file that no longer verifies keeps the last good CRL.
        await crl.reload();
      }
      const trust = makeTrustStore(config, material, crl);
      if (this.#state !== 'running') return;
      (this.#pipeline as KnockPipeline).reconfigure({ settings: pipelineSettingsOf(config), privateKey: material.credentials.privateKey, trust });
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
    this.#logger.info({ event: 'stopped', received: this.#intake.received, accepted: this.#intake.accepted }, 'sknock-server stopped');
    this.emit('stopped');
    if (teardownError !== undefined) {
      throw new SknockServerError('ERR_SKNOCK_FIREWALL', `firewall teardown failed: ${errorMessage(teardownError)}`, { cause: teardownError });
    }
  }

  /** Undoes whatever start() got to; throws the teardown's error after doing the rest. */
  async #undo(firewall = this.#firewall, afterFailedStart = false): Promise<void> {
    this.#intake.close();
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket !== undefined) await closeSocket(socket);
    const watchdog = this.#watchdog;
    this.#watchdog = undefined;
    if (watchdog !== undefined) {
      await watchdog.stop();
      this.#watchdogStats = watchdog.stats;
    }
    if (this.#keeper !== undefined) {
      await this.#keeper.idle(STOP_DRAIN_TIMEOUT_MS);
      this.#keeper.stop();
      this.#keeper.removeAllListeners();
    }
    this.#crl?.off('updated', this.#onCrlUpdated);
    this.#crl?.stop();
    this.#keeper = undefined;
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

  stats(): ServerStats {
    const pipeline = this.#pipeline;
    return {
      state: this.#state,
      received: this.#intake.received,
      accepted: this.#intake.accepted,
      rejected: { ...this.#intake.rejected },
      queue: this.#intake.queueStats(),
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
