/**
 * The repository's network-namespace harness (`test/support/netns.ts` at the root, its own
 * tsc project), loaded for this package's tests. Its types come from the referenced project;
 * the code is imported from where that project compiles to (`test/dist/support/`), since a
 * relative import cannot name the same file both from `test/` and from `dist/test/`.
 */
import type * as Netns from '../../../../test/support/netns.js';

export type {
  Namespace,
  Topology,
  TcpListener,
  UdpListener,
  UdpMessage,
  TcpProbeResult,
  UdpProbeResult,
} from '../../../../test/support/netns.js';

const harnessUrl = new URL('../../../../../test/dist/support/netns.js', import.meta.url);

/** The harness module (createTopology, netnsSkipReason, knockShapedDatagram, …). */
export const netns: typeof Netns = (await import(harnessUrl.href)) as typeof Netns;
