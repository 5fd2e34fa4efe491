import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSknockFirewallError } from '../src/firewall/errors.js';
import { NftablesBackend } from '../src/firewall/nftables.js';
import { commandLine, runCommand } from '../src/firewall/run-command.js';
import { SerialBatcher } from '../src/firewall/serial-batcher.js';

const sh = (script: string): [string, string[]] => ['sh', ['-c', script]];

describe('runCommand', () => {
  it('feeds stdin and collects stdout and stderr', async () => {
    const r = await runCommand(...sh('cat; echo note >&2'), { input: 'hello\n' });
    assert.equal(r.stdout, 'hello\n');
    assert.equal(r.stderr, 'note');
  });

  it('a failing command gives ERR_SKNOCK_FIREWALL_COMMAND with its stderr and status', async () => {
    await assert.rejects(runCommand(...sh('echo "Error: syntax error" >&2; exit 3')), (e: unknown) => {
      assert.ok(isSknockFirewallError(e, 'ERR_SKNOCK_FIREWALL_COMMAND'));
      assert.equal(e.stderr, 'Error: syntax error');
      assert.equal(e.exitCode, 3);
      assert.match(e.message, /exited with status 3: Error: syntax error/);
      assert.match(e.command ?? '', /^sh -c/);
      return true;
    });
  });

  it('a missing program, or no permission, is ERR_SKNOCK_FIREWALL_UNAVAILABLE', async () => {
    await assert.rejects(runCommand('sknock-no-such-tool-xyz', []), (e: unknown) => isSknockFirewallError(e, 'ERR_SKNOCK_FIREWALL_UNAVAILABLE') && /not found/.test(e.message));
    await assert.rejects(runCommand(...sh('echo "Operation not permitted (you must be root)" >&2; exit 1')), (e: unknown) => isSknockFirewallError(e, 'ERR_SKNOCK_FIREWALL_UNAVAILABLE'));
  });

  it('kills a command that runs too long: ERR_SKNOCK_FIREWALL_TIMEOUT', async () => {
    const started = Date.now();
    await assert.rejects(runCommand('sleep', ['5'], { timeoutMs: 150 }), (e: unknown) => isSknockFirewallError(e, 'ERR_SKNOCK_FIREWALL_TIMEOUT'));
    assert.ok(Date.now() - started < 2000);
  });

  it('a command that ignores its input still reports its own status', async () => {
    const big = 'x'.repeat(1 << 20);
    await runCommand('true', [], { input: big });
    await assert.rejects(runCommand('false', [], { input: big }), (e: unknown) => isSknockFirewallError(e, 'ERR_SKNOCK_FIREWALL_COMMAND'));
  });

  it('runs inside a namespace through ip netns exec', () => {
    assert.deepEqual(commandLine('nft', ['-f', '-'], 'ns1'), ['ip', 'netns', 'exec', 'ns1', 'nft', '-f', '-']);
    assert.deepEqual(commandLine('nft', ['-f', '-']), ['nft', '-f', '-']);
  });
});

describe('SerialBatcher', () => {
  it('coalesces everything pushed while a batch runs into the next batch', async () => {
    const batches: number[][] = [];
    let started: () => void = () => undefined;
    const firstStarted = new Promise<void>((r) => (started = r));
    const b = new SerialBatcher<number>(async (ops) => {
      batches.push(ops);
      started();
      await new Promise((r) => setTimeout(r, 20));
    }, 1000);
    const first = Array.from({ length: 10 }, (_, i) => b.push(i));
    await firstStarted; // the first batch is running now
    const second = Array.from({ length: 50 }, (_, i) => b.push(100 + i));
    await Promise.all([...first, ...second]);
    assert.deepEqual(batches.map((x) => x.length), [10, 50]);
  });

  it('splits at maxBatch, runs exclusive tasks alone and in order', async () => {
    const log: string[] = [];
    const b = new SerialBatcher<number>(async (ops) => {
      log.push(`batch ${ops.join(',')}`);
    }, 2);
    const all = [b.push(1), b.push(2), b.push(3), b.exclusive(async () => void log.push('task')), b.push(4)];
    await Promise.all(all);
    assert.deepEqual(log, ['batch 1,2', 'batch 3', 'task', 'batch 4']);
    await b.idle();
  });

  it('rejects the ops of a failed batch, or only the ops the outcome names', async () => {
    let round = 0;
    const b = new SerialBatcher<string>(async (ops) => {
      round++;
      if (round === 1) throw new Error('whole batch');
      return ops.map((op) => (op === 'bad' ? new Error('bad op') : undefined));
    }, 100);
    const r1 = await Promise.allSettled([b.push('a'), b.push('b')]);
    assert.deepEqual(r1.map((r) => r.status), ['rejected', 'rejected']);
    const r2 = await Promise.allSettled([b.push('c'), b.push('bad'), b.push('d')]);
    assert.deepEqual(r2.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  });
});

describe('nftables back end without a kernel', () => {
  it('reports a missing nft as ERR_SKNOCK_FIREWALL_UNAVAILABLE and refuses grants before setup', async () => {
    const b = new NftablesBackend({ nftCommand: 'sknock-no-such-nft' });
    await assert.rejects(b.setup({ policy: 'none', emergencyAccessPorts: [], knockPort: 62201, anyPortKnocks: false, minKnockDatagramLength: 700 }), (e: unknown) =>
      isSknockFirewallError(e, 'ERR_SKNOCK_FIREWALL_UNAVAILABLE'),
    );
    await assert.rejects(b.open({ address: '192.0.2.1', family: 4, protocol: 'tcp', port: 1 }, 1), (e: unknown) => isSknockFirewallError(e, 'ERR_SKNOCK_FIREWALL_STATE'));
  });

  it('checks its session options', () => {
    assert.throws(() => new NftablesBackend({ session: 'yes' as unknown as boolean }), (e: unknown) => isSknockFirewallError(e, 'ERR_SKNOCK_INVALID_ARGUMENT') && /options\.session/.test(e.message));
    assert.throws(() => new NftablesBackend({ onError: 1 as unknown as () => void }), (e: unknown) => isSknockFirewallError(e, 'ERR_SKNOCK_INVALID_ARGUMENT') && /options\.onError/.test(e.message));
    assert.equal(new NftablesBackend({ session: false }).sessionActive, false);
  });

  it('a namespace that does not exist is ERR_SKNOCK_FIREWALL_UNAVAILABLE', async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('needs root to run ip netns exec');
      return;
    }
    const b = new NftablesBackend({ netns: `sknock-missing-${process.pid}` });
    await assert.rejects(b.teardown(), (e: unknown) => isSknockFirewallError(e, 'ERR_SKNOCK_FIREWALL_UNAVAILABLE'));
  });
});
