import { realpathSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { groupName, userName } from './account-names.js';

/**
 * Are files that hold secrets (the server's PKCS#12 file, its password file, a config file
 * with the password inline, the CA key) open to other users? The rule, as PostgreSQL has it
 * for its server key, plus sshd's look at the folders:
 *
 * - no permission for others (`o` bits), and no group write;
 * - group read only when root owns the file (the `root:sknock 0640` layout: root owns it,
 *   the service's group may read it); a file owned by anyone else is read by its owner, so
 *   it is `0600`;
 * - when the check runs as a user other than root (the daemon under its unit, or
 *   `check-config` run as the service's user, as ExecStartPre does), the file is also owned
 *   by root or by that user, and the group that may read it is one of that user's groups.
 *   Run as root, the check cannot know which user the service runs as and skips these two;
 * - no folder on the way to it is writable by every user without the sticky bit (anyone
 *   could replace the file).
 *
 * A file that breaks the rule is still used: the daemon and `check-config` warn, naming the
 * file, its mode and owner, and the command that fixes it.
 */

/** Who reads the file: the user the check runs as (undefined when that is root). */
export interface FileReader {
  readonly uid: number;
  readonly name: string;
  /** Its primary and supplementary groups. */
  readonly gids: readonly number[];
  readonly groupName: string;
}

export interface SecretFileFinding {
  readonly file: string;
  /** `0644` */
  readonly mode: string;
  readonly owner: string;
  readonly group: string;
  /** What is wrong, each a phrase: `readable by every user`. */
  readonly problems: readonly string[];
  /** Shell commands that fix it, joined with `&&`. */
  readonly fix: string;
}

/** The user this process runs as, or undefined for root (see above). */
export function currentReader(): FileReader | undefined {
  if (typeof process.geteuid !== 'function' || process.geteuid() === 0) return undefined;
  const uid = process.geteuid();
  const gid = process.getegid?.() ?? -1;
  return { uid, name: userName(uid), gids: [gid, ...(process.getgroups?.() ?? [])], groupName: groupName(gid) };
}

const octal = (mode: number): string => `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;

function shellWord(text: string): string {
  return /^[A-Za-z0-9_./:@%+-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Folders on the way to `file` that every user may write to and that lack the sticky bit. */
function openFolders(file: string): string[] {
  const paths = new Set<string>([file]);
  try {
    paths.add(realpathSync(file));
  } catch {
    // unreadable: the file check says so
  }
  const found = new Set<string>();
  for (const path of paths) {
    for (let dir = dirname(path); ; dir = dirname(dir)) {
      try {
        const s = statSync(dir);
        if ((s.mode & 0o002) !== 0 && (s.mode & 0o1000) === 0) found.add(dir);
      } catch {
        // a folder we cannot stat: nothing to say here
      }
      if (dirname(dir) === dir) break;
    }
  }
  return [...found];
}

/** What is wrong with `file` (undefined: nothing, or it cannot be stat'ed; that is reported elsewhere). */
export function inspectSecretFile(file: string, reader: FileReader | undefined = currentReader()): SecretFileFinding | undefined {
  let s: Stats;
  try {
    s = statSync(file);
  } catch {
    return undefined;
  }
  const problems: string[] = [];
  const fix: string[] = [];
  const group = groupName(s.gid);
  const foreignOwner = reader !== undefined && s.uid !== 0 && s.uid !== reader.uid;
  if (foreignOwner) {
    problems.push(`owned by ${userName(s.uid)}, who is neither root nor ${reader.name} (the user reading it)`);
    fix.push(`chown ${shellWord(reader.name)} ${shellWord(file)}`);
  }
  const rootOwned = s.uid === 0 && !foreignOwner;
  if ((s.mode & 0o004) !== 0) problems.push('readable by every user');
  if ((s.mode & 0o002) !== 0) problems.push('writable by every user');
  if ((s.mode & 0o020) !== 0) problems.push(`writable by group ${group}`);
  let groupMayRead = false;
  if ((s.mode & 0o040) !== 0) {
    if (!rootOwned) problems.push(`readable by group ${group} (only its owner needs to read it)`);
    else if (reader !== undefined && !reader.gids.includes(s.gid)) {
      problems.push(`readable by group ${group}, which ${reader.name} is not in`);
      fix.push(`chgrp ${shellWord(reader.groupName)} ${shellWord(file)}`);
      groupMayRead = true;
    } else groupMayRead = true;
  }
  const allowed = groupMayRead ? 0o040 : 0;
  if ((s.mode & 0o077 & ~allowed) !== 0) fix.push(`chmod ${groupMayRead ? '640' : '600'} ${shellWord(file)}`);
  for (const dir of openFolders(file)) {
    problems.push(`in the folder ${dir}, which every user may write to (mode ${octal(statSync(dir).mode)}), so anyone can replace it`);
    fix.push(`chmod o-w ${shellWord(dir)}`);
  }
  if (problems.length === 0) return undefined;
  return { file, mode: octal(s.mode), owner: userName(s.uid), group, problems, fix: fix.join(' && ') };
}

/** One sentence: `serverPFXFile /etc/sknock/server.pfx (mode 0644, owner root, group root) holds a secret and is …: run …`. */
export function describeSecretFile(what: string, finding: SecretFileFinding): string {
  return (
    `${what} ${finding.file} (mode ${finding.mode}, owner ${finding.owner}, group ${finding.group}) holds a secret and is ` +
    `${finding.problems.join('; ')}: run ${finding.fix}`
  );
}
