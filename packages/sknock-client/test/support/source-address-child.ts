import { localAddressToward } from '../../src/source-address.js';

/**
 * Asks for the source address toward each `address/family` argument in its own process
 * (inside a network namespace the test made) and prints one JSON line per argument:
 * `{ address, local }` or `{ address, code, message }`.
 * Usage: node source-address-child.js 192.0.2.77/4 2001:db8::77/6
 */
for (const arg of process.argv.slice(2)) {
  const slash = arg.lastIndexOf('/');
  const address = arg.slice(0, slash);
  try {
    const local = await localAddressToward(address, arg.slice(slash + 1) === '6' ? 6 : 4);
    process.stdout.write(`${JSON.stringify({ address, local })}\n`);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    process.stdout.write(`${JSON.stringify({ address, code: e.code, message: e.message })}\n`);
  }
}
