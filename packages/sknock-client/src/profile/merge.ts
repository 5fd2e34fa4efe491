import type { ProfileSettings } from './keys.js';

/**
 * A profile section under the caller's own options (the SDK's, or those the `sknock` flags
 * make): what the caller gives wins, the section fills in the rest.
 *
 * - Credentials go as a whole: a caller who gives any of `pfx`, `key`, `certificate`,
 *   `credentials` takes none of the section's (`pfx` and `key` + `certificate` cannot mix),
 *   nor its `passphraseFile`, which belongs to the section's credentials.
 * - A caller's `localAddress` also stands for `sourceAddress` (which defaults to it), so the
 *   section's `sourceAddress` then applies only if it is `auto`.
 * - The section's `stunServer` applies when the `sourceAddress` in effect is `auto`.
 * - The section's `passphraseFile` is read (by the caller of this function) only when its
 *   credentials are used and the caller gave no `passphrase`.
 */

export interface MergedProfile {
  readonly options: Record<string, unknown>;
  /** The passphrase file to read for the credentials in effect, if any. */
  readonly passphraseFile: string | undefined;
}

const CREDENTIAL_KEYS = ['pfx', 'key', 'certificate', 'credentials'] as const;
const FILLED = ['knockPort', 'family', 'grantSeconds', 'localAddress'] as const;

export function mergeProfile(explicit: Readonly<Record<string, unknown>>, settings: ProfileSettings): MergedProfile {
  const options = mergeKnockSettings(explicit, settings);
  const given = (k: string): boolean => explicit[k] !== undefined;
  const ownCredentials = !CREDENTIAL_KEYS.some(given) && (settings.pfx !== undefined || settings.key !== undefined);
  if (ownCredentials) {
    if (settings.pfx !== undefined) options['pfx'] = settings.pfx;
    if (settings.key !== undefined) options['key'] = settings.key;
    if (settings.certificate !== undefined) options['certificate'] = settings.certificate;
  }
  if (!given('serverCertificate') && settings.serverCertificate !== undefined) options['serverCertificate'] = settings.serverCertificate;
  const passphraseFile = ownCredentials && !given('passphrase') ? settings.passphraseFile : undefined;
  return { options, passphraseFile };
}

/** Only the per-knock settings (knockPort, family, grantSeconds, localAddress, sourceAddress, stunServer) of a section under `explicit`. */
export function mergeKnockSettings(explicit: Readonly<Record<string, unknown>>, settings: ProfileSettings): Record<string, unknown> {
  const options: Record<string, unknown> = { ...explicit };
  const given = (k: string): boolean => explicit[k] !== undefined;
  for (const k of FILLED) if (!given(k) && settings[k] !== undefined) options[k] = settings[k];
  if (!given('sourceAddress') && settings.sourceAddress !== undefined && (!given('localAddress') || settings.sourceAddress === 'auto')) {
    options['sourceAddress'] = settings.sourceAddress;
  }
  if (!given('stunServer') && options['sourceAddress'] === 'auto' && settings.stunServer !== undefined) options['stunServer'] = settings.stunServer;
  return options;
}
