import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { IpFamily } from '@sknock/protocol';
import { SknockClientError } from './errors.js';

/** One address for `host`: an IP literal as it is, a name through `dns.lookup` (the OS resolver, /etc/hosts included). */
export async function resolveHost(host: string, family: 0 | 4 | 6): Promise<{ address: string; family: IpFamily }> {
  const literal = isIP(host);
  if (literal !== 0) return { address: host, family: literal as IpFamily };
  try {
    const { address, family: found } = await lookup(host, { family });
    return { address, family: found as IpFamily };
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException)?.code ?? 'error';
    const which = family === 0 ? '' : ` (IPv${family})`;
    throw new SknockClientError('ERR_SKNOCK_RESOLVE_FAILED', `host: ${host} does not resolve to an address${which}: ${code}`, { option: 'host', cause });
  }
}
