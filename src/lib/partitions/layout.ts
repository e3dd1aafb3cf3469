import {ExitCode, IotctlError} from '../console/errors.js'
import type {PartitionSpec} from '../templates/types.js'
import {
  APP_ALIGNMENT,
  APP_TYPE,
  DATA_ALIGNMENT,
  DATA_TYPE,
  PARTITION_SUBTYPES,
  PARTITION_TABLE_OFFSET,
  PARTITION_TABLE_SECTOR,
  PARTITION_TYPES,
  SUBTYPE,
  partitionSubtypeName,
  partitionTypeName,
} from './format.js'
import type {PartitionEntry} from './types.js'

/** ESP-IDF's "Single factory app, no OTA" layout. */
export const DEFAULT_PARTITIONS: readonly PartitionSpec[] = Object.freeze([
  {name: 'nvs', type: 'data', subtype: 'nvs', offset: 0x9000, size: 0x6000},
  {name: 'phy_init', type: 'data', subtype: 'phy', offset: 0xf000, size: 0x1000},
  {name: 'factory', type: 'app', subtype: 'factory', offset: 0x10000, size: 0x100000},
])

export interface LayoutOptions {
  /** flash chip size in bytes, or '4MB', '512KB' … */
  flashSize: number | string
  /** size of the app image every app partition must hold */
  appSize?: number
  /** where the table itself sits (default 0x8000); partitions start after its sector */
  tableOffset?: number
}

const layoutError = (message: string, details?: Record<string, unknown>) =>
  new IotctlError(message, {
    code: 'PARTITION_LAYOUT',
    exit: ExitCode.USAGE,
    details,
    suggestions: ['Fix the partitions list of the template (name, type, subtype, offset, size)'],
  })

const hex = (n: number) => `0x${n.toString(16)}`

/** '4MB' → 4194304; numbers pass through */
export function parseFlashSize(size: number | string): number {
  if (typeof size === 'number') return size
  const match = /^(\d+)\s*(KB|MB)$/i.exec(size)
  if (!match) throw layoutError(`unknown flash size "${size}" (use e.g. 4MB or 512KB)`)
  return Number(match[1]) * (match[2].toUpperCase() === 'MB' ? 0x100000 : 0x400)
}

/** 'app' / 'data' / … or a numeric code → the type code */
export function partitionTypeCode(type: string | number): number {
  if (typeof type === 'number') return type
  const code = PARTITION_TYPES[type]
  if (code === undefined) throw layoutError(`unknown partition type "${type}" (${Object.keys(PARTITION_TYPES).join(', ')}, or a number 0x40..0xFE)`)
  return code
}

/** 'factory' / 'nvs' / 'ota_0' / … or a numeric code → the subtype code for that type */
export function partitionSubtypeCode(type: number, subtype: string | number): number {
  if (typeof subtype === 'number') return subtype
  const code = PARTITION_SUBTYPES[type]?.[subtype]
  if (code === undefined) {
    const known = Object.keys(PARTITION_SUBTYPES[type] ?? {})
    throw layoutError(`unknown subtype "${subtype}" for partition type ${partitionTypeName(type)}${known.length ? ` (${known.join(', ')})` : ''}`)
  }
  return code
}

export function alignmentOf(type: number): number {
  return type === APP_TYPE ? APP_ALIGNMENT : DATA_ALIGNMENT
}

const alignUp = (n: number, to: number) => Math.ceil(n / to) * to

/**
 * Resolve a template's partition list into table entries: names → codes, missing offsets
 * placed after the previous partition at its alignment (app 0x10000, others 0x1000), as
 * gen_esp32part.py does. The result is checked with validatePartitions.
 */
export function layoutPartitions(specs: readonly PartitionSpec[], options: LayoutOptions): PartitionEntry[] {
  const tableOffset = options.tableOffset ?? PARTITION_TABLE_OFFSET
  let end = tableOffset + PARTITION_TABLE_SECTOR
  let previous: string | undefined
  const entries = specs.map((spec) => {
    const type = partitionTypeCode(spec.type)
    const subtype = partitionSubtypeCode(type, spec.subtype)
    let offset = spec.offset
    if (offset === undefined) offset = alignUp(end, alignmentOf(type))
    else if (offset < end && previous !== undefined) {
      throw layoutError(`partition "${spec.name}" at ${hex(offset)} overlaps "${previous}", which ends at ${hex(end)}`, {partition: spec.name})
    }
    end = offset + spec.size
    previous = spec.name
    return {name: spec.name, type, subtype, offset, size: spec.size, encrypted: spec.encrypted ?? false, readonly: spec.readonly ?? false}
  })
  validatePartitions(entries, options)
  return entries
}

