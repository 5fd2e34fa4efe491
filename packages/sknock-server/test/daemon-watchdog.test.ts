import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FirewallWatchdog } from '../src/daemon/firewall-watchdog.js';
import { createServer } from '../src/daemon/server.js';
import type { FirewallBackend, FirewallCheckResult, FirewallSetup, Grant } from '../src/firewall/backend.js';
import { SknockFirewallError } from '../src/firewall/errors.js';
import { MemoryFirewallBackend } from '../src/firewall/memory.js';
import { knockFixtures } from './support/knock-fixtures.js';
import { recordingLogger } from './support/recording-logger.js';
import { waitUntil } from './support/udp.js';

/** The memory back end with a scripted `check()`: each call takes the next answer (the last one repeats). */
class CheckedBackend extends MemoryFirewallBackend implements FirewallBackend {
  readonly answers: Array<FirewallCheckResult | Error>;
  calls = 0;
  inFlight = 0;
  delayMs = 0;
  constructor(answers: Array<FirewallCheckResult | Error>) {
    super();
    this.answers = answers;
  }
  async check(): Promise<FirewallCheckResult> {
    this.calls += 1;
    this.inFlight += 1;
    try {
      if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      const answer = this.answers[Math.min(this.calls - 1, this.answers.length - 1)] as FirewallCheckResult | Error;
      if (answer instanceof Error) throw answer;
      return answer;
    } finally {
      this.inFlight -= 1;
    }
  }
}

const REPAIRED: FirewallCheckResult = { intact: false, problem: 'table inet sknock is missing', grants: 3 };
const IN_USE = new SknockFirewallError('ERR_SKNOCK_FIREWALL_IN_USE', 'table inet sknock belongs to another running sknock-server (pid 1, knock port 62202)');

describe('firewall watchdog', () => {
  it('checks every interval: intact is silent, a repair is logged at warn with what was wrong and the grants written back', async () => {
    const firewall = new CheckedBackend([{ intact: true }, REPAIRED, { intact: true }]);
    const logger = recordingLogger();
    const watchdog = new FirewallWatchdog({ firewall, intervalMs: 20, logger, now: Date.now });
    watchdog.start();
    try {
      await waitUntil(() => firewall.calls >= 4, 2000);
    } finally {
      await watchdog.stop();
    }
    assert.deepEqual(
      logger.records.map((r) => [r.level, r.fields['event'], r.fields['problem'], r.fields['grants']]),
      [['warn', 'firewall-repaired', 'table inet sknock is missing', 3]],
    );
    assert.match(logger.records[0]?.msg ?? '', /missing or changed \(table inet sknock is missing\); rebuilt them with 3 grant/);
    assert.equal(watchdog.stats.repairs, 1);
    assert.ok(watchdog.stats.checks >= 4);
  });

  it('a failed check is logged at error with its code, the same failure again only after a minute', async () => {
    let now = 1_000_000;
    const firewall = new CheckedBackend([IN_USE]);
    const logger = recordingLogger();
    const watchdog = new FirewallWatchdog({ firewall, intervalMs: 10, logger, now: () => now });
    await watchdog.checkNow();
    await watchdog.checkNow();
    now += 30_000;
    await watchdog.checkNow();
    assert.equal(logger.records.length, 1, 'repeated within a minute: not logged again');
    now += 31_000;
    await watchdog.checkNow();
    assert.equal(logger.records.length, 2);
    assert.deepEqual(
      logger.records.map((r) => [r.level, r.fields['event'], r.fields['code']]),
      [
        ['error', 'firewall-check-failed', 'ERR_SKNOCK_FIREWALL_IN_USE'],
        ['error', 'firewall-check-failed', 'ERR_SKNOCK_FIREWALL_IN_USE'],
      ],
    );
    assert.equal(watchdog.stats.failedChecks, 4);
  });

  it('one check at a time, and stop() waits for the one in flight; no timer for a back end without check()', async () => {
    const firewall = new CheckedBackend([{ intact: true }]);
    firewall.delayMs = 80;
    const watchdog = new FirewallWatchdog({ firewall, intervalMs: 1, logger: recordingLogger(), now: Date.now });
    watchdog.start();
    await waitUntil(() => firewall.inFlight === 1, 2000);
    const extra = watchdog.checkNow();
    assert.equal(firewall.inFlight, 1, 'checkNow() joins the check in flight');
    await watchdog.stop();
    assert.equal(firewall.inFlight, 0);
    await extra;
    const calls = firewall.calls;
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(firewall.calls, calls, 'no check after stop()');

    const plain = new MemoryFirewallBackend();
    const idle = new FirewallWatchdog({ firewall: plain, intervalMs: 1, logger: recordingLogger(), now: Date.now });
    idle.start();
    await idle.checkNow();
    assert.equal(idle.stats.checks, 0);
    await idle.stop();
  });

  it('the daemon runs it every firewallCheckIntervalSeconds from start to stop, and counts it in stats()', async () => {
    const f = await knockFixtures();
    const firewall = new CheckedBackend([{ intact: true }, REPAIRED, { intact: true }]);
    const logger = recordingLogger();
    const server = createServer({ credentials: f.server, config: { listenAddress: '127.0.0.1', firewallCheckIntervalSeconds: 1 }, firewall, logger, listenPort: 0 });
    await server.start();
    try {
      await waitUntil(() => server.stats().firewall.repairs === 1, 5000);
      const repaired = logger.records.find((r) => r.fields['event'] === 'firewall-repaired');
      assert.equal(repaired?.level, 'warn');
      assert.equal(repaired?.fields['component'], 'firewall');
    } finally {
      await server.stop();
    }
    const { checks } = server.stats().firewall;
    assert.ok(checks >= 2);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    assert.equal(firewall.calls, checks, 'stopped with the server');
  });

  it('start() refuses with ERR_SKNOCK_FIREWALL_IN_USE when the back end does, and then tears nothing down', async () => {
    const f = await knockFixtures();
    let teardowns = 0;
    const firewall: FirewallBackend = {
      name: 'taken',
      setup: async (_setup: FirewallSetup) => {
        throw IN_USE;
      },
      open: async (_grant: Grant, _seconds: number) => undefined,
      close: async (_grant: Grant) => undefined,
      list: async () => [],
      teardown: async () => {
        teardowns += 1;
      },
    };
    const server = createServer({ credentials: f.server, config: { listenAddress: '127.0.0.1' }, firewall, logger: false, listenPort: 0 });
    await assert.rejects(server.start(), (err: unknown) => {
      assert.equal((err as { code?: string }).code, 'ERR_SKNOCK_FIREWALL_IN_USE');
      assert.match((err as Error).message, /another running sknock-server \(pid 1, knock port 62202\)/);
      return true;
    });
    assert.equal(teardowns, 0, "another instance's rules are never torn down");
    assert.equal(server.state, 'stopped');
  });
});
