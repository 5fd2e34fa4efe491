import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  DEFAULT_TIMESTAMP_THRESHOLD_SECONDS,
  grantsAllow,
  openKnockPacket,
  parsePortGrants,
  verifyKnockSignature,
  type OpenedKnock,
} from '@sknock/protocol';
import type { KeyObject } from 'node:crypto';

/**
 * A stand-in for an sKnock server, for the client's tests, on loopback only: a UDP socket
 * that opens every datagram with the server key and checks it as a server would (signature,
 * time, grant, source address), and a TCP listener on the knocked port that starts only
 * after a valid knock (or never, or after a delay). It can drop the first datagrams, as a
 * lossy path would.
 */

export interface ReceivedKnock {
  readonly data: Buffer;
  readonly from: RemoteInfo;
  readonly at: number;
  /** Set when the datagram opened; `error` otherwise. */
  readonly opened?: OpenedKnock;
  readonly error?: unknown;
  /** Every server check passed. */
  readonly valid: boolean;
  /** Dropped on purpose (lossy relay). */
  readonly dropped: boolean;
}

export interface FakeServerOptions {
  readonly host: '127.0.0.1' | '::1';
  readonly serverKey: KeyObject;
  /** TCP port that a valid knock opens. */
  readonly port: number;
  /** Datagrams dropped before any is looked at. */
  readonly dropFirst?: number;
  /** `false`: the TCP listener never starts. */
  readonly openOnKnock?: boolean;
  /** Delay between a valid knock and the TCP listener starting, ms. */
  readonly openDelayMs?: number;
  /** What the TCP listener does with a connection (default: close it at once). */
  readonly onConnection?: (socket: Socket) => void;
  /**
   * The grant's length, ms: the listener stops accepting this long after it opened
   * (connections it accepted stay up, as conntrack keeps them), and the next valid knock
   * opens it again. Default: it stays open. Unlike a firewall, closing the listener also
   * resets connections the kernel completed but the listener had not accepted yet.
   */
  readonly grantMs?: number;
}

export class FakeKnockServer {
  readonly received: ReceivedKnock[] = [];
  /** `performance.now()` when the TCP listener started listening. */
  listeningAt: number | undefined;
  connections = 0;
  private readonly udp: UdpSocket;
  private tcp: Server | undefined;
  private readonly accepted = new Set<Socket>();
  private timer: NodeJS.Timeout | undefined;
  private grantTimer: NodeJS.Timeout | undefined;
  /** Listeners closed by the end of a grant, kept until close() for their accepted connections. */
  private readonly expired: Server[] = [];

  private constructor(
    private readonly options: FakeServerOptions,
    udp: UdpSocket,
  ) {
    this.udp = udp;
    udp.on('message', (data, from) => this.onDatagram(data, from));
  }

  static async start(options: FakeServerOptions): Promise<FakeKnockServer> {
    const udp = createSocket(options.host === '::1' ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, options.host, () => resolve());
    });
    return new FakeKnockServer(options, udp);
  }

  /** UDP port the knocks go to (`knockPort`). */
  get knockPort(): number {
    return this.udp.address().port;
  }

  get validKnocks(): ReceivedKnock[] {
    return this.received.filter((r) => r.valid);
  }

  /** Accepted TCP connections not yet closed. */
  get openConnections(): number {
    return this.accepted.size;
  }

  private onDatagram(data: Buffer, from: RemoteInfo): void {
    const at = performance.now();
    if (this.received.length < (this.options.dropFirst ?? 0)) {
      this.received.push({ data, from, at, valid: false, dropped: true });
      return;
    }
    let opened: OpenedKnock;
    try {
      opened = openKnockPacket(data, { privateKey: this.options.serverKey }, { family: from.family === 'IPv6' ? 6 : 4 });
    } catch (error) {
      this.received.push({ data, from, at, error, valid: false, dropped: false });
      return;
    }
    const valid =
      verifyKnockSignature(opened) &&
      Math.abs(Date.now() / 1000 - opened.timestamp) <= DEFAULT_TIMESTAMP_THRESHOLD_SECONDS &&
      grantsAllow(parsePortGrants(opened.certificate), opened.protocol, opened.port) &&
      opened.address === from.address;
    this.received.push({ data, from, at, opened, valid, dropped: false });
    if (valid && opened.protocol === 'tcp' && opened.port === this.options.port && this.options.openOnKnock !== false) this.scheduleOpen();
  }

  private scheduleOpen(): void {
    if (this.tcp !== undefined && this.options.grantMs !== undefined) {
      // A knock during a grant extends it, as the daemon does.
      clearTimeout(this.grantTimer);
      this.grantTimer = setTimeout(() => this.expire(), this.options.grantMs);
    }
    if (this.tcp !== undefined || this.timer !== undefined) return;
    this.timer = setTimeout(() => void this.listen(), this.options.openDelayMs ?? 0);
  }

  /** Starts the TCP listener now (also usable without a knock). */
  async listen(): Promise<void> {
    if (this.tcp !== undefined) return;
    const server = createServer({ allowHalfOpen: true }, (socket) => {
      this.connections++;
      this.accepted.add(socket);
      socket.on('close', () => this.accepted.delete(socket));
      socket.on('error', () => undefined);
      if (this.options.onConnection !== undefined) this.options.onConnection(socket);
      else socket.destroy();
    });
    this.tcp = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    this.listeningAt = performance.now();
    this.timer = undefined;
    if (this.options.grantMs !== undefined) this.grantTimer = setTimeout(() => this.expire(), this.options.grantMs);
  }

  /** Ends the grant now: no new connections until the next valid knock. */
  expire(): void {
    clearTimeout(this.grantTimer);
    const server = this.tcp;
    if (server === undefined) return;
    this.tcp = undefined;
    this.expired.push(server);
    server.close();
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    clearTimeout(this.grantTimer);
    for (const s of this.accepted) s.destroy();
    await new Promise<void>((resolve) => this.udp.close(() => resolve()));
    const tcp = this.tcp;
    if (tcp !== undefined) await new Promise<void>((resolve) => tcp.close(() => resolve()));
    await Promise.all(this.expired.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
  }
}

/** A TCP port on `host` that nothing listens on right now. */
export async function freePort(host: '127.0.0.1' | '::1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Lets handles that are closing finish closing, so that a count is stable. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
}

/** Counts of the active handles that matter for leaks. */
export function socketCounts(): { tcp: number; udp: number } {
  const info = process.getActiveResourcesInfo();
  return { tcp: info.filter((r) => r === 'TCPSocketWrap').length, udp: info.filter((r) => r === 'UDPWrap').length };
}
