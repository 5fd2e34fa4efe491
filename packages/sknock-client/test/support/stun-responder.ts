import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIP } from 'node:net';

/**
 * A STUN server for the client's tests, on loopback only, written here from RFC 8489 without
 * the package's codec (so a mistake in one is not mirrored in the other): it reads Binding
 * requests and answers with XOR-MAPPED-ADDRESS, by default the address and port the request
 * came from, as a real STUN server does. A test decides per request what it does.
 */

const COOKIE = 0x2112a442;

export interface StunRequest {
  readonly from: RemoteInfo;
  readonly transactionId: Buffer;
  /** ms since the responder started. */
  readonly at: number;
}

/** What to do with request number `n` (1-based): answer, drop, or send these bytes instead. */
export type StunBehaviour = (request: StunRequest, n: number) => 'answer' | 'drop' | Buffer | readonly Buffer[];

export interface StunResponderOptions {
  readonly host: '127.0.0.1' | '::1';
  readonly behaviour?: StunBehaviour;
  /** Report this address (and port) instead of the request's source: a NAT's public side. */
  readonly mapped?: { readonly address: string; readonly port: number };
}

export class StunResponder {
  readonly requests: StunRequest[] = [];
  /** Datagrams that were not Binding requests. */
  readonly junk: Buffer[] = [];
  /** `performance.now()` when the responder started (`StunRequest.at` counts from it). */
  readonly startedAt = performance.now();

  private constructor(
    private readonly socket: Socket,
    private readonly options: StunResponderOptions,
  ) {
    socket.on('message', (data, from) => this.onMessage(data, from));
  }

  static async start(options: StunResponderOptions): Promise<StunResponder> {
    const socket = createSocket(options.host === '::1' ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, options.host, () => resolve());
    });
    return new StunResponder(socket, options);
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** `host:port` (IPv6 in brackets), as `stunServer` takes it. */
  get server(): string {
    return this.options.host === '::1' ? `[::1]:${this.port}` : `127.0.0.1:${this.port}`;
  }

  private onMessage(data: Buffer, from: RemoteInfo): void {
    if (data.length !== 20 || data.readUInt16BE(0) !== 0x0001 || data.readUInt16BE(2) !== 0 || data.readUInt32BE(4) !== COOKIE) {
      this.junk.push(data);
      return;
    }
    const request: StunRequest = { from, transactionId: Buffer.from(data.subarray(8, 20)), at: performance.now() - this.startedAt };
    this.requests.push(request);
    const what = (this.options.behaviour ?? (() => 'answer'))(request, this.requests.length);
    if (what === 'drop') return;
    const replies = what === 'answer' ? [successResponse(request.transactionId, this.options.mapped ?? { address: from.address, port: from.port })] : Buffer.isBuffer(what) ? [what] : what;
    for (const reply of replies) this.socket.send(reply, from.port, from.address);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}

function header(type: number, length: number, transactionId: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(type, 0);
  h.writeUInt16BE(length, 2);
  h.writeUInt32BE(COOKIE, 4);
  transactionId.copy(h, 8);
  return h;
}

/** A Binding success response with XOR-MAPPED-ADDRESS for `mapped`. */
export function successResponse(transactionId: Buffer, mapped: { readonly address: string; readonly port: number }): Buffer {
  const v6 = isIP(mapped.address) === 6;
  const raw = v6 ? ipv6Bytes(mapped.address) : Buffer.from(mapped.address.split('.').map(Number));
  const mask = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), transactionId]);
  const value = Buffer.alloc(4 + raw.length);
  value[1] = v6 ? 0x02 : 0x01;
  value.writeUInt16BE(mapped.port ^ 0x2112, 2);
  for (let i = 0; i < raw.length; i++) value[4 + i] = (raw[i] as number) ^ (mask[i] as number);
  const attr = Buffer.alloc(4);
  attr.writeUInt16BE(0x0020, 0);
  attr.writeUInt16BE(value.length, 2);
  return Buffer.concat([header(0x0101, 4 + value.length, transactionId), attr, value]);
}

/** A Binding error response (ERROR-CODE `code`, reason padded to 4 bytes). */
export function errorResponse(transactionId: Buffer, code: number, reason: string): Buffer {
  const phrase = Buffer.from(reason, 'utf8');
  const value = Buffer.concat([Buffer.from([0, 0, Math.floor(code / 100), code % 100]), phrase]);
  const padding = Buffer.alloc((4 - (value.length % 4)) % 4);
  const attr = Buffer.alloc(4);
  attr.writeUInt16BE(0x0009, 0);
  attr.writeUInt16BE(value.length, 2);
  return Buffer.concat([header(0x0111, 4 + value.length + padding.length, transactionId), attr, value, padding]);
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}
