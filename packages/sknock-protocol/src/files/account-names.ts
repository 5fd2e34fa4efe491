import { readFileSync } from 'node:fs';

/**
 * User and group names for messages, from /etc/passwd and /etc/group (read once). An id
 * with no entry, or a system without those files, is shown as `uid N` / `gid N`.
 */

function table(file: string): Map<number, string> {
  const names = new Map<number, string>();
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return names;
  }
  for (const line of text.split('\n')) {
    const [name, , id] = line.split(':');
    if (name !== undefined && name !== '' && id !== undefined && /^[0-9]+$/.test(id) && !names.has(Number(id))) names.set(Number(id), name);
  }
  return names;
}

let users: Map<number, string> | undefined;
let groups: Map<number, string> | undefined;

export function userName(uid: number): string {
  users ??= table('/etc/passwd');
  return users.get(uid) ?? `uid ${uid}`;
}

export function groupName(gid: number): string {
  groups ??= table('/etc/group');
  return groups.get(gid) ?? `gid ${gid}`;
}
