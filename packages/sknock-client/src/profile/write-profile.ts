import { randomBytes } from 'node:crypto';
import { mkdir, open, realpath, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Replaces the profile file so that a reader sees the old text or the new, never a mix: a
 * temporary file in the same folder (mode 0600 from the start), flushed, renamed over the
 * file (its target, when the file is a symbolic link), then the folder flushed (best effort).
 * A missing folder is made with mode 0700. Two writers at once: the last rename wins.
 */
export async function writeProfileFile(path: string, text: string): Promise<string> {
  let target = path;
  try {
    target = await realpath(path);
  } catch {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  }
  const dir = dirname(target);
  const temp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let renamed = false;
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
    renamed = true;
    try {
      const folder = await open(dir, 'r');
      try {
        await folder.sync();
      } finally {
        await folder.close();
      }
    } catch {
      // some file systems refuse fsync on a folder; the rename itself is atomic
    }
  } finally {
    if (!renamed) await rm(temp, { force: true }).catch(() => undefined);
  }
  return target;
}
