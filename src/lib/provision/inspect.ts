import {stat, readFile} from 'node:fs/promises'
import {ExitCode, IotctlError, explainSystemError} from '../console/errors.js'
import {sha256Hex} from '../templates/hash.js'
import {STANDARD_NVS_KEYS} from './nvs-keys.js'
import {PARTITION_TABLE_OFFSET} from './chips.js'
import {describeApp, describeBootloader, isAppImage, isBootloaderImage, isNvsPartition, isPartitionTable, partitionRows, readNvsPartition, readPartitionTable, type AppDescription, type BootloaderDescription, type NvsRow, type PartitionRow} from './formats.js'
import {CHIP_LAYOUTS} from './chips.js'
import type {Chip} from '../templates/types.js'
import {readFatImage} from '../fs/index.js'
import {readFlashPlan} from './plan-files.js'
import {otaLayout, readOtadata, type OtaSelectEntry} from '../partitions/otadata.js'
import {partitionBytes, partitionFits, partitionTableAt, readFlashImage, type FlashImageLayout} from '../partitions/flash-image.js'
import {readPartitionTable as readTableEntries} from '../partitions/table.js'
import type {FlashManifest} from './plan-types.js'

export const REDACTED = '********'

export type NvsShownValue = string | number | {bytes: number; text?: string; base64?: string}

export interface InspectedNvsEntry {
  namespace: string
  key: string
  type: string
  value: NvsShownValue
  redacted?: boolean
}

export interface InspectReport {
  path: string
  kind: 'plan' | 'merged' | 'partition-table' | 'nvs' | 'app' | 'bootloader'
  size?: number
  sha256?: string
  manifest?: FlashManifest
  partitions?: PartitionRow[]
  nvs?: {offset?: number; size: number; entries: InspectedNvsEntry[]}
  app?: AppDescription & {offset?: number; sha256: string}
  /** ESP-IDF otadata: both copies, and the app partition the bootloader starts */
  otadata?: {offset: number; entries: OtaSelectEntry[]; active: number; boots: string}
  bootloader?: BootloaderDescription & {offset?: number; sha256: string}
  /** a MicroPython bundle's filesystem: its files, and config.json with secrets redacted unless asked */
  fs?: {offset: number; size: number; files: {path: string; size: number}[]; config?: Record<string, unknown>}
}

const SECRET_NAME = /pass|pwd|secret|token|private|(^|_)key$/i
const PRIVATE_PEM = /-----BEGIN [A-Z ]*PRIVATE KEY-----/

/** Is this entry a secret? Standard secret keys, the plan's own list, secret-looking names, private-key PEMs. */
function isSecret(row: NvsRow, secretKeys: Set<string>): boolean {
  if (secretKeys.has(row.key) || SECRET_NAME.test(row.key)) return true
  if (row.value instanceof Uint8Array) return PRIVATE_PEM.test(Buffer.from(row.value).toString('latin1'))
  return typeof row.value === 'string' && PRIVATE_PEM.test(row.value)
}

function showValue(value: NvsRow['value']): NvsShownValue {
  if (typeof value === 'bigint') return value.toString()
  if (!(value instanceof Uint8Array)) return value
  const text = Buffer.from(value).toString('utf8')
  // printable UTF-8 (PEMs, JSON) is shown as text, anything else as base64
  // eslint-disable-next-line no-control-regex
  return /^[\t\n\r\x20-\x7e\u00a0-\uffff]*\0?$/.test(text) && !text.includes('\ufffd') ? {bytes: value.length, text: text.replace(/\0$/, '')} : {bytes: value.length, base64: Buffer.from(value).toString('base64')}
}

function nvsEntries(bytes: Uint8Array, secretKeys: Set<string>, showSecrets: boolean): InspectedNvsEntry[] {
  return readNvsPartition(bytes).map((row) => {
    const secret = isSecret(row, secretKeys)
    if (secret && !showSecrets) return {namespace: row.namespace, key: row.key, type: row.type, value: row.value instanceof Uint8Array ? {bytes: row.value.length, text: REDACTED} : REDACTED, redacted: true}
    return {namespace: row.namespace, key: row.key, type: row.type, value: showValue(row.value)}
  })
}

const DEFAULT_SECRETS = new Set(Object.entries(STANDARD_NVS_KEYS).filter(([, s]) => s.secret).map(([k]) => k))

async function inspectPlan(dir: string, showSecrets: boolean): Promise<InspectReport> {
  const plan = await readFlashPlan(dir)
  const {manifest, data} = plan
  const secrets = new Set([...DEFAULT_SECRETS, ...(manifest.nvs?.secretKeys ?? [])])
  const report: InspectReport = {path: dir, kind: 'plan', manifest}
  const table = data['partition-table'] ? readTableEntries(data['partition-table']).entries : undefined
  if (table) report.partitions = partitionRows(table)
  const otadataPart = manifest.parts.find((p) => p.name === 'otadata')
  if (data.otadata && otadataPart && table) {
    const {slots, factory} = otaLayout(table)
    const info = readOtadata(data.otadata, slots.length)
    // no valid entry: the bootloader starts factory, else ota_0
    const boots = info.bootSlot === undefined ? (factory ?? slots[0]) : slots[info.bootSlot]
    report.otadata = describeOtadata(info, otadataPart.offset, boots)
  }
  if (data.nvs) report.nvs = {offset: manifest.nvs!.offset, size: data.nvs.length, entries: nvsEntries(data.nvs, secrets, showSecrets)}
  const app = manifest.parts.find((p) => p.name === 'app')
  if (data.app && app) report.app = {...describeApp(data.app), offset: app.offset, sha256: app.sha256}
  const bootloader = manifest.parts.find((p) => p.name === 'bootloader')
  if (data.bootloader && bootloader) report.bootloader = {...describeBootloader(data.bootloader), offset: bootloader.offset, sha256: bootloader.sha256}
  const fsPart = manifest.parts.find((p) => p.name === 'fs')
  if (data.fs && fsPart) report.fs = inspectFilesystem(data.fs, fsPart.offset, showSecrets)
  return report
}

