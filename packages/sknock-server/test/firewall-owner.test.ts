import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import {
  claimInstance,
  formatOwnerMark,
  newInstanceId,
  ownMark,
  ownerState,
  parseOwnerMark,
  processStartTime,
  releaseInstance,
} from '../src/firewall/owner.js';

describe('firewall owner marks (no root needed)', () => {
  it('a mark names pid, process start time, pid namespace, instance and knock port, and reads back', () => {
    const id = newInstanceId();
    assert.match(id, /^[0-9a-f]{16}$/);
    const mark = ownMark(id, 62201);
    assert.equal(mark.pid, process.pid);
    assert.equal(mark.start, processStartTime('self'));
    const text = formatOwnerMark(mark);
    assert.match(text, new RegExp(`^sknock-server pid=${process.pid} start=\\d+ pidns=\\d+ id=${id} port=62201$`));
    assert.ok(text.length <= 127, 'fits an nftables table comment (128 bytes)');
    assert.deepEqual(parseOwnerMark(text), mark);
    for (const other of ['', 'x', 'sknock-server pid=1', `${text} extra`, text.replace('port=62201', 'port=622011')]) {
      assert.equal(parseOwnerMark(other), undefined, JSON.stringify(other));
    }
  });

  it('who is alive: this instance; another instance of this process until its teardown; another process while it runs; never a reused pid', async () => {
    const self = newInstanceId();
    assert.equal(ownerState(ownMark(self, 1), self), 'self');
    const sibling = newInstanceId();
    const siblingMark = ownMark(sibling, 2);
    assert.equal(ownerState(siblingMark, self), 'dead', 'never set up (or torn down)');
    claimInstance(sibling);
    assert.equal(ownerState(siblingMark, self), 'alive');
    releaseInstance(sibling);
    assert.equal(ownerState(siblingMark, self), 'dead');

    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const pid = child.pid as number;
      const start = processStartTime(pid);
      assert.ok(start !== undefined);
      const theirs = { ...ownMark(newInstanceId(), 3), pid, start };
      assert.equal(ownerState(theirs, self), 'alive');
      assert.equal(ownerState({ ...theirs, start: String(Number(start) + 1) }, self), 'dead', 'the same pid with another start time is another process');
      child.kill('SIGKILL');
      await once(child, 'exit');
      assert.equal(ownerState(theirs, self), 'dead');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('an owner in another pid namespace cannot be looked up, so it counts as alive', () => {
    const mark = ownMark(newInstanceId(), 4);
    assert.equal(ownerState({ ...mark, pidns: String(Number(mark.pidns) + 1) }, newInstanceId()), 'unknown');
    assert.equal(ownerState({ ...mark, pidns: '?' }, newInstanceId()), 'unknown');
  });
});
