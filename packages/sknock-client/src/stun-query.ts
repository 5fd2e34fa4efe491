import { randomBytes } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { SknockProtocolError, type IpFamily } from '@sknock/protocol';
import { decodeBindingResponse, encodeBindingRequest } from '@sknock/protocol/stun';
import { STUN_INITIAL_RTO_MS, STUN_LAST_WAIT_RTOS, STUN_MAX_REQUESTS, STUN_MAX_RESPONSE_BYTES } from './constants.js';
import { SknockClientError } from './errors.js';
import { bindUdp } from './local-address.js';

/**
 * One STUN Binding transaction over UDP (RFC 8489 §6.2.1): the public address a server saw
 * the request come from. An answer counts only from the server's address and port and with
 * this transaction's id. The socket is connected to the server, so the OS also drops
 * datagrams from anyone else and reports an ICMP port unreachable as ECONNREFUSED (not on
 * Deno, whose node:dgram does not connect it: there a server that is not there is silent). Retransmits as the RFC says (constants.ts), bounded by the
 * caller's deadline. A malformed answer or one for another transaction is dropped and the
 * wait goes on (§6.3); an error response ends it.
 */

export interface StunQueryOptions {
  /** The server's address (already resolved) and port. */
  readonly address: string;
  readonly port: number;
  readonly family: IpFamily;
  /** `host:port` as the user gave it, for messages. */
  readonly serverText: string;
  readonly localAddress?: string | undefined;
  /** `performance.now()` time by which it must be done. */
  readonly deadline: number;
  readonly signal?: AbortSignal | undefined;
  /** Test hook: the first RTO (default 500 ms). */
  readonly initialRtoMs?: number;
}

export interface StunAnswer {
  readonly address: string;
  readonly port: number;
  /** Requests sent (1 + retransmits). */
  readonly requests: number;
}

function failed(message: string, cause?: unknown): SknockClientError {
  return new SknockClientError('ERR_SKNOCK_STUN_FAILED', `stunServer: ${message}`, { option: 'stunServer', cause });
}

/** Addresses no NAT maps to: a STUN answer naming one is wrong. */
function unusable(address: string, family: IpFamily): string | undefined {
  if (family === 4) {
    const first = Number(address.split('.')[0]);
    if (address === '0.0.0.0') return 'the unspecified address';
    if (address === '255.255.255.255') return 'the broadcast address';
    if (first >= 224) return 'a multicast or reserved address';
    return undefined;
  }
  if (address === '::') return 'the unspecified address';
  if (address.startsWith('ff')) return 'a multicast address';
  return undefined;
}

export async function queryStun(options: StunQueryOptions): Promise<StunAnswer> {
  const { address, port, family, serverText, deadline, signal } = options;
  const rto = options.initialRtoMs ?? STUN_INITIAL_RTO_MS;
  const socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
  try {
    if (options.localAddress !== undefined) await bindUdp(socket, options.localAddress);
    await connectUdp(socket, address, port, serverText);
    return await transact(socket, { address, port, family, serverText, deadline, signal, rto });
  } finally {
    await closeQuietly(socket);
  }
}

