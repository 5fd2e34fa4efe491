import { readFile } from 'node:fs/promises';
import { isSknockProtocolError, loadCredentials, readCertificates, type Credentials } from '@sknock/protocol';
import { isP256Key } from '@sknock/protocol/p256';
import type { ServerConfig } from '../config/types.js';
import { SknockServerError } from '../errors.js';

/**
 * The server's key, certificate and CA certificate(s): in memory (library), or from its
 * PKCS#12 file opened with the password. Errors name the file and say what is wrong, never
 * the password.
 */
export async function loadServerCredentials(config: ServerConfig): Promise<Credentials> {
  let credentials: Credentials;
  if (config.credentials !== undefined) {
    credentials = config.credentials;
  } else {
    const file = config.serverPfxFile;
    if (file === undefined) throw new SknockServerError('ERR_SKNOCK_SERVER_CREDENTIALS', 'no serverPFXFile and no in-memory credentials');
    let pfx: Buffer;
    try {
      pfx = await readFile(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable (permission denied)' : (err as Error).message;
      throw new SknockServerError('ERR_SKNOCK_SERVER_CREDENTIALS', `serverPFXFile ${file} ${why}`, { cause: err });
    }
    try {
      credentials = await loadCredentials({ pfx, passphrase: config.pfxPassword ?? '' });
    } catch (err) {
      const why = isSknockProtocolError(err, 'ERR_SKNOCK_BAD_PASSPHRASE')
        ? 'does not open with the password PFXPasswd/PFXPasswdFile gives'
        : isSknockProtocolError(err)
          ? `cannot be used: ${err.message}`
          : `cannot be read: ${(err as Error).message}`;
      throw new SknockServerError('ERR_SKNOCK_SERVER_CREDENTIALS', `serverPFXFile ${file} ${why}`, { cause: err });
    }
  }
  const key = credentials.privateKey;
  if (!isP256Key(key, 'private')) {
    throw new SknockServerError('ERR_SKNOCK_SERVER_CREDENTIALS', `${where(config)}: the server key must be EC P-256 (knocks are encrypted to it)`);
  }
  return credentials;
}

function where(config: ServerConfig): string {
  return config.credentials !== undefined ? 'credentials' : `serverPFXFile ${config.serverPfxFile}`;
}

/** The certificates of caFile (PEM, one or many, or one DER), or [] without one. */
export async function loadCaFile(config: ServerConfig): Promise<Uint8Array[]> {
  if (config.caFile === undefined) return [];
  let bytes: Buffer;
  try {
    bytes = await readFile(config.caFile);
  } catch (err) {
    throw new SknockServerError('ERR_SKNOCK_SERVER_CREDENTIALS', `caFile ${config.caFile} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  try {
    return readCertificates(bytes, `caFile ${config.caFile}`);
  } catch (err) {
    throw new SknockServerError('ERR_SKNOCK_SERVER_CREDENTIALS', (err as Error).message, { cause: err });
  }
}
