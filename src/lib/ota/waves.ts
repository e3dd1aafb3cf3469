import {usageError} from '../console/errors.js'

/**
 * "1,10%,50%,100%" → cumulative device counts per wave for a fleet of `total`: 1, 10 %, 50 %,
 * then everyone. Counts round up; waves that add nobody are dropped; the last wave always
 * reaches the whole selection.
 */
export function planWaves(spec: string, total: number): number[] {
  const steps = spec.split(',').map((s) => s.trim()).filter(Boolean)
  if (steps.length === 0) throw usageError('--waves is empty', ['e.g. --waves 1,10%,50%,100%'])
  const counts: number[] = []
  const last = {count: 0, share: 0}
  for (const step of steps) {
    const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(step)
    if (!m) throw usageError(`Invalid wave "${step}" in --waves`, ['Each wave is a device count (5) or a share of the selection (10%), e.g. --waves 1,10%,50%,100%'])
    const value = Number(m[1])
    if (m[2] && (value <= 0 || value > 100)) throw usageError(`Wave ${step} must be above 0% and at most 100%`)
    if (!m[2] && (!Number.isInteger(value) || value < 1)) throw usageError(`Wave ${step} must be a whole number of devices (at least 1)`)
    const kind = m[2] ? 'share' : 'count'
    if (value < last[kind]) throw usageError(`--waves must grow: ${step} is smaller than a wave before it`)
    last[kind] = value
    const count = Math.min(total, m[2] ? Math.ceil((total * value) / 100) : value)
    if (count > (counts.at(-1) ?? 0)) counts.push(count)
  }
  if ((counts.at(-1) ?? 0) < total) counts.push(total)
  return counts
}

/** --max-failures "3" (devices) or "5%" (of the devices sent a job so far). */
export interface FailureBudget {
  count?: number
  share?: number
}

export function parseFailureBudget(text: string): FailureBudget {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text.trim())
  if (!m) throw usageError(`Invalid --max-failures "${text}"`, ['A device count (3) or a share (5%)'])
  if (m[2]) {
    const share = Number(m[1]) / 100
    if (share > 1) throw usageError('--max-failures cannot be above 100%')
    return {share}
  }
  if (!Number.isInteger(Number(m[1]))) throw usageError('--max-failures as a count must be a whole number')
  return {count: Number(m[1])}
}

/** Whether `failed` of `attempted` is over the budget. */
export function overBudget(budget: FailureBudget, failed: number, attempted: number): boolean {
  if (budget.count !== undefined) return failed > budget.count
  if (budget.share !== undefined) return attempted > 0 && failed / attempted > budget.share
  return false
}

export function describeBudget(budget: FailureBudget): string {
  return budget.count !== undefined ? `${budget.count} device${budget.count === 1 ? '' : 's'}` : `${Math.round((budget.share ?? 0) * 1000) / 10}%`
}
