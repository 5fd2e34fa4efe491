import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { FRAME_OVERHEAD_IPV6, isSknockProtocolError, loadCredentials, readCertificates } from '@sknock/protocol';
import { findCrlIssuer } from '@sknock/protocol/crl';
import { isP256Key } from '@sknock/protocol/p256';
import { caIdentity, type CaIdentity } from '@sknock/protocol/x509';
import { crlDersFrom } from '../crl/crl-bundle.js';
import { SknockCrlError } from '../crl/errors.js';
import { parseCrl } from '../crl/parse-crl.js';
import { findProgram, firewallAccessProblems, firewallDryRunProblems } from '../firewall/access.js';
import { firewallPolicyWarnings } from './firewall-warnings.js';
import { readConfigFileDetailed } from './load-config.js';
import { inspectSecretFiles } from './secret-files.js';
import type { ServerConfig } from './types.js';

/**
 * `sknock-server check-config`: every problem of a config file, without starting anything.
 * Beyond `loadConfigFile` it opens the PKCS#12 file with the password, reads caFile,
 * parses every CRL of each crlFile and checks it is signed by the CA it names, and warns of
 * files holding secrets that other users may read or change (the same warnings the daemon
 * logs at start).
 */

/** The CAs a CRL may come from, once each (a certificate that cannot be read is reported elsewhere). */
function caIdentities(ders: readonly Uint8Array[]): CaIdentity[] {
  const out = new Map<string, CaIdentity>();
  for (const der of ders) {
    try {
      const ca = caIdentity(new X509Certificate(der));
      if (!out.has(ca.id)) out.set(ca.id, ca);
    } catch {
      // not a certificate: caFile's own check says so
    }
  }
  return [...out.values()];
}

export interface ConfigCheckResult {
  /** True when the daemon would start with this file. */
  readonly ok: boolean;
  /** Each a full sentence naming the key, the file and the line. */
  readonly problems: string[];
  /** Worth knowing, not fatal (no CRL yet, stale CRL, …). */
  readonly warnings: string[];
  /** The resolved configuration, when the file itself is valid. */
  readonly config?: ServerConfig;
}

export interface CheckConfigOptions {
  /** The clock, ms since the epoch. */
  readonly now?: number;
  /**
   * Also check that this process can drive the firewall back end (`check-config --firewall`):
   * its programs, CAP_NET_ADMIN, and a dry run of its setup that the kernel checks.
   */
  readonly firewall?: boolean;
  /** Look at (and dry-run in) this network namespace instead of the process's own (tests). */
  readonly netns?: string;
}

