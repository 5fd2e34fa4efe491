import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { link, mkdir, open, readFile, rename, rm, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SknockCaError } from './errors.js';

/**
 * File operations of the CA folder: every write goes to a temporary file in the same folder
 * (created with its final mode, flushed) and is then renamed into place, so a reader never
 * sees half a file and a crash leaves the old one. A lock file keeps two `sknock-ca`
 * processes from changing the folder at once.
 */

/** Mode of private keys and PKCS#12 files. */
export const PRIVATE_FILE_MODE = 0o600;
/** Mode of certificates, CRLs and the index. */
export const PUBLIC_FILE_MODE = 0o644;
/** Mode of the CA folder and its subfolders. */
export const FOLDER_MODE = 0o700;

export function ioError(action: string, path: string, cause: unknown): SknockCaError {
  const reason = (cause as NodeJS.ErrnoException)?.code ?? (cause as Error)?.message ?? String(cause);
  return new SknockCaError('ERR_SKNOCK_CA_IO', `could not ${action} ${path}: ${reason}`, { cause });
}

async function writeTemp(path: string, data: Uint8Array | string, mode: number): Promise<string> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let handle;
  try {
    handle = await open(temp, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY, mode);
    await handle.writeFile(data);
    await handle.chmod(mode); // the umask may have taken bits away; public files keep 0644
    await handle.sync();
  } catch (cause) {
    await handle?.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw ioError('write', path, cause);
  }
  await handle.close();
  return temp;
}

/** Writes `path` atomically with `mode` (temporary file + rename), replacing it if it exists. */
export async function writeFileAtomic(path: string, data: Uint8Array | string, mode: number): Promise<void> {
  const temp = await writeTemp(path, data, mode);
  try {
    await rename(temp, path);
  } catch (cause) {
    await rm(temp, { force: true });
    throw ioError('write', path, cause);
  }
}

/**
 * Writes `path` atomically only if it does not exist yet (temporary file + hard link, which
 * fails on an existing name). Returns false when the file was there already.
 */
export async function createFileAtomic(path: string, data: Uint8Array | string, mode: number): Promise<boolean> {
  const temp = await writeTemp(path, data, mode);
  try {
    await link(temp, path);
    return true;
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw ioError('write', path, cause);
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

/** The file's bytes, or `undefined` when it does not exist. */
export async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError('read', path, cause);
  }
}

/** Creates a folder (and its parents) with mode 0700; true when it was made now. */
export async function makeFolder(path: string): Promise<boolean> {
  try {
    return (await mkdir(path, { recursive: true, mode: FOLDER_MODE })) !== undefined;
  } catch (cause) {
    throw ioError('create the folder', path, cause);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (cause) {
    return (cause as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the folder's lock file (`.lock`, holding the owner's pid) and returns its release.
 * A lock left by a process that no longer runs is taken over.
 */
export async function lockFolder(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, '.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    if (await createFileAtomic(path, `${process.pid}\n`, PRIVATE_FILE_MODE)) {
      return async () => {
        await rm(path, { force: true });
      };
    }
    const owner = Number.parseInt((await readIfExists(path))?.toString('utf8') ?? '', 10);
    if (Number.isInteger(owner) && owner > 0 && processAlive(owner)) {
      throw new SknockCaError('ERR_SKNOCK_CA_LOCKED', `another sknock-ca (pid ${owner}) is changing ${dir}; try again when it has finished`);
    }
    await rm(path, { force: true }); // stale: its owner is gone
  }
  throw new SknockCaError('ERR_SKNOCK_CA_LOCKED', `could not take the lock ${path}; remove it if no sknock-ca is running`);
}
