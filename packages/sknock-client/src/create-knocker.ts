import { performance } from 'node:perf_hooks';
import { connectProfileKeys, validateConnectOptions, validateSocketDefaults, type SocketDefaults } from './connect-options.js';
import { connectWith, tlsConnectWith } from './connect.js';
import { loadKnocker, type Knocker } from './knocker.js';
import { KnockingSocket } from './knocking-socket.js';
import { KNOCKER_KEYS, TARGET_KEYS, validateKnockerOptions, type KnockTargetOptions, type KnockerOptions } from './options.js';
import { applyProfile, type ProfileKnockerOptions } from './profile/apply-profile.js';
import { mergeKnockSettings } from './profile/merge.js';
import type { ProfileSection } from './profile/profile-file.js';

/**
 * Loads and checks credentials and the server certificate once (PKCS#12 decryption is slow
 * on purpose) and returns a knocker for apps that knock and connect often. A knocker
 * remembers its grants and shares concurrent knocks for the same target (one datagram, one
 * wait). With `profile: 'name'` the credentials come from that section now, and its knock
 * settings are the defaults of every call; a call's own `profile` gives its section's knock
 * settings (read at the call), over the knocker's section and under the call's options.
 */
export async function createKnocker(options: KnockerOptions | ProfileKnockerOptions): Promise<Knocker> {
  const { options: filled, section } = await applyProfile(options, KNOCKER_KEYS, 'knocker');
  // From a profile: its credentials now, its knock settings as defaults of every call.
  const credentials = section === undefined ? filled : Object.fromEntries(Object.entries(filled).filter(([k]) => !(TARGET_KEYS as readonly string[]).includes(k)));
  const impl = await loadKnocker(validateKnockerOptions(credentials));
  const settings = (target: unknown, allowed: readonly string[]): Promise<unknown> => callSettings(target, allowed, section);
  const knocker: Knocker = {
    knock: async (target) => impl.knock((await settings(target, TARGET_KEYS)) as KnockTargetOptions),
    connect: async (target) => {
      const started = performance.now();
      return connectWith(impl, validateConnectOptions(await settings(target, connectProfileKeys(false, false)), 'connect'), started);
    },
    tlsConnect: async (target) => {
      const started = performance.now();
      return tlsConnectWith(impl, validateConnectOptions(await settings(target, connectProfileKeys(true, false)), 'tlsConnect'), started);
    },
    socket: (defaults?: SocketDefaults) => new KnockingSocket(knocker, validateSocketDefaults(defaults, 'socket')),
  };
  return Object.freeze(knocker);
}

/** A knocker call's options: the call's own profile section (knock settings only), then the knocker's, under what the call gives. */
async function callSettings(target: unknown, allowed: readonly string[], section: ProfileSection | undefined): Promise<unknown> {
  const { options } = await applyProfile(target, allowed, 'settings');
  if (section === undefined || options === null || typeof options !== 'object' || Array.isArray(options)) return options;
  return mergeKnockSettings(options, section.settings);
}
