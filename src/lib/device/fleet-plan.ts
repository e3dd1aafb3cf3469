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

/** How many of `count` devices each mix entry gets (largest remainder), in mix order. */
function mixCounts(count: number, mix: {type: string; weight: number}[]): number[] {
  const total = mix.reduce((sum, m) => sum + m.weight, 0)
  const exact = mix.map((m) => (count * m.weight) / total)
  const counts = exact.map(Math.floor)
  const order = exact.map((value, i) => ({i, rest: value - Math.floor(value)})).sort((a, b) => b.rest - a.rest || a.i - b.i)
  const missing = count - counts.reduce((a, b) => a + b, 0)
  for (let k = 0; k < missing; k++) counts[order[k % order.length].i]++
  return counts
}

/** Split `count` by weights (largest remainder), in mix order. */
export function apportion(count: number, mix: {type: string; weight: number}[]): string[] {
  const counts = mixCounts(count, mix)
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
 * A planned fleet, computed on demand: device i is derived from its index, so a 10-million-device
 * plan costs a few numbers, not 10 million objects (memory follows the devices actually started).
 */
export interface PlannedDevices {
  readonly length: number
  at(index: number): PlannedDevice | undefined
  /** the distinct types, in plan order */
  readonly types: readonly string[]
  /** every device as an array (only for small fleets: --tls-identities, tests) */
  toArray(): PlannedDevice[]
}

/**
 * The devices of a simulated fleet: named (--ids), generated (--id-prefix + number), or the
 * registered ones (--from-registry); typed by --type or --mix; then cut to this machine's shard.
 * Sharding takes every n-th device of the whole fleet, so each shard gets the same type mix and
 * all shards together run every device exactly once.
 */
export function planFleet(input: FleetPlanInput): {devices: PlannedDevices; fleetSize: number} {
  if (input.type && input.mix) throw usageError('--type and --mix exclude each other')
  const sources = [input.ids?.length ? '--ids' : '', input.registry ? '--from-registry' : ''].filter(Boolean)
  if (sources.length > 1) throw usageError(`${sources.join(' and ')} exclude each other`)
  const integerIds = findScheme(input.scheme)?.numericIds ?? false
  let whole: (index: number) => PlannedDevice
  let fleetSize: number
  let types: string[]
  if (input.registry) {
    // gateways forward readings; they are not sensors to simulate
    let listed = input.registry.filter((d) => d.role !== 'gateway' && (!input.type || d.type === input.type)).map((d) => ({id: d.id, type: d.type, mac: d.mac}))
    if (input.count !== undefined) listed = listed.slice(0, input.count)
    if (listed.length === 0) throw usageError(`No registered devices${input.type ? ` of type ${input.type}` : ''} to simulate`, ['Register some: iotctl devices add ID --type temp'])
    whole = (i) => listed[i]
    fleetSize = listed.length
    types = [...new Set(listed.map((d) => d.type))]
  } else {
    const ids = input.ids?.length ? input.ids.map((id) => canonicalDeviceId(id)) : undefined
    const mix = input.mix ? parseMix(input.mix) : undefined
    const count = ids?.length ?? input.count ?? (mix ? mix.reduce((sum, m) => sum + m.weight, 0) : 10)
    if (ids && input.count !== undefined && input.count !== ids.length) throw usageError(`--count ${input.count} but --ids names ${ids.length} devices`)
    if (!Number.isInteger(count) || count < 1) throw usageError('--count must be a positive integer (or give --mix counts)')
    if (ids && new Set(ids).size !== ids.length) throw usageError('Device ids must be unique')
    const typeAt = mix ? typeByIndex(count, mix) : () => input.type ?? defaultTypeFor(input.scheme)
    const idAt = ids ? (i: number) => ids[i] : generatedId(count, input.idPrefix, integerIds)
    whole = (i) => ({id: idAt(i), type: typeAt(i)})
    fleetSize = count
    types = mix ? mix.map((m) => m.type) : [input.type ?? defaultTypeFor(input.scheme)]
  }
  if (integerIds) {
    // generated serials are integers by construction; named and registered ones are checked
    const bad = input.registry || input.ids?.length ? Array.from({length: fleetSize}, (_, i) => whole(i)).find((d) => !/^\d+$/.test(d.id)) : undefined
    if (bad) throw usageError(`django-iot serials are integers; "${bad.id}" is not`, ['Use --ids 1001,1002 or --id-prefix 1000 (the first serial)'])
  }
  let length = fleetSize
  let at = whole
  if (input.shard) {
    const {index, total} = parseShard(input.shard)
    length = Math.max(0, Math.ceil((fleetSize - (index - 1)) / total))
    at = (i) => whole(i * total + index - 1)
  }
  const devices: PlannedDevices = {
    length,
    types,
    at: (i) => (Number.isInteger(i) && i >= 0 && i < length ? at(i) : undefined),
    toArray: () => Array.from({length}, (_, i) => at(i)),
  }
  return {devices, fleetSize}
}

/** The type of device i when `count` devices are split by weights (largest remainder), in mix order. */
function typeByIndex(count: number, mix: {type: string; weight: number}[]): (index: number) => string {
  const ends: number[] = []
  mixCounts(count, mix).reduce((end, n) => (ends.push(end + n), end + n), 0)
  return (index) => mix[ends.findIndex((end) => index < end)].type
}

function generatedId(count: number, prefix: string | undefined, integer: boolean): (index: number) => string {
  if (integer) {
    const first = prefix === undefined ? 1000 : Number(prefix)
    if (!Number.isSafeInteger(first) || first < 0) throw usageError(`For django-iot, --id-prefix is the first integer serial, not "${prefix}"`)
    return (i) => String(first + i)
  }
  const base = prefix ?? 'sim-'
  const width = Math.max(4, String(count).length)
  canonicalDeviceId(`${base}${'0'.repeat(width)}`) // a prefix no id can carry fails here, once
  return (i) => canonicalDeviceId(`${base}${String(i + 1).padStart(width, '0')}`)
}