const isAppSlot = (e: PartitionEntry) => e.type === APP_TYPE && (e.subtype === SUBTYPE.factory || (e.subtype >= SUBTYPE.otaFirst && e.subtype <= SUBTYPE.otaLast))

/** The partition the bootloader starts: factory, else the lowest OTA slot. */
export function findAppPartition(entries: readonly PartitionEntry[]): PartitionEntry | undefined {
  const apps = entries.filter(isAppSlot).sort((a, b) => a.subtype - b.subtype)
  return apps[0]
}

/** The first partition of a type and subtype (names or codes), e.g. ('data', 'nvs'). */
export function findPartition(entries: readonly PartitionEntry[], type: string | number, subtype: string | number): PartitionEntry | undefined {
  const t = partitionTypeCode(type)
  const s = partitionSubtypeCode(t, subtype)
  return entries.find((e) => e.type === t && e.subtype === s)
}

/**
 * Layout rules: unique names; app offsets on 64 KB, others on 4 KB; sizes in whole 4 KB
 * sectors; nothing below the end of the table sector (bootloader/partition_table types
 * excepted); no overlaps; everything inside the flash; otadata exactly 0x2000; nvs at least
 * 0x3000; at least one app partition, each able to hold `appSize` bytes.
 */
export function validatePartitions(entries: readonly PartitionEntry[], options: LayoutOptions): void {
  const flashSize = parseFlashSize(options.flashSize)
  const tableEnd = (options.tableOffset ?? PARTITION_TABLE_OFFSET) + PARTITION_TABLE_SECTOR
  const names = new Set<string>()
  for (const e of entries) {
    const what = `partition "${e.name}" (${partitionTypeName(e.type)}/${partitionSubtypeName(e.type, e.subtype)})`
    const details = {partition: e.name, offset: e.offset, size: e.size}
    if (names.has(e.name)) throw layoutError(`two partitions are named "${e.name}"`, details)
    names.add(e.name)
    const align = alignmentOf(e.type)
    if (e.offset % align !== 0) throw layoutError(`${what}: offset ${hex(e.offset)} is not aligned to ${hex(align)}`, details)
    if (e.size <= 0 || e.size % DATA_ALIGNMENT !== 0) throw layoutError(`${what}: size ${hex(e.size)} is not a positive multiple of 0x1000`, details)
    const below = e.type === APP_TYPE || e.type === DATA_TYPE || e.type >= 0x40
    if (below && e.offset < tableEnd) throw layoutError(`${what}: offset ${hex(e.offset)} is inside the bootloader or partition table area (partitions start at ${hex(tableEnd)})`, details)
    if (e.offset + e.size > flashSize) {
      throw layoutError(`${what}: ends at ${hex(e.offset + e.size)}, beyond the ${flashSize / 0x100000} MB flash (${hex(flashSize)})`, details)
    }
    if (e.type === DATA_TYPE && e.subtype === SUBTYPE.otadata && e.size !== 0x2000) throw layoutError(`${what}: otadata must be exactly 0x2000 bytes`, details)
    if (e.type === DATA_TYPE && e.subtype === SUBTYPE.nvs && e.size < 0x3000) throw layoutError(`${what}: an nvs partition needs at least 0x3000 bytes (3 pages)`, details)
  }
  const sorted = [...entries].sort((a, b) => a.offset - b.offset)
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1], sorted[i]]
    if (b.offset < a.offset + a.size) {
      throw layoutError(`partitions "${a.name}" (${hex(a.offset)}..${hex(a.offset + a.size)}) and "${b.name}" (from ${hex(b.offset)}) overlap`, {partition: b.name})
    }
  }
  const apps = entries.filter(isAppSlot)
  if (apps.length === 0) throw layoutError('the layout has no app partition (factory or ota_N)')
  if (options.appSize !== undefined) {
    for (const app of apps) {
      if (options.appSize > app.size) {
        throw new IotctlError(`the app image (${options.appSize} bytes) does not fit app partition "${app.name}" (${app.size} bytes, ${hex(app.size)})`, {
          code: 'APP_PARTITION_TOO_SMALL',
          exit: ExitCode.USAGE,
          details: {partition: app.name, partitionSize: app.size, appSize: options.appSize},
          suggestions: [`Make "${app.name}" at least ${hex(alignUp(options.appSize, DATA_ALIGNMENT))} bytes in the template's partitions`],
        })
      }
    }
  }
}
