import { open } from 'node:fs/promises';
import { MAX_CREDENTIAL_FILE_BYTES } from './constants.js';
import { SknockClientError } from './errors.js';

/**
 * Options that take "a path, PEM text or bytes": a `Uint8Array` is the content, a string
 * holding a PEM armour line is the content, any other string is a file path.
 */

/** A string that is PEM text rather than a path. */
export function isPemText(value: string): boolean {
  return value.includes('-----BEGIN ');
}

/** Reads the file at `path` for `option`, with the typed errors that name both. */
export async function readOptionFile(option: string, path: string): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (cause) {
    throw fileError(option, path, cause);
  }
  try {
    const stat = await handle.stat();
    if (stat.isDirectory()) {
      throw new SknockClientError('ERR_SKNOCK_FILE_UNREADABLE', `${option}: ${path} is a directory, not a file`, { option, path });
    }
    // Read in chunks up to the limit: works for regular files and for pipes (/dev/fd/N).
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(64 * 1024);
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > MAX_CREDENTIAL_FILE_BYTES) {
        throw new SknockClientError(
          'ERR_SKNOCK_FILE_UNREADABLE',
          `${option}: ${path} is larger than ${MAX_CREDENTIAL_FILE_BYTES} bytes; not a credential file`,
          { option, path },
        );
      }
      chunks.push(chunk.subarray(0, bytesRead));
    }
    return new Uint8Array(Buffer.concat(chunks, total));
  } catch (cause) {
    if (cause instanceof SknockClientError) throw cause;
    throw fileError(option, path, cause);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function fileError(option: string, path: string, cause: unknown): SknockClientError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new SknockClientError('ERR_SKNOCK_FILE_NOT_FOUND', `${option}: file not found: ${path}`, { option, path, cause });
  }
  const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (code ?? String(cause));
  return new SknockClientError('ERR_SKNOCK_FILE_UNREADABLE', `${option}: cannot read ${path}: ${why}`, { option, path, cause });
}

/** Bytes or PEM text stay as they are; a path is read. */
export async function readPathPemOrBytes(option: string, value: string | Uint8Array): Promise<string | Uint8Array> {
  if (value instanceof Uint8Array) return value;
  if (isPemText(value)) return value;
  return readOptionFile(option, value);
}

/** Bytes stay as they are; a string is always a path (PKCS#12 is binary). */
export async function readPathOrBytes(option: string, value: string | Uint8Array): Promise<Uint8Array> {
  if (value instanceof Uint8Array) return value;
  return readOptionFile(option, value);
}
