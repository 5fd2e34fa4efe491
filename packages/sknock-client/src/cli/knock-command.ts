import { writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { validateKnockOptions, type NormalizedTarget } from '../options.js';
import { OPTION_FLAGS, knockOptionsFromArgs, parseKnockArgs, parsePortArg } from './args.js';
import { describeError } from './errors.js';
import { notOpenedHints, traceKnocks } from './not-opened-hints.js';
import { abortOnSigint } from './signals.js';
import { EXIT_OK, KNOCK_USAGE, UsageError } from './usage.js';

/** `sknock knock <host> -p <port> [...]`. Returns the exit status. */
export async function knockCommand(args: readonly string[]): Promise<number> {
  let json = args.includes('--json');
  let host: string | undefined;
  let port: number | undefined;
  const sigint = abortOnSigint();
  const trace = traceKnocks();
  let names: Readonly<Record<string, string>> = OPTION_FLAGS;
  let target: NormalizedTarget | undefined;
  let serverCertificate: unknown;
  try {
    const parsed = parseKnockArgs(args);
    const v = parsed.values;
    json = v.json === true;
    if (v.help === true) {
      process.stdout.write(`${KNOCK_USAGE}\n`);
      return EXIT_OK;
    }
    if (parsed.positionals.length === 0) throw new UsageError('knock: the host is missing');
    if (parsed.positionals.length > 1) throw new UsageError(`knock: one host only (got ${parsed.positionals.join(' ')})`);
    host = parsed.positionals[0] as string;
    port = parsePortArg(v.port, '-p/--port');
    if (v['dry-run'] === true && v.output === undefined) throw new UsageError('--dry-run needs --output FILE (or - for stdout)');
    if (v.output !== undefined && v['dry-run'] !== true) throw new UsageError('--output is for --dry-run');

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

    if (v['dry-run'] === true) {
      const output = v.output as string;
      const prepared = await knocker.prepare(target, started);
      if (output === '-') process.stdout.write(prepared.datagram);
      else await writeFile(output, prepared.datagram);
      const summary = {
        ok: true,
        dryRun: true,
        output,
        bytes: prepared.datagram.length,
        host,
        address: prepared.address,
        port,
        protocol: target.protocol,
        knockPort: prepared.knockPort,
        sourceAddress: prepared.sourceAddress,
      };
      const line = json
        ? JSON.stringify(summary)
        : `sknock: wrote a ${summary.bytes}-byte knock for ${target.protocol}/${port} from ${prepared.sourceAddress} to ${output === '-' ? 'stdout' : output} ` +
          `(send it to ${prepared.address} UDP port ${prepared.knockPort}, or any port from 10000 to 60000, within 7 s)`;
      (output === '-' ? process.stderr : process.stdout).write(`${line}\n`);
      return EXIT_OK;
    }

    const { socket: _none, ...result } = await knocker.run(target, started, {});
    const ms = Math.round(result.elapsedMs);
    const where = host === result.address ? result.address : `${host} (${result.address})`;
    process.stdout.write(
      json
        ? `${JSON.stringify({ ok: true, host, ...result, elapsedMs: Number(result.elapsedMs.toFixed(3)) })}\n`
        : result.verified
          ? `sknock: ${result.protocol}/${result.port} on ${where} is open (${result.attempts} knock${result.attempts === 1 ? '' : 's'}, ${ms} ms)\n`
          : `sknock: knock sent for ${result.protocol}/${result.port} on ${where} from ${result.sourceAddress} (not verified)\n`,
    );
    return EXIT_OK;
  } catch (err) {
    const d = describeError(err, names);
    const hints = d.code === 'ERR_SKNOCK_PORT_NOT_OPENED' && target !== undefined ? notOpenedHints({ target, last: trace.last, serverCertificate, names }) : [];
    if (json) {
      const error = { code: d.code, message: d.message, ...(d.attempts === undefined ? {} : { attempts: d.attempts }), ...(hints.length === 0 ? {} : { hints }) };
      process.stdout.write(`${JSON.stringify({ ok: false, host, port, error })}\n`);
    } else {
      process.stderr.write(`sknock: ${d.message}\n`);
      if (hints.length > 0) process.stderr.write(`The server never answers a knock; the likely causes:\n${hints.map((h) => `  - ${h}\n`).join('')}`);
      if (d.code === 'ERR_SKNOCK_USAGE') process.stderr.write(`Try 'sknock knock --help'.\n`);
    }
    return d.exitCode;
  } finally {
    trace.stop();
    sigint.dispose();
  }
}
