import {IotctlError} from '../console/errors.js'
import {readNvs, writeNvs, type NvsEntryInput} from '../nvs/index.js'
import {
  findAppPartition,
  findPartition,
  layoutPartitions,
  partitionSubtypeName,
  partitionTypeName,
  readPartitionTable as readTable,
  writePartitionTable,
  type PartitionEntry,
} from '../partitions/index.js'
import {buildSimulationImage, imageKind, isSimulationImage, mergeImages, parseBootloaderDescriptor, parseEspImage} from '../image/index.js'
import type {Chip, FlashSize, PartitionSpec} from '../templates/types.js'
import type {NvsItem} from './device-config.js'

/**
 * The binary formats provisioning needs (src/lib/nvs, partitions, image), behind the few calls
 * the planner and inspector make.
 */

export interface PartitionLayout {
  /** the partition table binary (0xC00 bytes, MD5 row included) */
  table: Uint8Array
  entries: PartitionEntry[]
  nvs: {name: string; offset: number; size: number}
  app: {name: string; offset: number; size: number}
  /** the otadata partition of an OTA layout */
  otadata?: {name: string; offset: number; size: number}
}

/** Prefix an error's message with its context, keeping code, exit, details and suggestions. */
function within(context: string, error: unknown): unknown {
  if (!(error instanceof IotctlError)) return error
  return new IotctlError(`${context}: ${error.message}`, {code: error.code, exit: error.exit, suggestions: error.suggestions, details: error.details, cause: error})
}

/**
 * Lay out and check the template's partitions (alignment, overlap, flash size, the app image
 * fits every app slot) and write the table binary. The layout must have an nvs partition.
 */
export function buildPartitionTable(specs: readonly PartitionSpec[], options: {flashSize: FlashSize; appSize: number; template: string}): PartitionLayout {
  let entries: PartitionEntry[]
  try {
    entries = layoutPartitions(specs, {flashSize: options.flashSize, appSize: options.appSize})
  } catch (error) {
    throw within(`Partition layout of ${options.template}`, error)
  }
  const nvs = findPartition(entries, 'data', 'nvs')
  const app = findAppPartition(entries)
  if (!nvs) throw new IotctlError(`The partition layout of ${options.template} has no nvs partition (type data, subtype nvs) for the device configuration`, {code: 'PARTITION_LAYOUT', exit: 2})
  if (!app) throw new IotctlError(`The partition layout of ${options.template} has no app partition`, {code: 'PARTITION_LAYOUT', exit: 2})
  const otadata = findPartition(entries, 'data', 'ota')
  return {
    table: writePartitionTable(entries),
    entries,
    nvs: {name: nvs.name, offset: nvs.offset, size: nvs.size},
    app: {name: app.name, offset: app.offset, size: app.size},
    ...(otadata ? {otadata: {name: otadata.name, offset: otadata.offset, size: otadata.size}} : {}),
  }
}

function nvsEntry(item: NvsItem): NvsEntryInput {
  if (item.encoding === 'string') return {key: item.key, type: 'string', value: item.value}
  if (item.encoding === 'blob') return {key: item.key, type: 'blob', value: item.value}
  return {key: item.key, type: item.encoding, value: item.value}
}

/** One namespace of items as an NVS v2 partition image; an overflow names the device and the key. */
export function buildNvsImage(namespace: string, items: NvsItem[], size: number, deviceId: string): Uint8Array {
  try {
    return writeNvs({size, namespaces: [{name: namespace, entries: items.map(nvsEntry)}]})
  } catch (error) {
    throw within(`Device ${deviceId}`, error)
  }
}

/**
 * Check an application (or bootloader) image before anything is written: magic, segments, the
 * chip id against the target, checksum, appended SHA-256. Returns its app descriptor.
 */
export function inspectAppImage(bytes: Uint8Array, chip: Chip, origin: string, options: {bootloader?: boolean} = {}): {projectName?: string; version?: string; idfVersion?: string; simulation: boolean} {
  let info
  try {
    info = parseEspImage(bytes, {chip, strict: true})
  } catch (error) {
    throw within(`${options.bootloader ? 'Bootloader' : 'App image'} ${origin}`, error)
  }
  const d = info.appDescriptor
  return {...(d ? {projectName: d.projectName, version: d.version, idfVersion: d.idfVersion} : {}), simulation: isSimulationImage(info)}
}

/** The iotctl simulation image for a template type (valid ESP image; only the virtual board runs it). */
export function makeSimulationImage(chip: Chip, info: {templateType: string; version?: string; flashSize: FlashSize}): Uint8Array {
  return buildSimulationImage({chip, templateType: info.templateType, version: info.version, flashSize: info.flashSize})
}

