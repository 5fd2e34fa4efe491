import 'reflect-metadata';
import { chmod, writeFile } from 'node:fs/promises';
import { webcrypto } from 'node:crypto';
import { Pkcs10CertificateRequestGenerator, cryptoProvider } from '@peculiar/x509';
import { encodePem } from '@sknock/protocol';
import { describeError } from './errors.js';
import { parseFlags } from './parse-flags.js';
import { CSR_USAGE, EXIT_FAILED, EXIT_OK, UsageError } from './usage.js';

/**
 * `sknock csr --name NAME`: a new P-256 key (PKCS#8 PEM, mode 0600) and a PKCS#10
 * request signed with it (subject CN=NAME), made with node's WebCrypto and @peculiar/x509.
 * The CA decides the grants; the request carries only the name and the key.
 */

const OPTIONS = {
  name: { type: 'string' },
  'out-key': { type: 'string' },
  'out-csr': { type: 'string' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

export async function csrCommand(args: readonly string[]): Promise<number> {
  let json = args.includes('--json');
  try {
    const v = parseFlags(args, OPTIONS, false).values as { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };
    json = v.json === true;
    if (v.help === true) {
      process.stdout.write(`${CSR_USAGE}\n`);
      return EXIT_OK;
    }
    const name = v.name?.trim();
    if (name === undefined || name === '') throw new UsageError('csr: --name is required');
    if (name.length > 64) throw new UsageError('csr: --name is longer than 64 characters (the X.520 limit of a common name)');
    const base = name.replace(/[^A-Za-z0-9._-]+/g, '_');
    const keyPath = v['out-key'] ?? `${base}.key`;
    const csrPath = v['out-csr'] ?? `${base}.csr`;
    if (keyPath === '-') throw new UsageError('csr: the key is never written to stdout; give --out-key FILE');
    if (keyPath === csrPath) throw new UsageError('csr: --out-key and --out-csr are the same file');

    cryptoProvider.set(webcrypto as unknown as Parameters<typeof cryptoProvider.set>[0]);
    const keys = (await webcrypto.subtle.generateKey(P256, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const csr = await Pkcs10CertificateRequestGenerator.create({
      name: [{ CN: [name] }],
      keys: keys as unknown as Parameters<typeof Pkcs10CertificateRequestGenerator.create>[0]['keys'],
      signingAlgorithm: ECDSA_SHA256,
    });
    const pkcs8 = new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
    const keyPem = encodePem('PRIVATE KEY', pkcs8);
    const csrPem = encodePem('CERTIFICATE REQUEST', new Uint8Array(csr.rawData));

    const flag = v.force === true ? 'w' : 'wx';
    await writeOut(keyPath, keyPem, flag, 0o600);
    await chmod(keyPath, 0o600); // an overwritten file keeps its old mode otherwise
    if (csrPath === '-') process.stdout.write(csrPem);
    else await writeOut(csrPath, csrPem, flag, 0o644);

    const summary = { ok: true, name, key: keyPath, csr: csrPath };
    const line = json ? JSON.stringify(summary) : `sknock: wrote the key ${keyPath} (mode 0600) and the request ${csrPath === '-' ? '(stdout)' : csrPath}; have your sKnock CA sign it (sknock-ca sign-csr)`;
    (csrPath === '-' ? process.stderr : process.stdout).write(`${line}\n`);
    return EXIT_OK;
  } catch (err) {
    const d = describeError(err);
    if (json) process.stdout.write(`${JSON.stringify({ ok: false, error: { code: d.code, message: d.message } })}\n`);
    else process.stderr.write(`sknock: ${d.message}\n`);
    return d.exitCode;
  }
}

async function writeOut(path: string, text: string, flag: 'w' | 'wx', mode: number): Promise<void> {
  try {
    await writeFile(path, text, { flag, mode });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EEXIST' ? 'the file exists (use --force to overwrite)' : (code ?? String(err));
    throw Object.assign(new Error(`csr: cannot write ${path}: ${why}`), { code: 'ERR_SKNOCK_FILE_UNWRITABLE', exitCode: EXIT_FAILED });
  }
}
