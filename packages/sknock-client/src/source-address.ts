import { createSocket } from 'node:dgram';
import { endianness } from 'node:os';
import { canonicalIpAddress, parseIpAddress, type IpFamily } from '@sknock/protocol';
import { SOURCE_PROBE_PORT } from './constants.js';
import { SknockClientError } from './errors.js';

/**
 * The local address the OS would send from toward `address`: a UDP socket is connected
 * (which sends nothing, it only picks a route and a source) and asked for its address.
 *
 * Deno's `node:dgram` only records the peer on `connect()` and never connects the OS
 * socket, so `address()` stays on the wildcard there. On Deno (Linux) the same two system
 * calls, connect(2) and getsockname(2), are made through libc with `Deno.dlopen`, which
 * needs `--allow-ffi`; without it the error says so (or give `sourceAddress`).
 */
export async function localAddressToward(address: string, family: IpFamily): Promise<string> {
  const socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(SOURCE_PROBE_PORT, address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const local = stripZone(socket.address().address);
    if (!isWildcard(local)) return local;
    const deno = denoRuntime();
    if (deno) return denoLocalAddressToward(deno, address, family);
    // No route picks no source: the socket stays on the wildcard address.
    throw Object.assign(new Error('no source address'), { code: 'ENETUNREACH' });
  } catch (cause) {
    if (cause instanceof SknockClientError) throw cause;
    const code = (cause as NodeJS.ErrnoException)?.code ?? String(cause);
    throw new SknockClientError('ERR_SKNOCK_SEND_FAILED', `no route to ${address} to find a source address (${code}); give sourceAddress`, { cause });
  } finally {
    await closeQuietly(socket);
  }
}

const stripZone = (text: string): string => (text.includes('%') ? text.slice(0, text.indexOf('%')) : text);
const isWildcard = (text: string): boolean => text === '0.0.0.0' || text === '::';

async function closeQuietly(socket: ReturnType<typeof createSocket>): Promise<void> {
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

// --- Deno: connect(2) + getsockname(2) through libc ------------------------------------------

/** The parts of the `Deno` global used here (the package is typed for Node). */
interface DenoRuntime {
  readonly build: { readonly os: string; readonly arch: string };
  readonly permissions: { querySync(descriptor: { name: 'ffi' }): { readonly state: string } };
  dlopen(path: string, symbols: typeof LIBC_SYMBOLS): DenoLibc;
  readonly UnsafePointerView: new (pointer: unknown) => { getInt32(offset?: number): number };
}

interface DenoLibc {
  readonly symbols: {
    socket(domain: number, type: number, protocol: number): number;
    connect(fd: number, address: Uint8Array, length: number): number;
    getsockname(fd: number, address: Uint8Array, length: Uint8Array): number;
    close(fd: number): number;
    if_nametoindex(name: Uint8Array): number;
    __errno_location(): unknown;
  };
  close(): void;
}

const LIBC_SYMBOLS = {
  socket: { parameters: ['i32', 'i32', 'i32'], result: 'i32' },
  connect: { parameters: ['i32', 'buffer', 'u32'], result: 'i32' },
  getsockname: { parameters: ['i32', 'buffer', 'buffer'], result: 'i32' },
  close: { parameters: ['i32'], result: 'i32' },
  if_nametoindex: { parameters: ['buffer'], result: 'u32' },
  __errno_location: { parameters: [], result: 'pointer' },
} as const;

// Linux values (<sys/socket.h>, <errno.h>).
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_DGRAM = 2;
const ERRNO_NAMES: Readonly<Record<number, string>> = { 1: 'EPERM', 13: 'EACCES', 22: 'EINVAL', 97: 'EAFNOSUPPORT', 99: 'EADDRNOTAVAIL', 101: 'ENETUNREACH', 113: 'EHOSTUNREACH' };

function denoRuntime(): DenoRuntime | undefined {
  const deno = (globalThis as { Deno?: DenoRuntime }).Deno;
  return typeof deno?.dlopen === 'function' ? deno : undefined;
}

function denoLocalAddressToward(deno: DenoRuntime, address: string, family: IpFamily): string {
  const fail = (why: string, cause?: unknown): never => {
    throw new SknockClientError('ERR_SKNOCK_SEND_FAILED', `no source address toward ${address} on Deno: ${why}; give sourceAddress`, cause === undefined ? {} : { cause });
  };
  if (deno.build.os !== 'linux') fail(`node:dgram connect() does not connect the socket, and asking libc instead is implemented for Linux only (this is ${deno.build.os})`);
  if (deno.permissions.querySync({ name: 'ffi' }).state !== 'granted') {
    fail("node:dgram connect() does not connect the socket there, so the kernel's choice is read through libc, which needs --allow-ffi");
  }
  let libc: DenoLibc | undefined;
  const tried: string[] = [];
  for (const name of ['libc.so.6', `libc.musl-${deno.build.arch === 'aarch64' ? 'aarch64' : 'x86_64'}.so.1`]) {
    try {
      libc = deno.dlopen(name, LIBC_SYMBOLS);
      break;
    } catch (err) {
      tried.push(`${name}: ${(err as Error).message}`);
    }
  }
  if (!libc) return fail(`cannot load libc (${tried.join('; ')})`);
  const c = libc.symbols;
  const errno = (): string => {
    const n = new deno.UnsafePointerView(c.__errno_location()).getInt32();
    return ERRNO_NAMES[n] ?? `errno ${n}`;
  };
  const fd = c.socket(family === 6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
  try {
    if (fd < 0) fail(`socket(2) failed (${errno()})`);
    const peer = sockaddr(address, family, (zone) => c.if_nametoindex(new TextEncoder().encode(`${zone}\0`)));
    if (c.connect(fd, peer, peer.byteLength) !== 0) fail(`connect(2) failed (${errno()})`);
    const local = new Uint8Array(28);
    const length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, local.byteLength, LITTLE_ENDIAN);
    if (c.getsockname(fd, local, length) !== 0) fail(`getsockname(2) failed (${errno()})`);
    const text = family === 6 ? ipv6Text(local.subarray(8, 24)) : local.subarray(4, 8).join('.');
    if (isWildcard(text)) fail('the kernel picked no source address (no route)');
    return text;
  } finally {
    if (fd >= 0) c.close(fd);
    libc.close();
  }
}

const LITTLE_ENDIAN = endianness() === 'LE';

/** `struct sockaddr_in` (16 bytes) or `struct sockaddr_in6` (28 bytes), Linux layout. */
function sockaddr(address: string, family: IpFamily, interfaceIndex: (zone: string) => number): Uint8Array {
  const { bytes } = parseIpAddress(address);
  const out = new Uint8Array(family === 6 ? 28 : 16);
  const view = new DataView(out.buffer);
  view.setUint16(0, family === 6 ? AF_INET6 : AF_INET, LITTLE_ENDIAN); // sa_family_t: host order
  view.setUint16(2, SOURCE_PROBE_PORT, false); // network order
  if (family === 4) {
    out.set(bytes, 4);
    return out;
  }
  out.set(bytes, 8); // after sin6_flowinfo
  const zone = address.includes('%') ? address.slice(address.indexOf('%') + 1) : '';
  if (zone !== '') view.setUint32(24, /^\d+$/.test(zone) ? Number(zone) : interfaceIndex(zone), LITTLE_ENDIAN);
  return out;
}

function ipv6Text(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] as number) << 8) | (bytes[i + 1] as number)).toString(16));
  return canonicalIpAddress(groups.join(':'));
}