/** One image from offset 0, 0xFF between parts (esptool merge_bin). */
export function mergeFlash(parts: {name: string; offset: number; data: Uint8Array}[]): Uint8Array {
  return mergeImages(parts)
}

// ---------------------------------------------------------------- readers (firmware inspect)

export interface PartitionRow {
  name: string
  type: string | number
  subtype: string | number
  offset: number
  size: number
  encrypted: boolean
  readonly: boolean
}

export interface NvsRow {
  namespace: string
  key: string
  /** u8 … i64, string, blob */
  type: string
  value: string | number | bigint | Uint8Array
}

export interface AppDescription {
  size: number
  chip?: string
  entry?: number
  segments?: number
  hashAppended?: boolean
  projectName?: string
  version?: string
  idfVersion?: string
  /** an iotctl simulation image */
  simulation?: boolean
  /** failed checks (checksum, SHA-256, …) */
  problems?: string[]
}

/** Looks like a partition table (first entry magic 0xAA 0x50). */
export function isPartitionTable(bytes: Uint8Array): boolean {
  return bytes.length >= 32 && bytes[0] === 0xaa && bytes[1] === 0x50
}

/** Looks like an ESP image (magic 0xE9). */
export function isAppImage(bytes: Uint8Array): boolean {
  return bytes.length >= 24 && bytes[0] === 0xe9
}

export function readPartitionTable(bytes: Uint8Array): PartitionRow[] {
  return partitionRows(readTable(bytes).entries)
}

/** Table entries with their type and subtype by name, as `firmware inspect` shows them. */
export function partitionRows(entries: readonly PartitionEntry[]): PartitionRow[] {
  return entries.map((e) => ({
    name: e.name,
    type: partitionTypeName(e.type),
    subtype: partitionSubtypeName(e.type, e.subtype),
    offset: e.offset,
    size: e.size,
    encrypted: e.encrypted,
    readonly: e.readonly,
  }))
}

/** Every entry of every namespace; any CRC or structure error throws NVS_CORRUPT. */
export function readNvsPartition(bytes: Uint8Array): NvsRow[] {
  return readNvs(bytes).namespaces.flatMap((ns) => ns.entries.map((e) => ({namespace: ns.name, key: e.key, type: e.type, value: e.value})))
}

/** What an image says about itself, checks collected rather than thrown. */
export function describeApp(bytes: Uint8Array): AppDescription {
  const info = parseEspImage(bytes, {strict: false})
  const d = info.appDescriptor
  return {
    size: info.length,
    chip: info.chipName,
    entry: info.entryPoint,
    segments: info.segmentCount,
    hashAppended: info.sha256 !== undefined,
    simulation: isSimulationImage(info),
    ...(d ? {projectName: d.projectName, version: d.version, idfVersion: d.idfVersion} : {}),
    problems: info.problems.map((p) => `${p.code}: ${p.message}`),
  }
}

export interface BootloaderDescription {
  size: number
  chip?: string
  flashMode?: string
  flashFreq?: string
  flashSize?: string
  /** esp_bootloader_desc_t (ESP-IDF ≥ 5.2) */
  version?: number
  idfVersion?: string
  problems?: string[]
}

/** Whether an image (lenient parse) is a second-stage bootloader rather than an app. */
export function isBootloaderImage(bytes: Uint8Array): boolean {
  try {
    return imageKind(parseEspImage(bytes, {strict: false})) === 'bootloader'
  } catch {
    return false
  }
}

/** What a bootloader image says about itself, checks collected rather than thrown. */
export function describeBootloader(bytes: Uint8Array): BootloaderDescription {
  const info = parseEspImage(bytes, {strict: false})
  const first = info.segments[0]
  const desc = parseBootloaderDescriptor(bytes.subarray(first.dataOffset, first.dataOffset + first.length))
  return {
    size: info.length,
    chip: info.chipName,
    flashMode: info.flashMode,
    flashFreq: info.flashFreq,
    flashSize: info.flashSize,
    ...(desc ? {version: desc.version, idfVersion: desc.idfVersion} : {}),
    problems: info.problems.map((p) => `${p.code}: ${p.message}`),
  }
}

/**
 * Looks like an NVS partition: whole pages, the first one written (active, full or freeing).
 * The version and CRCs are left to the reader, which says precisely what is wrong.
 */
export function isNvsPartition(bytes: Uint8Array): boolean {
  if (bytes.length < 4096 || bytes.length % 4096 !== 0) return false
  const state = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true)
  return state === 0xfffffffe || state === 0xfffffffc || state === 0xfffffff8
}
