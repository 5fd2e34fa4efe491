/**
 * A stand-in for `nft -i`, for the session's protocol tests without root: it reads lines as nft
 * does and answers the way nft does (nothing on success; an error, the echoed line and a caret
 * line on standard error on failure), with misbehaviour on request. Each line of input is one
 * batch; `include "<file>"` reads the batch from the file. A batch's commands (split at `; `
 * or newlines) may be:
 *
 * - `ok …` — succeeds;
 * - `fail …` — fails (the whole batch);
 * - `die` — the process exits with status 3 before answering;
 * - `hang` — the process stops reading and answering;
 * - `noise` — 1 MiB on standard output first.
 *
 * A marker line (`sknock_marker_…`) is refused as a syntax error, as nft does. Standard error is
 * written one byte at a time, so answers arrive in many pieces. Every line read, and the
 * environment's HOME and LC_ALL at the start, are appended to the file `$FAKE_NFT_LOG` when
 * set. With `FAKE_NFT_IGNORE_EOF=1` it keeps running after its input ends; with
 * `FAKE_NFT_CLOSE_FD3=1` its wrapper closes descriptor 3 (the session's scratch file) first.
 *
 * `writeFakeNft(dir)` makes an executable that runs this file with the current Node.
 */
import { appendFileSync, chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Writes `<dir>/fake-nft` (a shell script running this file) and returns its path. */
export function writeFakeNft(dir: string): string {
  const path = join(dir, 'fake-nft');
  writeFileSync(
    path,
    `#!/bin/sh\nif [ "$FAKE_NFT_CLOSE_FD3" = 1 ]; then exec 3>&-; fi\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(fileURLToPath(import.meta.url))} "$@"\n`,
  );
  chmodSync(path, 0o755);
  return path;
}

function log(text: string): void {
  const file = process.env['FAKE_NFT_LOG'];
  if (file) appendFileSync(file, text + '\n');
}

function writeErrorSlowly(text: string): void {
  for (const ch of text) process.stderr.write(ch);
}

function refuse(message: string, line: string): void {
  writeErrorSlowly(`Error: ${message}\n${line}\n${'^'.repeat(Math.max(1, Math.min(line.length, 40)))}\n`);
}

async function main(): Promise<void> {
  log(`start HOME=${process.env['HOME']} LC_ALL=${process.env['LC_ALL']} args=${process.argv.slice(2).join(' ')}`);
  if (process.env['FAKE_NFT_IGNORE_EOF'] === '1') setInterval(() => undefined, 60_000);
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    log(line);
    if (line.startsWith('sknock_marker_')) {
      refuse('syntax error, unexpected newline, expecting string', line);
      continue;
    }
    const include = /^include "([^"]+)"$/.exec(line);
    let batch = line;
    if (include) {
      try {
        batch = readFileSync(include[1] as string, 'utf8');
      } catch {
        refuse(`Could not open file "${include[1]}": No such file or directory`, line);
        continue;
      }
      log(`file: ${batch.trimEnd()}`);
    }
    const commands = batch.split(/; |\n/).filter((c) => c.trim() !== '');
    if (commands.includes('die')) process.exit(3);
    if (commands.includes('hang')) {
      lines.close();
      process.stdin.pause();
      setInterval(() => undefined, 60_000);
      return;
    }
    if (commands.includes('noise')) process.stdout.write('x'.repeat(1 << 20) + '\n');
    const bad = commands.find((c) => c.startsWith('fail'));
    if (bad !== undefined) refuse(`Could not process rule: No such file or directory (${bad})`, line);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
