/**
 * `nft monitor` inside a namespace: records when each grant element first appears in the
 * sknock sets (ms since the epoch, as read here; nft writes one line per event, unbuffered).
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Namespace } from '../../support/netns.js';
import { epochNow } from './knock-tools.js';

export interface NftMonitor {
  /** Element address → when it was first added. */
  readonly added: ReadonlyMap<string, number>;
  /** When each nft transaction (ruleset generation) was seen. */
  readonly generations: readonly number[];
  stop(): void;
}

const ADD = /^add element inet sknock ipv[46]_grants \{ (\S+) \. (tcp|udp) \. (\d+) /;

export async function monitorGrants(ns: Namespace): Promise<NftMonitor> {
  const child: ChildProcess = ns.spawn('nft', ['monitor'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const added = new Map<string, number>();
  const generations: number[] = [];
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  lines.on('line', (line) => {
    const m = ADD.exec(line);
    if (m && !added.has(m[1] as string)) added.set(m[1] as string, epochNow());
    else if (line.startsWith('# new generation')) generations.push(epochNow());
  });
  // Give it a moment to subscribe before anything it must see happens.
  await new Promise((r) => setTimeout(r, 200));
  return { added, generations, stop: () => void child.kill('SIGTERM') };
}