export async function checkConfig(path: string, options: CheckConfigOptions = {}): Promise<ConfigCheckResult> {
  const now = options.now ?? Date.now();
  const result = await readConfigFileDetailed(path);
  const problems = result.problems.map((p) => p.message);
  const warnings = [...result.warnings];
  const values = result.partial as Partial<Record<string, unknown>>;
  const file = result.file;
  for (const report of inspectSecretFiles({ ...values, configFile: file })) warnings.push(report.message);

  // The server's PKCS#12 with its password.
  const caCertificates: Uint8Array[] = [];
  const pfxFile = values['serverPfxFile'] as string | undefined;
  const password = values['pfxPassword'] as string | undefined;
  if (pfxFile !== undefined && password !== undefined) {
    try {
      const credentials = await loadCredentials({ pfx: new Uint8Array(await readFile(pfxFile)), passphrase: password });
      const key = credentials.privateKey;
      if (!isP256Key(key, 'private')) {
        problems.push(`serverPFXFile ${pfxFile} in ${file}: its key is not EC P-256, which knocks are encrypted to`);
      }
      caCertificates.push(...credentials.caCertificates);
      const serverCert = new X509Certificate(credentials.certificate);
      if (Date.parse(serverCert.validTo) < now) warnings.push(`the server certificate in serverPFXFile ${pfxFile} expired on ${serverCert.validTo}`);
    } catch (err) {
      const why = isSknockProtocolError(err, 'ERR_SKNOCK_BAD_PASSPHRASE')
        ? 'does not open with the password that PFXPasswd / PFXPasswdFile gives'
        : `cannot be used: ${(err as Error).message}`;
      problems.push(`serverPFXFile ${pfxFile} in ${file} ${why}`);
    }
  }

  // caFile: further trusted CA or intermediate certificates.
  const caFile = values['caFile'] as string | undefined;
  if (caFile !== undefined) {
    try {
      caCertificates.push(...readCertificates(new Uint8Array(await readFile(caFile)), `caFile ${caFile}`));
    } catch (err) {
      problems.push(`caFile ${caFile} in ${file} cannot be used: ${(err as Error).message}`);
    }
  }
  if (pfxFile !== undefined && password !== undefined && caCertificates.length === 0 && !problems.some((p) => p.startsWith(`serverPFXFile ${pfxFile}`))) {
    problems.push(`no CA certificate: serverPFXFile ${pfxFile} holds none and no caFile is set in ${file}, so no client certificate could be verified`);
  }

  // crlFile: every CRL in each file parses and is signed by the CA it names.
  const crlFiles = (values['crlFile'] as readonly string[] | undefined) ?? [];
  const cas = caIdentities(caCertificates);
  const covered = new Set<string>();
  for (const crlFile of crlFiles) {
    let bytes: Uint8Array | undefined;
    try {
      bytes = new Uint8Array(await readFile(crlFile));
    } catch {
      // missing: already a warning from the file check
    }
    if (bytes === undefined) continue;
    let ders: Uint8Array[];
    try {
      ders = crlDersFrom(bytes);
    } catch (err) {
      problems.push(`crlFile ${crlFile} in ${file} is not a usable CRL: ${(err as Error).message}`);
      continue;
    }
    ders.forEach((der, i) => {
      const which = ders.length > 1 ? `CRL ${i + 1} of ${ders.length} in crlFile ${crlFile}` : `crlFile ${crlFile}`;
      try {
        const crl = parseCrl(der);
        if (cas.length > 0) {
          try {
            covered.add(findCrlIssuer(crl, cas).id);
          } catch (err) {
            if (!(err instanceof SknockCrlError) || err.code === 'ERR_SKNOCK_CRL_UNSUPPORTED') throw err;
            problems.push(`${which} in ${file}: ${err.message}`);
          }
        }
        if (crl.nextUpdate !== undefined && crl.nextUpdate.getTime() < now) {
          warnings.push(`${which} is stale: its nextUpdate ${crl.nextUpdate.toISOString()} has passed${values['requireCrl'] === true ? ' (requireCrl: knocks through its CA are refused until a fresh one arrives)' : ''}`);
        }
      } catch (err) {
        problems.push(`${which} in ${file} is not a usable CRL: ${(err as Error).message}`);
      }
    });
  }
  if (covered.size > 0 && values['crlUrl'] === undefined) {
    for (const ca of cas) {
      if (!covered.has(ca.id)) {
        warnings.push(
          `no CRL of CA '${ca.name}' in ${crlFiles.join(', ')}: ${values['requireCrl'] === true ? 'knocks through it are refused (requireCrl)' : 'revocation of what it issued cannot be checked'}`,
        );
      }
    }
  }

  const config = result.config;
  if (config !== undefined) {
    warnings.push(...(await firewallPolicyWarnings(config, { netns: options.netns })));
    if (options.firewall === true) problems.push(...(await firewallProblems(config, options.netns)));
  }

  return { ok: problems.length === 0, problems, warnings, ...(problems.length === 0 && config ? { config } : {}) };
}

/** `--firewall`: what stops this process from driving the back end, before anything is changed. */
async function firewallProblems(config: ServerConfig, netns: string | undefined): Promise<string[]> {
  const name = config.firewallBackend;
  if (name === 'exec') {
    const commands: Array<[string, readonly string[] | undefined]> = [
      ['execOpenCommand', config.execOpenCommand],
      ['execCloseCommand', config.execCloseCommand],
      ['execSetupCommand', config.execSetupCommand],
      ['execTeardownCommand', config.execTeardownCommand],
    ];
    return commands
      .filter(([, argv]) => argv !== undefined && findProgram(argv[0] as string) === undefined)
      .map(([key, argv]) => `${key}: the program ${(argv as readonly string[])[0]} is not installed, not executable or not on PATH`);
  }
  const access = firewallAccessProblems(name);
  if (access.length > 0) return access;
  return firewallDryRunProblems(
    name,
    {
      policy: config.firewallPolicy,
      emergencyAccessPorts: config.emergencyAccessPorts,
      knockPort: config.knockPort,
      anyPortKnocks: config.anyPortKnocks,
      minKnockDatagramLength: Math.max(4, config.knockPacketMinLength - FRAME_OVERHEAD_IPV6),
    },
    { netns },
  );
}
