import {usageError} from '../console/errors.js'

const PER: Record<string, number> = {s: 1, sec: 1, m: 1 / 60, min: 1 / 60, h: 1 / 3600}

/** "500/s", "30/m", "2/h", or a bare number (per second) → events per second. */
export function parseRate(text: string, flag: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(s|sec|m|min|h))?\s*$/i.exec(text)
  if (!match) throw usageError(`Invalid ${flag} "${text}": use e.g. 500/s or 30/m`)
  const rate = Number(match[1]) * PER[(match[2] ?? 's').toLowerCase()]
  if (!(rate > 0)) throw usageError(`${flag} must be above 0`)
  return rate
}

/** "10%" or "0.1" → 0.1 (a share, 0–1). */
export function parseShare(text: string, flag: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(%)?\s*$/.exec(text)
  if (!match) throw usageError(`Invalid ${flag} "${text}": use e.g. 10%`)
  const share = match[2] ? Number(match[1]) / 100 : Number(match[1])
  if (share < 0 || share > 1) throw usageError(`${flag} must be between 0% and 100%`)
  return share
}
