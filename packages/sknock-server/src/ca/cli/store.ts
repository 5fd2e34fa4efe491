import type { CaStore, InitStoreOptions } from '../ca-store.js';

/**
 * The CA folder, loaded only when a command runs: `--help` and usage errors answer without
 * loading `@peculiar/x509` and the protocol package (about 0.5 s of start-up).
 */

export async function openStore(dir: string): Promise<CaStore> {
  const { CaStore: Store } = await import('../ca-store.js');
  return Store.open(dir);
}

export async function initStore(dir: string, options: InitStoreOptions): Promise<CaStore> {
  const { CaStore: Store } = await import('../ca-store.js');
  return Store.init(dir, options);
}
