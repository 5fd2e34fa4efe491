import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { canPrompt, readHiddenLine, type PromptTerminal } from '../src/cli/index.js';

/**
 * The commands' one passphrase prompt, on a stand-in terminal that records what happens in
 * which order: raw mode (no echo) must be on before the prompt is written, off afterwards.
 * The real terminal (a pseudo-terminal, on Node and Bun) is in
 * packages/sknock-client/test/cli-prompt-tty.test.ts.
 */

function terminal(): { terminal: PromptTerminal; events: string[]; input: PassThrough } {
  const events: string[] = [];
  const input = new PassThrough() as PassThrough & { setRawMode(on: boolean): void; isTTY: boolean };
  input.isTTY = true;
  input.setRawMode = (on: boolean) => void events.push(`raw ${on}`);
  const output = new PassThrough();
  output.on('data', (d: Buffer) => events.push(`write ${JSON.stringify(d.toString())}`));
  return { terminal: { input: input as unknown as NodeJS.ReadStream, output }, events, input };
}

describe('readHiddenLine', () => {
  it('raw mode before the prompt, the line on Enter, then cooked and paused again', async () => {
    const t = terminal();
    const line = readHiddenLine(t.terminal, 'Passphrase: ');
    t.input.write('sec');
    t.input.write('ret\rafter');
    assert.deepEqual(await line, { text: 'secret', end: 'enter' });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(t.events, ['raw true', 'write "Passphrase: "', 'raw false', 'write "\\n"']);
    assert.equal(t.input.isPaused(), true);
    assert.equal(t.input.listenerCount('data'), 0);
  });

  it('Backspace removes a whole character; control characters are ignored', async () => {
    const t = terminal();
    const line = readHiddenLine(t.terminal, '> ');
    t.input.write('ab\u{1F511}\u007f\u007fc\td\be\n');
    assert.deepEqual(await line, { text: 'ace', end: 'enter' });
  });

  it('Ctrl-D and Ctrl-C end the line and say which', async () => {
    const d = terminal();
    const eof = readHiddenLine(d.terminal, '> ');
    d.input.write('typed\u0004more');
    assert.deepEqual(await eof, { text: 'typed', end: 'eof' });
    const c = terminal();
    const interrupt = readHiddenLine(c.terminal, '> ');
    c.input.write('x\u0003');
    assert.deepEqual(await interrupt, { text: 'x', end: 'interrupt' });
    assert.deepEqual(c.events.at(-2), 'raw false');
  });

  it('a read error rejects, with the terminal back in cooked mode', async () => {
    const t = terminal();
    const line = readHiddenLine(t.terminal, '> ');
    t.input.emit('error', new Error('EIO'));
    await assert.rejects(line, /EIO/);
    assert.ok(t.events.includes('raw false'));
  });

  it('canPrompt: only a terminal that can switch raw mode', () => {
    assert.equal(canPrompt({ isTTY: true, setRawMode: () => undefined }), true);
    assert.equal(canPrompt({ isTTY: false, setRawMode: () => undefined }), false);
    assert.equal(canPrompt({ isTTY: true }), false);
    assert.equal(canPrompt({}), false);
  });
});
