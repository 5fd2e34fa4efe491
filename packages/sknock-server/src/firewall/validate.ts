/**
 * Eager checks at the back ends' boundary: grants, durations, setups and option values.
 * Everything that later reaches a command line has passed through here, so the generated
 * nft/iptables text never holds anything but addresses, numbers and checked names.
 */
import { canonicalIpAddress, parseIpAddress } from '@sknock/protocol';
import type { FirewallPolicy, FirewallProtocol, FirewallSetup, Grant, PortSpec } from './backend.js';
import { MAX_GRANT_DURATION_SECONDS, MAX_UDP_PAYLOAD } from './constants.js';
import { SknockFirewallError } from './errors.js';

function invalid(message: string): SknockFirewallError {
  return new SknockFirewallError('ERR_SKNOCK_INVALID_ARGUMENT', message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

export function checkPort(value: unknown, argument: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65_535) {
    throw invalid(`${argument} must be an integer port from 1 to 65535, got ${String(value)}`);
  }
  return value;
}

export function checkProtocol(value: unknown, argument: string): FirewallProtocol {
  if (value !== 'tcp' && value !== 'udp') {
    throw invalid(`${argument} must be 'tcp' or 'udp', got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Parses an address in any textual form and returns its canonical text and family.
 * IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is refused: firewalls see such a client as IPv4.
 */
export function checkAddress(value: unknown, argument: string): { address: string; family: 4 | 6 } {
  if (typeof value !== 'string' || value.includes('%')) {
    throw invalid(`${argument} must be an IPv4 or IPv6 address without a zone, got ${JSON.stringify(value)}`);
  }
  let parsed;
  try {
    parsed = parseIpAddress(value, argument);
  } catch {
    throw invalid(`${argument} is not an IPv4 or IPv6 address: ${JSON.stringify(value)}`);
  }
  if (parsed.family === 6 && parsed.bytes.subarray(0, 10).every((b) => b === 0) && parsed.bytes[10] === 0xff && parsed.bytes[11] === 0xff) {
    throw invalid(`${argument} is an IPv4-mapped IPv6 address (${value}); give the IPv4 address`);
  }
  return { address: canonicalIpAddress(value), family: parsed.family };
}

/** A checked copy of a grant, with its address in canonical form. */
export function normalizeGrant(grant: unknown, argument = 'grant'): Grant {
  if (!isRecord(grant)) throw invalid(`${argument} must be an object { address, family, protocol, port }`);
  const { address, family } = checkAddress(grant['address'], `${argument}.address`);
  if (grant['family'] !== undefined && grant['family'] !== family) {
    throw invalid(`${argument}.family is ${String(grant['family'])} but ${argument}.address is IPv${family}`);
  }
  return Object.freeze({
    address,
    family,
    protocol: checkProtocol(grant['protocol'], `${argument}.protocol`),
    port: checkPort(grant['port'], `${argument}.port`),
  });
}

/** The identity of a grant: one rule or set element per key. */
export function grantKey(grant: Grant): string {
  return `${grant.address}|${grant.protocol}|${grant.port}`;
}

/** Grant duration in whole milliseconds (at least 1). */
export function durationMs(seconds: unknown, argument = 'durationSeconds'): number {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_GRANT_DURATION_SECONDS) {
    throw invalid(`${argument} must be a number of seconds above 0 and at most ${MAX_GRANT_DURATION_SECONDS}, got ${String(seconds)}`);
  }
  return Math.max(1, Math.round(seconds * 1000));
}

const POLICIES: readonly FirewallPolicy[] = ['none', 'reject', 'drop'];

/** A checked, frozen copy of a setup. */
export function normalizeSetup(setup: unknown): FirewallSetup {
  if (!isRecord(setup)) throw invalid('setup must be an object');
  const policy = setup['policy'];
  if (typeof policy !== 'string' || !POLICIES.includes(policy as FirewallPolicy)) {
    throw invalid(`setup.policy must be one of ${POLICIES.join(', ')}, got ${JSON.stringify(policy)}`);
  }
  const ports = setup['emergencyAccessPorts'];
  if (!Array.isArray(ports)) throw invalid('setup.emergencyAccessPorts must be an array of { protocol, port }');
  const emergency: PortSpec[] = ports.map((p: unknown, i) => {
    if (!isRecord(p)) throw invalid(`setup.emergencyAccessPorts[${i}] must be { protocol, port }`);
    return Object.freeze({
      protocol: checkProtocol(p['protocol'], `setup.emergencyAccessPorts[${i}].protocol`),
      port: checkPort(p['port'], `setup.emergencyAccessPorts[${i}].port`),
    });
  });
  const anyPortKnocks = setup['anyPortKnocks'];
  if (typeof anyPortKnocks !== 'boolean') throw invalid('setup.anyPortKnocks must be a boolean');
  const min = setup['minKnockDatagramLength'];
  if (typeof min !== 'number' || !Number.isInteger(min) || min < 4 || min > MAX_UDP_PAYLOAD) {
    throw invalid(`setup.minKnockDatagramLength must be an integer from 4 to ${MAX_UDP_PAYLOAD}, got ${String(min)}`);
  }
  const listen = setup['listenAddress'];
  let listenAddress: string | undefined;
  if (listen !== undefined) {
    if (listen === '::' || listen === '0.0.0.0') listenAddress = listen;
    else listenAddress = checkAddress(listen, 'setup.listenAddress').address;
  }
  return Object.freeze({
    policy: policy as FirewallPolicy,
    emergencyAccessPorts: Object.freeze(emergency),
    knockPort: checkPort(setup['knockPort'], 'setup.knockPort'),
    ...(listenAddress === undefined ? {} : { listenAddress }),
    anyPortKnocks,
    minKnockDatagramLength: min,
  });
}

/** Network namespace names as `ip netns` makes them (a file name under /run/netns). */
export function checkNetnsName(value: unknown, argument = 'options.netns'): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(value) || value === '.' || value === '..') {
    throw invalid(`${argument} must be a network namespace name (letters, digits, '_', '.', '-'), got ${JSON.stringify(value)}`);
  }
  return value;
}

export function checkName(value: unknown, pattern: RegExp, argument: string, what: string): string {
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw invalid(`${argument} must be ${what}, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function checkPositiveInteger(value: unknown, argument: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw invalid(`${argument} must be an integer from 1 to ${max}, got ${String(value)}`);
  }
  return value;
}

export function checkOptions(options: unknown, argument: string): Record<string, unknown> {
  if (options === undefined) return {};
  if (!isRecord(options)) throw invalid(`${argument} must be an object`);
  return options;
}

/** An optional callback option: `undefined` or a function; the message names the option. */
export function checkOptionalFunction<F extends (...args: never[]) => unknown>(value: unknown, argument: string): F | undefined {
  if (value !== undefined && typeof value !== 'function') {
    throw new SknockFirewallError('ERR_SKNOCK_INVALID_ARGUMENT', `${argument} must be a function`);
  }
  return value as F | undefined;
}
