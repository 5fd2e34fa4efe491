/** "did you mean …?" for a misspelt key: edit distance, or one name a prefix of the other. */

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] as number;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      prev[j] = Math.min(up + 1, (prev[j - 1] as number) + 1, diag + cost);
      diag = up;
    }
  }
  return prev[b.length] as number;
}

/** The closest of `candidates` to `name` (case-insensitive), or undefined when none is close. */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  const n = name.toLowerCase().replace(/[-_\s]/g, '');
  let best: string | undefined;
  let bestScore = Infinity;
  for (const candidate of candidates) {
    const c = candidate.toLowerCase().replace(/[-_\s]/g, '');
    let score = editDistance(n, c);
    if (n.length >= 4 && (c.startsWith(n) || n.startsWith(c) || c.includes(n))) score = Math.min(score, 1);
    if (score < bestScore) {
      bestScore = score;
      best = candidate;
    }
  }
  return bestScore <= Math.max(2, Math.floor(n.length / 4)) ? best : undefined;
}
