import { describeSecretFile, inspectSecretFile, type FileReader, type SecretFileFinding } from '@sknock/protocol/secret-file';

/**
 * The files of a configuration that hold secrets, and what is wrong with their modes
 * (src/files/secret-file.ts has the rule): serverPFXFile (the server's private key),
 * PFXPasswdFile, and the config file itself when PFXPasswd is written in it. caFile and
 * crlFile are public.
 */

export interface SecretFileSettings {
  readonly serverPfxFile?: unknown;
  readonly pfxPasswordFile?: unknown;
  readonly pfxPassword?: unknown;
  readonly configFile?: string;
}

export interface SecretFileReport extends SecretFileFinding {
  /** The config key naming the file (`serverPFXFile`, `PFXPasswdFile`), or `config file`. */
  readonly key: string;
  /** One sentence for people. */
  readonly message: string;
}

export function secretFilesOf(settings: SecretFileSettings): { key: string; file: string }[] {
  const files: { key: string; file: string }[] = [];
  if (typeof settings.serverPfxFile === 'string') files.push({ key: 'serverPFXFile', file: settings.serverPfxFile });
  if (typeof settings.pfxPasswordFile === 'string') files.push({ key: 'PFXPasswdFile', file: settings.pfxPasswordFile });
  else if (typeof settings.pfxPassword === 'string' && settings.pfxPassword !== '' && settings.configFile !== undefined) {
    files.push({ key: 'config file (PFXPasswd)', file: settings.configFile });
  }
  return files;
}

/** Every secret file of `settings` that other users may read or change (`reader`: default the user this runs as). */
export function inspectSecretFiles(settings: SecretFileSettings, reader?: FileReader): SecretFileReport[] {
  const reports: SecretFileReport[] = [];
  for (const { key, file } of secretFilesOf(settings)) {
    const finding = inspectSecretFile(file, reader);
    if (finding !== undefined) reports.push({ ...finding, key, message: describeSecretFile(key, finding) });
  }
  return reports;
}
