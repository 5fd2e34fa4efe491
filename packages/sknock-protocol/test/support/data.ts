import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Test data files live in `test/data/` (not compiled); tests run from `dist/test/`. */
export const DATA_DIR = fileURLToPath(new URL('../../../test/data/', import.meta.url));

export function readJson<T>(name: string): T {
  return JSON.parse(readFileSync(DATA_DIR + name, 'utf8')) as T;
}

export function hex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'));
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
