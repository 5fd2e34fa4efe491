/**
 * The demo's client side: a TCP probe, and `knock()` from @sknock/client.
 *
 * - `probeTcp()` and `knockAndMeasure()` are used in-process by the demo's memory mode.
 * - Run as a program inside the client namespace, it is a small agent: it reads one JSON
 *   request per line on stdin (`{ id, op: 'probe' | 'knock', … }`), answers one JSON line
 *   on stdout, and exits when stdin closes.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { CHANNEL_KNOCK_SENT, knock } from '@sknock/client';

/**
 * One TCP connection attempt, and the service's first line if it gets one.
 * @returns {Promise<{ outcome: 'open' | 'reset' | 'refused' | 'timeout' | 'error', ms: number, greeting?: string, error?: string }>}
 */
export function probeTcp(host, port, { timeoutMs = 800 } = {}) {
  const started = performance.now();
  return new Promise((resolve) => {
    let connected = false;
    let data = '';
    let settled = false;
    const done = (outcome, extra = {}) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ outcome, ms: Math.round(performance.now() - started), ...extra });
    };
    const socket = connect({ host, port });
    const timer = setTimeout(() => done(connected ? 'open' : 'timeout', connected ? { greeting: data.trim() } : {}), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      connected = true;
    });
    socket.on('data', (chunk) => {
      data += chunk;
      if (data.includes('\n')) done('open', { greeting: data.trim() });
    });
    socket.on('end', () => done(data ? 'open' : 'reset', data ? { greeting: data.trim() } : {}));
    socket.on('error', (err) => {
      if (err.code === 'ECONNRESET') done('reset');
      else if (err.code === 'ECONNREFUSED') done('refused');
      else done('error', { error: err.code ?? err.message });
    });
  });
}

/**
 * `knock(options)`, timed, with what the SDK published on its diagnostics channel about the
 * datagram it sent (the SDK itself never logs).
 */
export async function knockAndMeasure(options) {
  const sent = [];
  const onSent = (message) => sent.push(message);
  subscribe(CHANNEL_KNOCK_SENT, onSent);
  const started = performance.now();
  try {
    const result = await knock(options);
    return { ok: true, ms: Math.round(performance.now() - started), result, datagrams: sent.map((m) => ({ bytes: m.bytes, knockPort: m.knockPort })) };
  } catch (err) {
    return { ok: false, ms: Math.round(performance.now() - started), code: err.code, message: err.message };
  } finally {
    unsubscribe(CHANNEL_KNOCK_SENT, onSent);
  }
}

// ------------------------------------------------------------------------------------------
// As a program, inside the client namespace.

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const reply = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
  const lines = createInterface({ input: process.stdin });
  lines.on('line', async (line) => {
    let request;
    try {
      request = JSON.parse(line);
    } catch {
      return;
    }
    try {
      if (request.op === 'probe') reply({ id: request.id, ...(await probeTcp(request.host, request.port, request)) });
      else if (request.op === 'knock') reply({ id: request.id, ...(await knockAndMeasure(request.options)) });
      else reply({ id: request.id, error: `unknown op ${request.op}` });
    } catch (err) {
      reply({ id: request.id, error: err.message });
    }
  });
  lines.on('close', () => process.exit(0));
  reply({ ready: true });
}
