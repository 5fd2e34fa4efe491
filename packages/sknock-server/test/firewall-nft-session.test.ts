import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isSknockFirewallError, type SknockFirewallError } from '../src/firewall/errors.js';
import { inlineLine, NftSession } from '../src/firewall/nft-session.js';
import { writeFakeNft } from './support/fake-nft.js';
import { netns, type Topology } from './support/netns-harness.js';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until process `pid` is gone (reaped), at most `ms`. */
async function gone(pid: number | undefined, ms = 3000): Promise<boolean> {
  if (pid === undefined) return true;
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!existsSync(`/proc/${pid}`)) return true;
    await sleep(20);
  }
  return false;
}

describe('nft -i session protocol (a stand-in nft, no root needed)', () => {
  let dir = '';
  let fake = '';
  let logFile = '';
  const sessions: NftSession[] = [];
  const make = (options: ConstructorParameters<typeof NftSession>[0] = {}): NftSession => {
    const s = new NftSession({ nft: fake, scratchParent: dir, timeoutMs: 3000, ...options });
    sessions.push(s);
    return s;
  };
  const logged = (): string[] => (existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n') : []);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sknock-session-test-'));
    fake = writeFakeNft(dir);
    logFile = join(dir, 'fake.log');
    process.env['FAKE_NFT_LOG'] = logFile;
  });

  after(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    delete process.env['FAKE_NFT_LOG'];
    delete process.env['FAKE_NFT_IGNORE_EOF'];
    delete process.env['FAKE_NFT_CLOSE_FD3'];
    rmSync(dir, { recursive: true, force: true });
  });

  it('an error in a batch rejects only that batch, also when answers arrive byte by byte', async () => {
    const s = make();
    const results = await Promise.allSettled([s.run('ok a\n'), s.run('ok b\nfail b\n'), s.run('ok c\n'), s.run('fail d\n'), s.run('ok e\n')]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled'],
    );
    const second = (results[1] as PromiseRejectedResult).reason as SknockFirewallError;
    assert.ok(isSknockFirewallError(second, 'ERR_SKNOCK_FIREWALL_COMMAND'));
    assert.match(second.stderr ?? '', /No such file or directory \(fail b\)/);
    assert.doesNotMatch(second.stderr ?? '', /fail d|sknock_marker|syntax error/, 'only its own error, no marker text');
    assert.match(((results[3] as PromiseRejectedResult).reason as Error).message, /refused a batch: .*fail d/);
    assert.equal(s.spawned, 1, 'one process for every batch');
  });

  it('sends each batch as an include of /proc/self/fd/3, a scratch file with no name; or inline as one line', async () => {
    const scratchFiles = (): string[] => readdirSync(dir).filter((f) => f.startsWith('sknock-nft-'));
    const s = make();
    await s.run('ok x1\nok x2\n');
    assert.equal(s.transport, 'include');
    const lines = logged();
    assert.equal(lines.filter((l) => l.startsWith('include "')).at(-1), 'include "/proc/self/fd/3"');
    assert.ok(lines.join('\n').includes('file: ok x1\nok x2'), 'the file held the batch');
    await s.run('ok x3\n');
    assert.ok(logged().join('\n').includes('file: ok x3'), 'rewritten, not appended');
    assert.deepEqual(scratchFiles(), [], 'no name on disk');

    const inline = make({ transport: 'line' });
    await inline.run('ok y1\nok y2\n');
    assert.equal(inline.transport, 'line');
    assert.ok(logged().includes('ok y1; ok y2'));

    // No scratch file can be made: the batches go inline, still one transaction each.
    const fallback = make({ scratchParent: join(dir, 'no-such-dir') });
    await fallback.run('ok z1\nok z2\n');
    assert.equal(fallback.transport, 'line');
    assert.ok(logged().includes('ok z1; ok z2'));
    await assert.rejects(fallback.run('ok z3\nfail z4\n'), (e: unknown) => isSknockFirewallError(e, 'ERR_SKNOCK_FIREWALL_COMMAND'));
    assert.equal(inlineLine('a b\n\n  c d  \n'), 'a b; c d');
  });

  it('a process that cannot include its scratch file (descriptor 3 closed on the way) gets its batches inline', async () => {
    process.env['FAKE_NFT_CLOSE_FD3'] = '1';
    try {
      const s = make();
      await s.run('ok w1\nok w2\n');
      assert.equal(s.transport, 'line');
      assert.ok(logged().includes('ok w1; ok w2'));
      await assert.rejects(s.run('fail w3\n'), (e: unknown) => isSknockFirewallError(e, 'ERR_SKNOCK_FIREWALL_COMMAND') && /fail w3/.test(e.stderr ?? ''));
      assert.equal(s.spawned, 1);
    } finally {
      delete process.env['FAKE_NFT_CLOSE_FD3'];
    }
  });

  it('runs nft with HOME=/dev/null (no history file, no editrc) and LC_ALL=C', async () => {
    const s = make();
    await s.start();
    assert.ok(logged().some((l) => l === 'start HOME=/dev/null LC_ALL=C args=-i'));
  });

  it('drains standard output: 1 MiB of it does not block the session', async () => {
    const s = make();
    await s.run('noise\nok\n');
    await s.run('ok again\n');
    assert.equal(s.spawned, 1);
  });

  it('the process dying in a batch rejects that batch (COMMAND); the next batch starts a new one', async () => {
    const s = make();
    await s.run('ok\n');
    const first = s.pid;
    await assert.rejects(s.run('die\n'), (e: unknown) => isSknockFirewallError(e, 'ERR_SKNOCK_FIREWALL_COMMAND') && /exited with status 3/.test(e.message) && e.exitCode === 3);
    await s.run('ok after\n');
    assert.notEqual(s.pid, first);
    assert.equal(s.spawned, 2);
  });

  it('the process killed between batches: onExit hears of it, the next batch starts a new one', async () => {
    const exits: SknockFirewallError[] = [];
    const s = make({ onExit: (err) => exits.push(err) });
    await s.start();
    const pid = s.pid as number;
    process.kill(pid, 'SIGKILL');
    assert.ok(await gone(pid));
    await sleep(50);
    assert.equal(exits.length, 1);
    assert.match(exits[0]?.message ?? '', /killed by SIGKILL/);
    await s.run('ok\n');
    assert.equal(s.spawned, 2);
  });

  it('a process that does not answer in time is killed: TIMEOUT for that batch, the next one runs in a new process', async () => {
    const exits: SknockFirewallError[] = [];
    // 1 s: the stand-in is a Node process, which a loaded machine may take more than 300 ms to start.
    const s = make({ timeoutMs: 1000, onExit: (err) => exits.push(err) });
    await s.start();
    const pid = s.pid;
    const started = Date.now();
    await assert.rejects(s.run('hang\n'), (e: unknown) => isSknockFirewallError(e, 'ERR_SKNOCK_FIREWALL_TIMEOUT'));
    assert.ok(Date.now() - started >= 950 && Date.now() - started < 5000);
    assert.ok(await gone(pid), 'the hung process was killed');
    await s.run('ok\n');
    assert.equal(s.spawned, 2);
    assert.deepEqual(exits, [], 'a process the session killed itself is no news');
  });

  it('is replaced by a fresh process after maxBatches batches (nft keeps every line in its history)', async () => {
    const s = make({ maxBatches: 3 });
    await s.run('ok 1\n');
    const first = s.pid;
    await s.run('ok 2\n');
    await s.run('ok 3\n');
    assert.equal(s.spawned, 2, 'the replacement starts at once');
    assert.ok(await gone(first), 'the old process ended');
    await s.run('ok 4\n');
    assert.equal(s.spawned, 2);
  });

  it('close() ends the process; one that ignores end of input is killed', async () => {
    const s = make();
    await s.run('ok\n');
    const pid = s.pid;
    await s.close();
    assert.ok(await gone(pid, 500));
    assert.equal(s.pid, undefined);

    process.env['FAKE_NFT_IGNORE_EOF'] = '1';
    try {
      const stubborn = make();
      await stubborn.start();
      const stubbornPid = stubborn.pid;
      const t = Date.now();
      await stubborn.close();
      assert.ok(Date.now() - t >= 1500, 'it was given time to exit');
      assert.ok(await gone(stubbornPid, 1000), 'then killed');
    } finally {
      delete process.env['FAKE_NFT_IGNORE_EOF'];
    }
  });

  it('a missing program is ERR_SKNOCK_FIREWALL_UNAVAILABLE', async () => {
    const s = make({ nft: 'sknock-no-such-nft-xyz' });
    await assert.rejects(s.run('ok\n'), (e: unknown) => isSknockFirewallError(e, 'ERR_SKNOCK_FIREWALL_UNAVAILABLE'));
  });
});

