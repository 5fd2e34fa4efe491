import type { PortGrant } from '@sknock/protocol';
import { SknockCaError } from './errors.js';

/**
 * Grants as people write them on a command line: `tcp/22`, `udp/8000`. (In the certificate
 * they become the `1.22,0.8000` string of PROTOCOL.md "Authorization inside the client
 * certificate".)
 */

const SPEC = /^(tcp|udp)\/([0-9]{1,5})$/i;

/** `tcp/22` → `{ protocol: 'tcp', port: 22 }`; anything else is `ERR_SKNOCK_CA_INVALID_GRANT`. */
export function parseGrantSpec(text: string): PortGrant {
  if (typeof text !== 'string') throw new SknockCaError('ERR_SKNOCK_CA_INVALID_GRANT', 'a grant must be a string such as tcp/22');
  const m = SPEC.exec(text.trim());
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || port < 1 || port > 65535) {
    throw new SknockCaError(
      'ERR_SKNOCK_CA_INVALID_GRANT',
      `grant ${JSON.stringify(text)} is not PROTOCOL/PORT with PROTOCOL tcp or udp and PORT 1–65535 (e.g. tcp/22, udp/8000)`,
    );
  }
  return { protocol: (m[1] as string).toLowerCase() as 'tcp' | 'udp', port };
}

/** `{ protocol: 'tcp', port: 22 }` → `tcp/22`. */
export function formatGrantSpec(grant: PortGrant): string {
  return `${grant.protocol}/${grant.port}`;
}

/**
 * Checks a list of grant objects (non-empty, tcp/udp, ports 1–65535) and drops repeats,
 * keeping the first order. `argument` names the option in messages.
 */
export function checkGrants(grants: unknown, argument = 'grants'): PortGrant[] {
  if (!Array.isArray(grants) || grants.length === 0) {
    throw new SknockCaError('ERR_SKNOCK_CA_INVALID_GRANT', `${argument} must be a non-empty array of { protocol: 'tcp' | 'udp', port }`);
  }
  const seen = new Set<string>();
  const out: PortGrant[] = [];
  grants.forEach((g: unknown, i) => {
    const grant = g as Partial<PortGrant> | null;
    if (grant === null || typeof grant !== 'object' || (grant.protocol !== 'tcp' && grant.protocol !== 'udp')) {
      throw new SknockCaError('ERR_SKNOCK_CA_INVALID_GRANT', `${argument}[${i}].protocol must be 'tcp' or 'udp'`);
    }
    const port = grant.port;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new SknockCaError('ERR_SKNOCK_CA_INVALID_GRANT', `${argument}[${i}].port must be an integer from 1 to 65535, got ${String(port)}`);
    }
    const key = `${grant.protocol}/${port}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push({ protocol: grant.protocol, port });
    }
  });
  return out;
}
