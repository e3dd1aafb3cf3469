/** Edit distance (insert, delete, substitute), for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({length: b.length + 1}, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    previous = current
  }
  return previous[b.length]
}

/** Up to `limit` candidates close to `wanted` (within a quarter of its length, at least 2), nearest first. */
export function closestWords(wanted: string, candidates: string[], limit: number): string[] {
  const bound = Math.max(2, Math.floor(wanted.length / 4))
  return candidates
    .map((candidate) => ({candidate, distance: editDistance(wanted, candidate)}))
    .filter((c) => c.distance <= bound)
    .sort((a, b) => a.distance - b.distance || a.candidate.localeCompare(b.candidate))
    .slice(0, limit)
    .map((c) => c.candidate)
}
