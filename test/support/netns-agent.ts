/**
 * The helper process the netns harness starts inside each namespace
 * (`ip netns exec NAME node netns-agent.js`). Node cannot enter a namespace itself, so every
 * socket a test needs "inside" a namespace is made here, on request.
 *
 * Protocol: newline-delimited JSON on stdin/stdout.
 *   request  {"id": 1, "op": "...", ...}
 *   response {"id": 1, "ok": true, "result": ...} | {"id": 1, "ok": false, "error": "..."}
 *   event    {"event": "tcp-connection" | "udp-message", "listener": <id of the listen request>, ...}
 * The agent exits when its stdin closes, so it never outlives the test process.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { createInterface } from 'node:readline';

interface Request {
  readonly id: number;
  readonly op: string;
  readonly host?: string;
  readonly port?: number;
  readonly timeoutMs?: number;
  readonly localAddress?: string;
  readonly payload?: string; // base64
  readonly listener?: number;
  /** For the harness's own test: block the agent this long right after sending a probe (ms). */
  readonly stallMs?: number;
}

const closers = new Map<number, () => void>();

function send(message: unknown): void {
  process.stdout.write(JSON.stringify(message) + '\n');
}

function familyOf(host: string): 'udp4' | 'udp6' {
  return net.isIPv6(host) ? 'udp6' : 'udp4';
}

function tcpListen(req: Request): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => {
      send({ event: 'tcp-connection', listener: req.id, address: normalize(socket.remoteAddress), port: socket.remotePort });
      socket.on('error', () => undefined);
      socket.end('sknock-test\n');
    });
    server.on('error', reject);
    server.listen({ host: req.host ?? '::', port: req.port ?? 0, ipv6Only: false }, () => {
      closers.set(req.id, () => server.close());
      resolve({ port: (server.address() as net.AddressInfo).port });
    });
  });
}

function udpListen(req: Request): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const host = req.host ?? '::';
    const socket = dgram.createSocket({ type: familyOf(host), ipv6Only: false });
    socket.on('message', (msg, rinfo) => {
      send({ event: 'udp-message', listener: req.id, address: normalize(rinfo.address), port: rinfo.port, payload: msg.toString('base64') });
    });
    socket.once('error', reject);
    socket.bind({ address: host, port: req.port ?? 0 }, () => {
      socket.removeListener('error', reject);
      socket.on('error', () => undefined);
      closers.set(req.id, () => socket.close());
      resolve({ port: socket.address().port });
    });
  });
}

/** `::ffff:a.b.c.d` (a dual-stack socket's view of an IPv4 peer) → `a.b.c.d`. */
function normalize(address: string | undefined): string | undefined {
  return address?.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
}

/** How late a probe's timer may fire before the agent counts itself as having been stalled (ms). */
const STALL_MS = 100;

/**
 * The probe's deadline. A 'timeout' verdict must mean that nothing came back while this
 * process was able to see it, not that it was not running: on a loaded machine an agent can
 * be descheduled (or wait for evicted code pages) for hundreds of ms, and a timer that is due
 * then fires in the event loop's timers phase before the poll phase reads the RST or ICMP
 * error that arrived meanwhile. So when the timer fires, the answer still gets one poll phase
 * (setImmediate runs after it); and when the timer fired more than STALL_MS late, the probe
 * gets one more full window, since the probe itself may have gone out late.
 */
function deadline(ms: number, onTimeout: () => void, stallMs = 0): { cancel(): void } {
  const armed = performance.now();
  let extended = false;
  let cancelled = false;
  let timer: NodeJS.Timeout;
  const fire = (): void => {
    setImmediate(() => {
      if (cancelled) return;
      const late = performance.now() - armed - ms;
      if (late > STALL_MS && !extended) {
        extended = true;
        timer = setTimeout(fire, ms);
        return;
      }
      onTimeout();
    });
  };
  timer = setTimeout(fire, ms);
  // The harness's own test: block this process after sending, as a loaded machine does.
  if (stallMs > 0) setImmediate(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, stallMs));
  return {
    cancel: () => {
      cancelled = true;
      clearTimeout(timer);
    },
  };
}