const skip = await netns.netnsSkipReason({ tools: ['nft'] });

describe('nft -i session with the real nft in a network namespace', { skip }, () => {
  let topology: Topology | undefined;
  let ns = '';
  const nft = (args: string[], input?: string): string => {
    const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', ...args], { input, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`nft ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const elements = (): string => nft(['list', 'set', 'inet', 'sesstest', 's4']);

  before(async () => {
    topology = await netns.createTopology({ clients: 1, prefix: 'sksess', startAgents: false });
    ns = topology.server.name;
    nft(['-f', '-'], 'table inet sesstest {\n\tset s4 { type ipv4_addr . inet_proto . inet_service; flags timeout; }\n}\n');
  });

  after(async () => {
    await topology?.cleanup();
  });

  for (const transport of ['include', 'line'] as const) {
    it(`a batch is one transaction (${transport === 'include' ? 'an included file' : 'one line, commands joined by "; "'}): a failing command leaves nothing of it`, async () => {
      const scratchNames = (): string[] => readdirSync(tmpdir()).filter((f) => f.startsWith('sknock-nft-'));
      const namesBefore = new Set(scratchNames());
      const s = new NftSession({ netns: ns, transport });
      try {
        const add = (a: string, port: number | string): string => `add element inet sesstest s4 { ${a} . tcp . ${port} timeout 60s }`;
        // A kernel error (the element to delete does not exist) in the middle of the batch.
        await assert.rejects(
          s.run([add('192.0.2.1', 1), 'delete element inet sesstest s4 { 192.0.2.99 . tcp . 1 }', add('192.0.2.2', 1)].join('\n') + '\n'),
          (e: unknown) => isSknockFirewallError(e, 'ERR_SKNOCK_FIREWALL_COMMAND') && /No such file or directory/.test(e.stderr ?? ''),
        );
        // An error nft finds before the kernel sees anything.
        await assert.rejects(s.run([add('192.0.2.3', 1), add('192.0.2.4', 99999)].join('\n') + '\n'), (e: unknown) =>
          isSknockFirewallError(e, 'ERR_SKNOCK_FIREWALL_COMMAND') && /Service out of range/.test(e.stderr ?? ''),
        );
        assert.doesNotMatch(elements(), /192\.0\.2\.[1-4] /, 'nothing of the failed batches was applied');
        const pid = s.pid;
        await s.run([add('192.0.2.5', 2), add('192.0.2.6', 2)].join('\n') + '\n');
        assert.match(elements(), /192\.0\.2\.5 \. tcp \. 2/);
        assert.match(elements(), /192\.0\.2\.6 \. tcp \. 2/);
        assert.equal(s.pid, pid, 'the same process went on after the errors');
        assert.equal(s.spawned, 1);
        assert.equal(s.transport, transport, 'nft (through ip netns exec) includes /proc/self/fd/3, or takes the line');
        assert.deepEqual(
          scratchNames().filter((f) => !namesBefore.has(f)),
          [],
          'the scratch file has no name in the temporary directory',
        );
      } finally {
        await s.close();
        nft(['flush', 'set', 'inet', 'sesstest', 's4']);
      }
    });
  }

  it('writes no .nft.history (plain nft -i does, into $HOME)', async () => {
    const home = mkdtempSync(join(tmpdir(), 'sknock-home-'));
    const savedHome = process.env['HOME'];
    const rootHistory = existsSync('/.nft.history');
    try {
      // The control: nft -i with a real HOME writes its history there on exit.
      spawnSync('ip', ['netns', 'exec', ns, 'nft', '-i'], { input: 'list table inet sesstest\n', env: { ...process.env, HOME: home } });
      assert.ok(existsSync(join(home, '.nft.history')), 'control: nft -i writes ~/.nft.history');
      rmSync(join(home, '.nft.history'));

      process.env['HOME'] = home;
      const s = new NftSession({ netns: ns });
      await s.run('add element inet sesstest s4 { 192.0.2.7 . tcp . 3 timeout 60s }\n');
      await s.close();
      assert.deepEqual(readdirSync(home), [], 'nothing written to $HOME');
      assert.equal(existsSync('/.nft.history'), rootHistory, 'nor to /');
    } finally {
      if (savedHome === undefined) delete process.env['HOME'];
      else process.env['HOME'] = savedHome;
      rmSync(home, { recursive: true, force: true });
      nft(['flush', 'set', 'inet', 'sesstest', 's4']);
    }
  });

  it('list(): what nft printed, framed on standard output, also when it printed nothing; a refused listing rejects; batches go on between listings', async () => {
    const s = new NftSession({ netns: ns, flags: ['-t', '-a'] });
    try {
      const listed = await s.list('list ruleset');
      assert.match(listed, /^table inet sesstest \{ # handle \d+\n\tset s4 \{ # handle \d+\n/);
      assert.ok(listed.endsWith('}\n'), 'the frame line is not part of it');
      await s.run('add element inet sesstest s4 { 192.0.2.10 . tcp . 4 timeout 60s }\n');
      assert.equal(await s.list('list ruleset'), listed, 'terse: set elements are not listed');
      await assert.rejects(s.list('list table inet nosuchtable'), (e: unknown) => isSknockFirewallError(e, 'ERR_SKNOCK_FIREWALL_COMMAND') && /No such file or directory/.test(e.stderr ?? ''));
    } finally {
      await s.close();
    }
    const empty = new NftSession({ netns: ns, flags: ['-t'] });
    const saved = nft(['list', 'ruleset']);
    try {
      nft(['flush', 'ruleset']);
      const t = performance.now();
      assert.equal(await empty.list('list ruleset'), '', 'an empty ruleset lists as nothing');
      assert.ok(performance.now() - t < 2000, 'at once, not at the timeout');
    } finally {
      await empty.close();
      nft(['-f', '-'], saved);
    }
  });

  it('a network namespace that does not exist is ERR_SKNOCK_FIREWALL_UNAVAILABLE', async () => {
    const s = new NftSession({ netns: `${ns}-missing` });
    await assert.rejects(s.start(), (e: unknown) => isSknockFirewallError(e, 'ERR_SKNOCK_FIREWALL_UNAVAILABLE') && /Cannot open network namespace/.test(e.message));
    await s.close();
  });

  it('a stopped nft is killed after the timeout; the next batch runs in a new process', async () => {
    const s = new NftSession({ netns: ns, timeoutMs: 400 });
    try {
      await s.start();
      const pid = s.pid as number;
      process.kill(pid, 'SIGSTOP');
      await assert.rejects(s.run('add element inet sesstest s4 { 192.0.2.8 . tcp . 4 timeout 60s }\n'), (e: unknown) => isSknockFirewallError(e, 'ERR_SKNOCK_FIREWALL_TIMEOUT'));
      assert.ok(await gone(pid), 'killed');
      await s.run('add element inet sesstest s4 { 192.0.2.9 . tcp . 4 timeout 60s }\n');
      assert.match(elements(), /192\.0\.2\.9 \. tcp \. 4/);
      assert.equal(s.spawned, 2);
    } finally {
      await s.close();
      nft(['flush', 'set', 'inet', 'sesstest', 's4']);
    }
  });
});
