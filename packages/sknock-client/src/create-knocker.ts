import { performance } from 'node:perf_hooks';
import { connectWith, tlsConnectWith } from './connect.js';
import { validateConnectOptions, validateSocketDefaults, type SocketDefaults } from './connect-options.js';
import { loadKnocker, type Knocker } from './knocker.js';
import { KnockingSocket } from './knocking-socket.js';
import { validateKnockerOptions, type KnockTargetOptions, type KnockerOptions } from './options.js';

/**
 * Loads and checks credentials and the server certificate once (PKCS#12 decryption is slow
 * on purpose) and returns a knocker for apps that knock and connect often. A knocker
 * remembers its grants and shares concurrent knocks for the same target (one datagram, one
 * wait).
 */
export async function createKnocker(options: KnockerOptions): Promise<Knocker> {
  const impl = await loadKnocker(validateKnockerOptions(options));
  const knocker: Knocker = {
    knock: (target: KnockTargetOptions) => impl.knock(target),
    connect: async (target) => connectWith(impl, validateConnectOptions(target, 'connect'), performance.now()),
    tlsConnect: async (target) => tlsConnectWith(impl, validateConnectOptions(target, 'tlsConnect'), performance.now()),
    socket: (defaults?: SocketDefaults) => new KnockingSocket(knocker, validateSocketDefaults(defaults, 'socket')),
  };
  return Object.freeze(knocker);
}