function classify(code: string | undefined): string {
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ETIMEDOUT') return 'timeout';
  return 'unreachable';
}

function tcpProbe(req: Request): Promise<unknown> {
  return new Promise((resolve) => {
    const start = performance.now();
    const socket = net.connect({ host: req.host as string, port: req.port as number, ...(req.localAddress ? { localAddress: req.localAddress } : {}) });
    let done = false;
    const finish = (result: string, code?: string): void => {
      if (done) return;
      done = true;
      timer.cancel();
      socket.destroy();
      resolve({ result, code, ms: performance.now() - start });
    };
    const timer = deadline(req.timeoutMs ?? 500, () => finish('timeout'), req.stallMs);
    socket.on('connect', () => finish('open'));
    socket.on('error', (err: NodeJS.ErrnoException) => finish(classify(err.code), err.code));
  });
}

function udpProbe(req: Request): Promise<unknown> {
  return new Promise((resolve) => {
    const start = performance.now();
    const host = req.host as string;
    const socket = dgram.createSocket(familyOf(host));
    let done = false;
    const finish = (result: string, code?: string): void => {
      if (done) return;
      done = true;
      timer.cancel();
      try {
        socket.close();
      } catch {
        // already closed
      }
      resolve({ result, code, ms: performance.now() - start });
    };
    const timer = deadline(req.timeoutMs ?? 500, () => finish('timeout'), req.stallMs);
    socket.on('error', (err: NodeJS.ErrnoException) => finish(classify(err.code), err.code));
    socket.on('message', () => finish('reply'));
    const go = (): void => {
      // A connected socket receives the ICMP error of the host as ECONNREFUSED.
      socket.connect(req.port as number, host, () => {
        socket.send(Buffer.from(req.payload ?? '', 'base64'), (err) => {
          if (err) finish(classify((err as NodeJS.ErrnoException).code), (err as NodeJS.ErrnoException).code);
        });
      });
    };
    if (req.localAddress) socket.bind({ address: req.localAddress, port: 0 }, go);
    else go();
  });
}

function udpSend(req: Request): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const host = req.host as string;
    const socket = dgram.createSocket(familyOf(host));
    socket.on('error', (err) => {
      socket.close();
      reject(err);
    });
    const go = (): void => {
      socket.send(Buffer.from(req.payload ?? '', 'base64'), req.port as number, host, (err) => {
        socket.close();
        if (err) reject(err);
        else resolve({});
      });
    };
    if (req.localAddress) socket.bind({ address: req.localAddress, port: 0 }, go);
    else go();
  });
}

async function handle(req: Request): Promise<unknown> {
  switch (req.op) {
    case 'ping':
      return { pid: process.pid };
    case 'tcp-listen':
      return tcpListen(req);
    case 'udp-listen':
      return udpListen(req);
    case 'close': {
      const close = closers.get(req.listener as number);
      closers.delete(req.listener as number);
      close?.();
      return {};
    }
    case 'tcp-probe':
      return tcpProbe(req);
    case 'udp-probe':
      return udpProbe(req);
    case 'udp-send':
      return udpSend(req);
    default:
      throw new Error(`unknown op ${req.op}`);
  }
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() === '') return;
  let req: Request;
  try {
    req = JSON.parse(line) as Request;
  } catch {
    return;
  }
  handle(req).then(
    (result) => send({ id: req.id, ok: true, result }),
    (err: unknown) => send({ id: req.id, ok: false, error: err instanceof Error ? `${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`.trim() : String(err) }),
  );
});
lines.on('close', () => process.exit(0));
send({ event: 'ready', pid: process.pid });
