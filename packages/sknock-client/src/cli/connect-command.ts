import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { SknockClientError } from '../errors.js';
import { validateKnockOptions, type NormalizedTarget } from '../options.js';
import { OPTION_FLAGS, knockOptionsFromArgs, parseKnockArgs, parsePortArg } from './args.js';
import { describeError } from './errors.js';
import { notOpenedHints, traceKnocks } from './not-opened-hints.js';
import { abortOnSigint } from './signals.js';
import { CONNECT_USAGE, EXIT_FAILED, EXIT_OK, UsageError } from './usage.js';

/**
 * `sknock connect <host> <port> [...]`: `connect()` with the flags and the profile section
 * (it tries the port first, knocks when it does not answer), then relay stdin → socket and
 * socket → stdout over the connection that answered (no second connection, so a server
 * such as sshd sees exactly one). End of stdin half-closes the socket; the end of the
 * socket ends the process with status 0.
 */
export async function connectCommand(args: readonly string[]): Promise<number> {
  const sigint = abortOnSigint();
  const trace = traceKnocks();
  let names: Readonly<Record<string, string>> = OPTION_FLAGS;
  let target: NormalizedTarget | undefined;
  let serverCertificate: unknown;
  let socket: Socket;
  try {
    const parsed = parseKnockArgs(args);
    const v = parsed.values;
    if (v.help === true) {
      process.stdout.write(`${CONNECT_USAGE}\n`);
      return EXIT_OK;
    }
    for (const flag of ['udp', 'json', 'dry-run', 'output'] as const) {
      if (v[flag] !== undefined) throw new UsageError(`connect: --${flag} does not apply (stdout carries the connection)`);
    }
    if (parsed.positionals.length !== 2) throw new UsageError('connect: give <host> <port>');
    const host = parsed.positionals[0] as string;
    const port = parsePortArg(parsed.positionals[1], 'connect <port>');
    if (v.port !== undefined && parsePortArg(v.port, '-p/--port') !== port) throw new UsageError('connect: -p differs from <port>');

    const started = performance.now();
    const knockArgs = await knockOptionsFromArgs(host, port, v);
    names = knockArgs.names;
    serverCertificate = knockArgs.options.serverCertificate;
    for (const warning of knockArgs.warnings) process.stderr.write(`sknock: warning: ${warning}\n`);
    const validated = validateKnockOptions({ ...knockArgs.options, signal: sigint.signal });
    const knockerOptions = validated.knocker;
    target = validated.target;
    // Loaded after the arguments parse: usage errors and --help stay fast.
    const { loadKnocker } = await import('../knocker.js');
    const knocker = await loadKnocker(knockerOptions);
    const outcome = await knocker.run(target, started, { keepSocket: true });
    socket = outcome.socket ?? (await connectAfterKnock(outcome.address, port, started + target.timeout - performance.now(), target.localAddress));
  } catch (err) {
    const d = describeError(err, names);
    process.stderr.write(`sknock: ${d.message}\n`);
    if (d.code === 'ERR_SKNOCK_PORT_NOT_OPENED' && target !== undefined) {
      const hints = notOpenedHints({ target, last: trace.last, serverCertificate, names });
      process.stderr.write(`The server never answers a knock; the likely causes:\n${hints.map((h) => `  - ${h}\n`).join('')}`);
    }
    if (d.code === 'ERR_SKNOCK_USAGE') process.stderr.write(`Try 'sknock connect --help'.\n`);
    return d.exitCode;
  } finally {
    trace.stop();
    sigint.dispose();
  }
  return relay(socket);
}

/** With --no-verify: one plain connection, which has the rest of the timeout to succeed. */
function connectAfterKnock(address: string, port: number, timeoutMs: number, localAddress: string | undefined): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const socket = connect({ host: address, port, allowHalfOpen: true, noDelay: true, ...(localAddress === undefined ? {} : { localAddress }) });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new SknockClientError('ERR_SKNOCK_PORT_NOT_OPENED', `tcp/${port} on ${address} did not answer after the knock`, { attempts: 1 }));
    }, Math.max(1, timeoutMs));
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new SknockClientError('ERR_SKNOCK_PORT_NOT_OPENED', `cannot connect to tcp/${port} on ${address}: ${err.code ?? err.message}`, { attempts: 1, cause: err }));
    });
  });
}

function relay(socket: Socket): Promise<number> {
  return new Promise<number>((resolve) => {
    let finished = false;
    const finish = (code: number, flush = true): void => {
      if (finished) return;
      finished = true;
      process.stdin.unpipe(socket);
      process.stdin.pause();
      // Resolve once stdout has taken everything written so far.
      if (flush) process.stdout.write('', () => resolve(code));
      else resolve(code);
    };
    socket.on('error', (err: NodeJS.ErrnoException) => {
      process.stderr.write(`sknock: connection error: ${err.code ?? err.message}\n`);
      socket.destroy();
      finish(EXIT_FAILED);
    });
    socket.on('end', () => finish(EXIT_OK));
    socket.pipe(process.stdout, { end: false });
    process.stdin.pipe(socket); // stdin EOF → socket.end(): a half-close, the reply still comes
    process.stdout.on('error', () => {
      // The reader went away (EPIPE): close the connection, flush nothing (after an EPIPE
      // stdout never calls a write back); main exits 141 (@sknock/protocol/cli).
      socket.unpipe(process.stdout);
      socket.destroy();
      finish(EXIT_OK, false);
    });
  });
}
