import {usageError} from './errors.js'

const UNITS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000}

/**
 * A duration flag → milliseconds: "250ms", "10s", "1.5m", "2h"; a bare number is seconds.
 * Rejects negatives, zero (unless allowed) and unknown units with a usage error naming the flag.
 */
export function parseDuration(text: string, flag = 'duration', options: {allowZero?: boolean} = {}): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(text)
  if (!match) throw usageError(`Invalid ${flag} "${text}": use e.g. 500ms, 10s, 5m or 1h`)
  const ms = Math.round(Number(match[1]) * UNITS[(match[2] ?? 's').toLowerCase()]!)
  if (ms === 0 && !options.allowZero) throw usageError(`${flag} must be longer than 0`)
  return ms
}