/** The files of a bundle's FAT filesystem; config.json's passwords hidden unless asked. */
function inspectFilesystem(bytes: Uint8Array, offset: number, showSecrets: boolean): NonNullable<InspectReport['fs']> {
  const files = readFatImage(bytes)
  const report: NonNullable<InspectReport['fs']> = {offset, size: bytes.length, files: [...files].map(([path, d]) => ({path, size: d.length}))}
  const raw = files.get('config.json')
  if (raw) {
    const config = JSON.parse(new TextDecoder().decode(raw)) as Record<string, any>
    if (!showSecrets) {
      if (config.wifi?.password) config.wifi.password = REDACTED
      if (config.mqtt?.password) config.mqtt.password = REDACTED
    }
    report.config = config
  }
  return report
}

/**
 * The bootloader of a merged image: at the offset the app's chip boots from (0x1000 on ESP32/S2, 0x0 on
 * S3/C3/C6/ESP8266); without a readable app, wherever an image header sits at one of those offsets.
 */
function mergedBootloader(bytes: Uint8Array, appChip: string | undefined): {offset: number; bytes: Uint8Array} | undefined {
  const chip = (Object.keys(CHIP_LAYOUTS) as Chip[]).find((c) => CHIP_LAYOUTS[c].family === appChip)
  const offsets = chip ? [CHIP_LAYOUTS[chip].bootloaderOffset] : [0x1000, 0x0]
  for (const offset of offsets) {
    const region = bytes.subarray(offset, PARTITION_TABLE_OFFSET)
    if (region[0] === 0xe9) return {offset, bytes: region}
  }
  return undefined
}

/** Both otadata copies and the app partition the bootloader starts. */
function describeOtadata(info: {entries: OtaSelectEntry[]; active: number}, offset: number, boots: {name: string} | undefined): NonNullable<InspectReport['otadata']> {
  return {offset, entries: info.entries, active: info.active, boots: boots?.name ?? 'none'}
}

/** A merged image: the partition table at 0x8000 says where the NVS, otadata and app partitions are. */
function inspectMerged(path: string, bytes: Uint8Array, showSecrets: boolean): InspectReport {
  const layout: FlashImageLayout = readFlashImage(bytes)
  const report: InspectReport = {path, kind: 'merged', size: bytes.length, sha256: sha256Hex(bytes), partitions: partitionRows(layout.entries)}
  const {nvs, otadata, boot: app} = layout
  if (nvs && partitionFits(bytes, nvs)) {
    const region = partitionBytes(bytes, nvs)
    report.nvs = {offset: nvs.offset, size: nvs.size, entries: region.every((b) => b === 0xff) ? [] : nvsEntries(region, DEFAULT_SECRETS, showSecrets)}
  }
  if (otadata) report.otadata = describeOtadata(otadata.info, otadata.entry.offset, app)
  if (app && app.offset < bytes.length && isAppImage(bytes.subarray(app.offset))) {
    const region = partitionBytes(bytes, app)
    const described = describeApp(region)
    report.app = {...described, offset: app.offset, sha256: sha256Hex(region.subarray(0, described.size))}
  }
  const bootloader = mergedBootloader(bytes, report.app?.chip)
  if (bootloader) {
    try {
      const described = describeBootloader(bootloader.bytes)
      report.bootloader = {...described, offset: bootloader.offset, sha256: sha256Hex(bootloader.bytes.subarray(0, described.size))}
    } catch (error) {
      report.bootloader = {size: 0, offset: bootloader.offset, sha256: '', problems: [error instanceof Error ? error.message : String(error)]}
    }
  }
  return report
}

/**
 * What an image or a flash plan holds: partition table, NVS entries (secrets redacted unless
 * asked), app descriptor. Accepts a plan directory, a merged image, or a single part file.
 */
export async function inspectFlash(path: string, options: {showSecrets?: boolean} = {}): Promise<InspectReport> {
  const showSecrets = Boolean(options.showSecrets)
  let info
  try {
    info = await stat(path)
  } catch (error) {
    throw explainSystemError(error, path)
  }
  if (info.isDirectory()) return inspectPlan(path, showSecrets)
  const bytes = new Uint8Array(await readFile(path))
  const base = {path, size: bytes.length, sha256: sha256Hex(bytes)}
  if (isPartitionTable(bytes)) return {...base, kind: 'partition-table', partitions: readPartitionTable(bytes)}
  if (isNvsPartition(bytes)) return {...base, kind: 'nvs', nvs: {size: bytes.length, entries: nvsEntries(bytes, DEFAULT_SECRETS, showSecrets)}}
  if (partitionTableAt(bytes) === 'table') return inspectMerged(path, bytes, showSecrets)
  if (isAppImage(bytes) && isBootloaderImage(bytes)) return {...base, kind: 'bootloader', bootloader: {...describeBootloader(bytes), sha256: base.sha256}}
  if (isAppImage(bytes)) return {...base, kind: 'app', app: {...describeApp(bytes), sha256: base.sha256}}
  throw new IotctlError(`${path} is not a flash plan, merged image, partition table, NVS partition or ESP app image`, {
    code: 'UNKNOWN_IMAGE',
    exit: ExitCode.USAGE,
    suggestions: ['Pass a plan directory (with manifest.json) or one of its .bin files'],
  })
}
