import { join, resolve } from 'node:path';
import type { CaStore, InitStoreOptions } from '../ca-store.js';
import type { CommandContext } from './command.js';
import { CA_PASSPHRASE_FLAGS, passphraseSource, type PassphraseSource } from './passphrase.js';

/**
 * The CA folder, loaded only when a command runs: `--help` and usage errors answer without
 * loading `@peculiar/x509` and the protocol package (about 0.5 s of start-up).
 */

/** Prints what `open` found about ca.key (mode, owner, folders) as warnings. */
function warnAboutKeyFile(store: CaStore, command: string, note: (line: string) => void): void {
  for (const line of store.keyFileWarnings) note(`sknock-ca ${command}: warning: ${line}`);
}

/** Opens the CA for reading (list, revoke): the key is not opened. */
export async function openStore(dir: string, command: string, note: (line: string) => void): Promise<CaStore> {
  const { CaStore: Store } = await import('../ca-store.js');
  const store = await Store.open(dir);
  warnAboutKeyFile(store, command, note);
  return store;
}

/**
 * Where the CA key's passphrase comes from (`--ca-passphrase-file`, `--ca-passphrase-env`,
 * the terminal), checked with the other options before any work.
 */
export function caPassphraseSource(context: CommandContext, command: string): PassphraseSource {
  return passphraseSource(context.values, { flags: CA_PASSPHRASE_FLAGS, command, what: 'the encrypted CA key', confirm: false, required: false }, context.io);
}

/**
 * Opens the CA to sign: the key is opened now (its passphrase read or asked for once, before
 * any other passphrase), so a wrong one stops the command before anything is made.
 */
export async function openSigningStore(dir: string, command: string, source: PassphraseSource, context: CommandContext): Promise<CaStore> {
  const { CaStore: Store } = await import('../ca-store.js');
  const store = await Store.open(dir, { passphrase: { origin: source.origin, read: () => source.read(`Passphrase for the CA key ${join(resolve(dir), 'ca.key')}: `) } });
  warnAboutKeyFile(store, command, context.note);
  const given = [CA_PASSPHRASE_FLAGS.file, CA_PASSPHRASE_FLAGS.env].some((f) => context.values[f] !== undefined);
  if (!store.keyEncrypted && given) context.note(`sknock-ca ${command}: note: ${store.dir}/ca.key is not encrypted; the CA passphrase given was not needed`);
  await store.unlock();
  return store;
}

export async function initStore(dir: string, options: InitStoreOptions): Promise<CaStore> {
  const { CaStore: Store } = await import('../ca-store.js');
  return Store.init(dir, options);
}
