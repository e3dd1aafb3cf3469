import {usageError} from '../console/errors.js'
import type {DecodedMessage, FieldLayout, Qos} from './types.js'

/** A value as JSON text, without building an object first (the encoders' hot path). */
export function jsonValue(value: unknown): string {
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null'
    case 'boolean':
      return value ? 'true' : 'false'
    case 'string':
      return JSON.stringify(value)
    case 'undefined':
      return 'null'
    default:
      return JSON.stringify(value) ?? 'null'
  }
}

/** Parse a JSON object payload, or describe why it is not one. */
export function parseObject(payload: Buffer): {value?: Record<string, unknown>; error?: string} {
  let value: unknown
  try {
    value = JSON.parse(payload.toString('utf8'))
  } catch {
    return {error: 'not JSON'}
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {error: 'JSON, but not an object'}
  return {value: value as Record<string, unknown>}
}

export const undecodable = (kind: DecodedMessage['kind'], id: string | undefined, error: string): DecodedMessage => ({kind, device: id, error})

/** QoS passes through unchanged (schemes without rules of their own). */
export const anyQos = (requested: Qos): Qos => requested

export function noQos2(scheme: string) {
  return (requested: Qos): Qos => {
    if (requested === 2) throw usageError(`The ${scheme} scheme supports QoS 0 and 1 only (AWS IoT Core has no QoS 2)`, ['Use --qos 1'])
    return requested
  }
}

const keyCache = new WeakMap<readonly FieldLayout[], string[]>()

/** `"name":` prefixes (comma-separated after the first), shared by every device of a layout. */
export function fieldKeys(layout: readonly FieldLayout[], first = ''): string[] {
  const cached = first === '' ? keyCache.get(layout) : undefined
  if (cached) return cached
  const keys = layout.map((field, i) => `${i === 0 ? first : ','}${JSON.stringify(field.name)}:`)
  if (first === '') keyCache.set(layout, keys)
  return keys
}
