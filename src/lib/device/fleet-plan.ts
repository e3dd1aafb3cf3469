import {usageError} from '../console/errors.js'
import {canonicalDeviceId} from '../registry/ids.js'
import {findScheme} from '../schemes/index.js'
import type {DeviceRecord} from '../registry/types.js'

export interface PlannedDevice {
  id: string
  type: string
  mac?: string
}

export interface FleetPlanInput {
  count?: number
  type?: string
  /** "temp:30,light:20": weights (shares of --count), or counts without --count */
  mix?: string
  idPrefix?: string
  ids?: string[]
  /** --from-registry: the registered devices (filtered by type when given) */
  registry?: DeviceRecord[]
  /** "i/n", 1-based */
  shard?: string
  scheme: string
}

/** The type a scheme's devices are when none is named. */
export function defaultTypeFor(scheme: string): string {
  return findScheme(scheme)?.defaultDeviceType ?? 'temp'
}

export function parseMix(text: string): {type: string; weight: number}[] {
  const parts = text.split(',').map((part) => part.trim()).filter(Boolean)
  if (parts.length === 0) throw usageError(`Invalid --mix "${text}": expected type:weight pairs, e.g. temp:30,light:20`)
  return parts.map((part) => {
    const match = /^([a-z][a-z0-9_-]*):(\d+(?:\.\d+)?)$/.exec(part)
    if (!match || Number(match[2]) <= 0) throw usageError(`Invalid --mix entry "${part}": expected type:weight, e.g. temp:30`)
    return {type: match[1], weight: Number(match[2])}
  })
}

/** Split `count` by weights (largest remainder), in mix order. */
export function apportion(count: number, mix: {type: string; weight: number}[]): string[] {
  const total = mix.reduce((sum, m) => sum + m.weight, 0)
  const exact = mix.map((m) => (count * m.weight) / total)
  const counts = exact.map(Math.floor)
  const order = exact.map((value, i) => ({i, rest: value - Math.floor(value)})).sort((a, b) => b.rest - a.rest || a.i - b.i)
  const missing = count - counts.reduce((a, b) => a + b, 0)
  for (let k = 0; k < missing; k++) counts[order[k % order.length].i]++
  return mix.flatMap((m, i) => Array.from({length: counts[i]}, () => m.type))
}

export function parseShard(text: string): {index: number; total: number} {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim())
  const index = match ? Number(match[1]) : 0
  const total = match ? Number(match[2]) : 0
  if (!match || total < 1 || index < 1 || index > total) throw usageError(`Invalid --shard "${text}": expected i/n with 1 ≤ i ≤ n, e.g. 2/4`)
  return {index, total}
}

/**
 * The devices of a simulated fleet: named (--ids), generated (--id-prefix + number), or the
 * registered ones (--from-registry); typed by --type or --mix; then cut to this machine's shard.
 * Sharding takes every n-th device of the whole fleet, so each shard gets the same type mix and
 * all shards together run every device exactly once.
 */
export function planFleet(input: FleetPlanInput): {devices: PlannedDevice[]; fleetSize: number} {
  if (input.type && input.mix) throw usageError('--type and --mix exclude each other')
  const sources = [input.ids?.length ? '--ids' : '', input.registry ? '--from-registry' : ''].filter(Boolean)
  if (sources.length > 1) throw usageError(`${sources.join(' and ')} exclude each other`)
  const integerIds = findScheme(input.scheme)?.numericIds ?? false
  let devices: PlannedDevice[]
  if (input.registry) {
    // gateways forward readings; they are not sensors to simulate
    devices = input.registry.filter((d) => d.role !== 'gateway' && (!input.type || d.type === input.type)).map((d) => ({id: d.id, type: d.type, mac: d.mac}))
    if (input.count !== undefined) devices = devices.slice(0, input.count)
    if (devices.length === 0) throw usageError(`No registered devices${input.type ? ` of type ${input.type}` : ''} to simulate`, ['Register some: iotctl devices add ID --type temp'])
  } else {
    const ids = input.ids?.length ? input.ids.map((id) => canonicalDeviceId(id)) : undefined
    const mix = input.mix ? parseMix(input.mix) : undefined
    const count = ids?.length ?? input.count ?? (mix ? mix.reduce((sum, m) => sum + m.weight, 0) : 10)
    if (ids && input.count !== undefined && input.count !== ids.length) throw usageError(`--count ${input.count} but --ids names ${ids.length} devices`)
    if (!Number.isInteger(count) || count < 1) throw usageError('--count must be a positive integer (or give --mix counts)')
    const types = mix ? apportion(count, mix) : Array.from({length: count}, () => input.type ?? defaultTypeFor(input.scheme))
    const generated = ids ?? generateIds(count, input.idPrefix, integerIds)
    if (new Set(generated).size !== generated.length) throw usageError('Device ids must be unique')
    devices = generated.map((id, i) => ({id, type: types[i]}))
  }
  if (integerIds) {
    const bad = devices.find((d) => !/^\d+$/.test(d.id))
    if (bad) throw usageError(`django-iot serials are integers; "${bad.id}" is not`, ['Use --ids 1001,1002 or --id-prefix 1000 (the first serial)'])
  }
  const fleetSize = devices.length
  if (input.shard) {
    const {index, total} = parseShard(input.shard)
    devices = devices.filter((_, i) => i % total === index - 1)
  }
  return {devices, fleetSize}
}

function generateIds(count: number, prefix: string | undefined, integer: boolean): string[] {
  if (integer) {
    const first = prefix === undefined ? 1000 : Number(prefix)
    if (!Number.isSafeInteger(first) || first < 0) throw usageError(`For django-iot, --id-prefix is the first integer serial, not "${prefix}"`)
    return Array.from({length: count}, (_, i) => String(first + i))
  }
  const base = prefix ?? 'sim-'
  const width = Math.max(4, String(count).length)
  return Array.from({length: count}, (_, i) => canonicalDeviceId(`${base}${String(i + 1).padStart(width, '0')}`))
}
