import { closeSync, openSync } from 'node:fs';
import { ReadStream, WriteStream } from 'node:tty';

/**
 * The one passphrase prompt of the sKnock commands (`sknock`, `sknock-ca`): one line read
 * from a terminal without echo. Raw mode is switched on before the prompt is written, so
 * nothing typed after the prompt appears (the echo bug both commands once had); Backspace
 * removes the last character (a whole code point), other control characters are ignored.
 * The caller decides what Ctrl-C and Ctrl-D mean.
 */

/** How the line ended: Enter, Ctrl-D (end of input) or Ctrl-C (interrupt). */
export type PromptEnd = 'enter' | 'eof' | 'interrupt';

export interface HiddenLine {
  /** What was typed before the end. */
  readonly text: string;
  readonly end: PromptEnd;
}

/** A terminal to ask on: the reading side must be able to switch raw mode. */
export interface PromptTerminal {
  readonly input: NodeJS.ReadStream | ReadStream;
  readonly output: NodeJS.WritableStream;
}

/** True when `input` is a terminal that can be read without echo. */
export function canPrompt(input: { readonly isTTY?: boolean; readonly setRawMode?: unknown }): boolean {
  return input.isTTY === true && typeof input.setRawMode === 'function';
}

/** Reads one line on `terminal` without echo; leaves the terminal as it found it (cooked, paused). */
export function readHiddenLine(terminal: PromptTerminal, prompt: string): Promise<HiddenLine> {
  const { input, output } = terminal;
  return new Promise((resolve, reject) => {
    let text = '';
    input.setRawMode(true); // before the prompt: whatever is typed after it is not echoed
    output.write(prompt);
    const finish = (result: HiddenLine | undefined, error?: unknown): void => {
      input.removeListener('data', onData);
      input.removeListener('error', onError);
      input.setRawMode(false);
      input.pause();
      output.write('\n');
      if (result === undefined) reject(error);
      else resolve(result);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const ch of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish({ text, end: 'enter' });
        if (ch === '\u0004') return finish({ text, end: 'eof' });
        if (ch === '\u0003') return finish({ text, end: 'interrupt' });
        if (ch === '\u007f' || ch === '\b') text = [...text].slice(0, -1).join('');
        else if (ch >= ' ') text += ch;
      }
    };
    const onError = (error: unknown): void => finish(undefined, error);
    input.on('data', onData);
    input.on('error', onError);
    input.resume();
  });
}

/**
 * Asks on the controlling terminal (`/dev/tty`), so that a command can prompt while its
 * standard input carries data; `undefined` when there is none. The terminal is opened for
 * this one line and closed again. (The stream is paused before it is destroyed: Bun 1.4
 * keeps reading a `tty.ReadStream` destroyed while flowing, and the process never exits.)
 */
export async function promptOnControllingTerminal(prompt: string): Promise<HiddenLine | undefined> {
  let inFd: number;
  let outFd: number;
  try {
    inFd = openSync('/dev/tty', 'r');
  } catch {
    return undefined;
  }
  try {
    outFd = openSync('/dev/tty', 'w');
  } catch {
    closeSync(inFd);
    return undefined;
  }
  const input = new ReadStream(inFd);
  const output = new WriteStream(outFd);
  try {
    return await readHiddenLine({ input, output }, prompt);
  } finally {
    input.pause();
    input.destroy();
    output.destroy();
  }
}
