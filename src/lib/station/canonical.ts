import {sha256Hex} from '../templates/hash.js'

/**
 * JSON with object keys sorted at every level and no whitespace: the same value always gives the same
 * bytes, so a hash over it survives re-serialisation (a record read back and written again by another store).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
}

/** sha256 of the canonical JSON of `value` without its own `hash` field */
export function contentHash(value: Record<string, unknown>): string {
  const {hash: _hash, ...rest} = value
  return sha256Hex(canonicalJson(rest))
}
