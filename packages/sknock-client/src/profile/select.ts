import type { ProfileFile, ProfileSection } from './profile-file.js';

/**
 * Which section applies. Exactly one section applies to a call, never a blend of several:
 *
 * - by host (`profile: true`, the `sknock` commands without `--profile`): the section whose
 *   name is the host as given (case-insensitive; an IPv6 host without brackets) wins; else,
 *   of the sections whose `*` pattern matches the host, the one with the most characters
 *   that are not `*` (the most specific: `*.db.example.com` before `*.example.com` before
 *   `*`); of two equally specific, the first in the file. `*` matches any run of characters,
 *   dots included, so `*.example.com` matches `a.b.example.com` but not `example.com`.
 * - by name (`profile: 'name'`, `sknock … --profile name`): the section called exactly that
 *   (case-insensitive), wildcards not expanded. So a section can be a host, a pattern, or a
 *   name that is no host at all, such as `[work]`.
 */

export type ProfileSelector = { readonly host: string } | { readonly name: string };

/** `*` glob match, case already folded: the greedy algorithm with one backtrack point, O(n·m). */
function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

export function selectSection(file: ProfileFile, selector: ProfileSelector): ProfileSection | undefined {
  if ('name' in selector) {
    const wanted = selector.name.toLowerCase();
    return file.sections.find((s) => s.name.toLowerCase() === wanted);
  }
  const host = selector.host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  const exact = file.sections.find((s) => !s.name.includes('*') && s.name.toLowerCase() === host);
  if (exact !== undefined) return exact;
  let best: ProfileSection | undefined;
  let bestLiteral = -1;
  for (const s of file.sections) {
    if (!s.name.includes('*') || !globMatch(s.name.toLowerCase(), host)) continue;
    const literal = s.name.replace(/\*/g, '').length;
    if (literal > bestLiteral) {
      best = s;
      bestLiteral = literal;
    }
  }
  return best;
}
