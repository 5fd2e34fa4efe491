import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ServerConfig } from '../config/types.js';
import { inspectSecretFiles } from '../config/secret-files.js';
import type { Logger } from '../logging/logger-type.js';

/**
 * The daemon's files, at start and on reload, before anything reads them:
 *
 * - files holding secrets (serverPFXFile, PFXPasswdFile, a config file with PFXPasswd in it)
 *   that other users may read or change are logged at warn, one line each, with the file,
 *   its mode, owner and group, and the command that fixes it (the rule: src/files/secret-file.ts).
 *   They are still used, as sshd's and PostgreSQL's warnings leave the choice to the operator.
 * - the folder of crlFile, when a crlUrl is set and it does not exist, is made (mode 0700),
 *   as the original sKnock made it: the CRL fetched is saved there.
 */
export async function prepareServerFiles(config: ServerConfig, log: Logger): Promise<void> {
  for (const r of inspectSecretFiles(config)) {
    log.warn(
      { event: 'insecure-file', key: r.key, file: r.file, mode: r.mode, owner: r.owner, group: r.group, problems: r.problems, fix: r.fix },
      r.message,
    );
  }
  const saveFile = config.crlFile?.[0];
  if (saveFile !== undefined && (config.crlUrl?.length ?? 0) > 0) {
    const folder = dirname(saveFile);
    try {
      const made = await mkdir(folder, { recursive: true, mode: 0o700 });
      if (made !== undefined) log.info({ event: 'folder-created', key: 'crlFile', folder, mode: '0700' }, `created ${folder} (mode 0700) for crlFile`);
    } catch (err) {
      // The CRL manager then says at each fetch that it cannot save; knocks are served as before.
      log.error({ event: 'folder-failed', key: 'crlFile', folder, error: (err as Error).message }, `could not create the folder ${folder} of crlFile: ${(err as Error).message}`);
    }
  }
}
