import {usageError} from '../console/errors.js'

/** A semantic version (semver 2.0.0): MAJOR.MINOR.PATCH[-prerelease][+build]. */
export interface SemVer {
  major: number
  minor: number
  patch: number
  prerelease: string[]
  text: string
}

const SEMVER = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/

export function parseSemver(text: string, what = 'version'): SemVer {
  const m = SEMVER.exec(text.trim())
  if (!m) throw usageError(`Invalid ${what} "${text}": use semantic versioning, e.g. 1.2.0 or 1.3.0-rc.1`)
  return {major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), prerelease: m[4] ? m[4].split('.') : [], text: text.trim().replace(/^v/, '')}
}

export function isSemver(text: string): boolean {
  return SEMVER.test(text.trim())
}

/** semver precedence: -1, 0, 1 (build metadata ignored; a pre-release sorts before its release). */
export function compareSemver(a: string | SemVer, b: string | SemVer): number {
  const x = typeof a === 'string' ? parseSemver(a) : a
  const y = typeof b === 'string' ? parseSemver(b) : b
  for (const key of ['major', 'minor', 'patch'] as const) if (x[key] !== y[key]) return x[key] < y[key] ? -1 : 1
  if (x.prerelease.length === 0 || y.prerelease.length === 0) return x.prerelease.length === y.prerelease.length ? 0 : x.prerelease.length === 0 ? 1 : -1
  for (let i = 0; i < Math.max(x.prerelease.length, y.prerelease.length); i++) {
    const p = x.prerelease[i]
    const q = y.prerelease[i]
    if (p === undefined) return -1
    if (q === undefined) return 1
    if (p === q) continue
    const pn = /^\d+$/.test(p)
    const qn = /^\d+$/.test(q)
    if (pn && qn) return Number(p) < Number(q) ? -1 : 1
    if (pn !== qn) return pn ? -1 : 1
    return p < q ? -1 : 1
  }
  return 0
}