function connectUdp(socket: UdpSocket, address: string, port: number, serverText: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => reject(failed(`cannot reach ${serverText} (${address} port ${port}): ${err.code ?? err.message}`, err));
    socket.once('error', onError);
    socket.connect(port, address, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

interface Transaction {
  readonly address: string;
  readonly port: number;
  readonly family: IpFamily;
  readonly serverText: string;
  readonly deadline: number;
  readonly signal: AbortSignal | undefined;
  readonly rto: number;
}

function transact(socket: UdpSocket, t: Transaction): Promise<StunAnswer> {
  const transactionId = randomBytes(12);
  const request = encodeBindingRequest(transactionId);
  const started = performance.now();
  const where = t.serverText === `${t.address}:${t.port}` ? t.serverText : `${t.serverText} (${t.address} port ${t.port})`;
  return new Promise<StunAnswer>((resolve, reject) => {
    let requests = 0;
    let malformed = 0;
    let lastMalformed = '';
    let foreign = 0;
    let elsewhere = 0;
    let timer: NodeJS.Timeout | undefined;
    let settled = false;

    const finish = (error: SknockClientError | undefined, answer?: StunAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      t.signal?.removeEventListener('abort', onAbort);
      socket.off('message', onMessage);
      socket.off('error', onError);
      if (error !== undefined) reject(error);
      else resolve(answer as StunAnswer);
    };
    const noAnswer = (): void => {
      const ms = Math.round(performance.now() - started);
      const extra = [
        malformed > 0 ? `${malformed} malformed answer${malformed === 1 ? '' : 's'} (last: ${lastMalformed})` : '',
        foreign > 0 ? `${foreign} answer${foreign === 1 ? '' : 's'} to another transaction` : '',
        elsewhere > 0 ? `${elsewhere} datagram${elsewhere === 1 ? '' : 's'} from another address or port` : '',
      ].filter((s) => s !== '');
      finish(failed(`no answer from ${where} after ${requests} request${requests === 1 ? '' : 's'} in ${ms} ms${extra.length > 0 ? `; ${extra.join(', ')}` : ''}`));
    };
    const onAbort = (): void =>
      finish(new SknockClientError('ERR_SKNOCK_ABORTED', 'knock aborted while asking the STUN server for the public address', { cause: t.signal?.reason, attempts: 0 }));
    const onError = (err: NodeJS.ErrnoException): void => {
      const why = err.code === 'ECONNREFUSED' ? 'port unreachable: no STUN server listens there' : (err.code ?? err.message);
      finish(failed(`${where}: ${why}`, err));
    };
    const onMessage = (data: Buffer, from: RemoteInfo): void => {
      // The connected socket already drops them where the runtime connects it (Deno's node:dgram does not).
      if (stripZone(from.address) !== stripZone(t.address) || from.port !== t.port) {
        elsewhere++;
        return;
      }
      if (data.length > STUN_MAX_RESPONSE_BYTES) {
        malformed++;
        lastMalformed = `${data.length} bytes, more than a STUN response`;
        return;
      }
      let response;
      try {
        response = decodeBindingResponse(new Uint8Array(data.buffer, data.byteOffset, data.length));
      } catch (err) {
        // The decoder throws only SknockProtocolError (fuzzed); anything else is dropped too.
        malformed++;
        lastMalformed = err instanceof SknockProtocolError ? err.message : String(err);
        return;
      }
      if (!Buffer.from(response.transactionId).equals(transactionId)) {
        foreign++;
        return;
      }
      if (response.kind === 'error') {
        finish(failed(`${where} answered with error ${response.code}${response.reason === '' ? '' : ` (${response.reason})`}`));
        return;
      }
      const { mapped } = response;
      if (mapped.family !== t.family) {
        finish(failed(`${where} answered an IPv${t.family} request with the IPv${mapped.family} address ${mapped.address}`));
        return;
      }
      const bad = unusable(mapped.address, mapped.family);
      if (bad !== undefined) {
        finish(failed(`${where} answered with ${mapped.address}, ${bad}`));
        return;
      }
      finish(undefined, { address: mapped.address, port: mapped.port, requests });
    };

    // Request n (0-based) goes at rto × (2^n − 1); after the last one, wait Rm × rto.
    const send = (): void => {
      if (settled) return;
      requests++;
      socket.send(request, (err) => {
        if (err) onError(err as NodeJS.ErrnoException);
      });
      const wait = requests < STUN_MAX_REQUESTS ? t.rto * 2 ** (requests - 1) : t.rto * STUN_LAST_WAIT_RTOS;
      const left = t.deadline - performance.now();
      timer = setTimeout(requests < STUN_MAX_REQUESTS && wait < left ? send : noAnswer, Math.max(0, Math.min(wait, left)));
    };

    if (t.signal?.aborted) {
      onAbort();
      return;
    }
    t.signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('message', onMessage);
    socket.on('error', onError);
    send();
  });
}

async function closeQuietly(socket: UdpSocket): Promise<void> {
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // never bound, or already closed
    }
  });
}

function stripZone(address: string): string {
  return address.includes('%') ? address.slice(0, address.indexOf('%')) : address;
}
