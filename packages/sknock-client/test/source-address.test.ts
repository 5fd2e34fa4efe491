import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { localAddressToward } from '../src/source-address.js';
import { lacking, scriptCommand } from './support/runtime.js';

/**
 * The source address the kernel picks toward a destination, on every runtime (Deno's
 * node:dgram does not connect UDP sockets, so the SDK asks libc there). Connecting a UDP
 * socket sends nothing; the routed cases still run in a network namespace of their own.
 */

const child = fileURLToPath(new URL('./support/source-address-child.js', import.meta.url));

interface Outcome {
  readonly address: string;
  readonly local?: string;
  readonly code?: string;
  readonly message?: string;
}

function outcomes(stdout: string): Outcome[] {
  return stdout.trim().split('\n').map((line) => JSON.parse(line) as Outcome);
}

test('toward loopback: 127.0.0.1 and ::1', async () => {
  assert.equal(await localAddressToward('127.0.0.1', 4), '127.0.0.1');
  assert.equal(await localAddressToward('::1', 6), '::1');
});

test("routed destinations get the kernel's choice, including a route's preferred source (in a network namespace)", (t) => {
  if (spawnSync('unshare', ['-n', 'true']).status !== 0) {
    if (process.env['CI'] === 'true') assert.fail('unshare -n is needed for this test on CI');
    t.skip('unshare -n not permitted here (needs root)');
    return;
  }
  // Two addresses on one end of a veth pair; one route names the second as its preferred
  // source, which only the kernel's route lookup knows (a guess from the interface list would
  // say .10).
  const setup = [
    'ip link set lo up',
    'ip link add d0 type veth peer name d1',
    'ip link set d1 up',
    'ip link set d0 up',
    'ip addr add 192.0.2.10/24 dev d0',
    'ip addr add 192.0.2.11/24 dev d0',
    'ip route add 198.51.100.0/24 via 192.0.2.1 src 192.0.2.11',
    'ip addr add 2001:db8::10/64 dev d0 nodad',
  ].join(' && ');
  const argv = scriptCommand(child, ['192.0.2.77/4', '198.51.100.7/4', '2001:db8::77/6', '203.0.113.5/4']);
  const out = execFileSync('unshare', ['-n', 'sh', '-c', `${setup} && exec "$@"`, 'sh', ...argv], { encoding: 'utf8', timeout: 20_000 });
  const [onLink, viaRoute, v6, unrouted] = outcomes(out);
  assert.deepEqual(onLink, { address: '192.0.2.77', local: '192.0.2.10' });
  assert.deepEqual(viaRoute, { address: '198.51.100.7', local: '192.0.2.11' });
  assert.deepEqual(v6, { address: '2001:db8::77', local: '2001:db8::10' });
  assert.equal(unrouted?.code, 'ERR_SKNOCK_SEND_FAILED', JSON.stringify(unrouted));
  assert.match(unrouted?.message ?? '', /source address.*ENETUNREACH/);
});

test('Deno without --allow-ffi: ERR_SKNOCK_SEND_FAILED that names the flag', { skip: lacking({ node: 'a Deno test (node:dgram finds the address here)', bun: 'a Deno test (node:dgram finds the address here)' }) }, () => {
  const out = execFileSync(process.execPath, ['run', '--allow-net', '--allow-read', '--allow-env', '--no-check', '--node-modules-dir=manual', child, '127.0.0.1/4'], {
    encoding: 'utf8',
    timeout: 20_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [outcome] = outcomes(out);
  assert.equal(outcome?.code, 'ERR_SKNOCK_SEND_FAILED', JSON.stringify(outcome));
  assert.match(outcome?.message ?? '', /--allow-ffi/);
  assert.match(outcome?.message ?? '', /give sourceAddress/);
});
