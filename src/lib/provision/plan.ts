import {readFile} from 'node:fs/promises'
import {resolve} from 'node:path'
import {ExitCode, IotctlError, explainSystemError, usageError} from '../console/errors.js'
import type {BackendProfile} from '../config/profiles.js'
import type {DeviceCredentials} from '../pki/credentials.js'
import type {DeviceRecord} from '../registry/types.js'
import {sha256Hex} from '../templates/hash.js'
import type {LoadedTemplate} from '../templates/loader.js'
import type {Chip, FlashSize, TargetChip} from '../templates/types.js'
import {hasFlashSettings, patchImageHeader, type FlashSettings} from '../image/patch.js'
import {acquireApp, appSourceFor, type AppSourceCallbacks} from './app-source.js'
import {CHIP_LAYOUTS, DEFAULT_FLASH_SIZE, DEFAULT_PARTITIONS, PARTITION_TABLE_OFFSET, boardChip} from './chips.js'
import {checkSettingKeys, deviceNvsItems, secretNvsKeys, type DeviceConfig} from './device-config.js'
import {buildNvsImage, buildPartitionTable, inspectAppImage, makeSimulationImage, mergeFlash, type PartitionLayout} from './formats.js'
import {nvsNamespace} from './nvs-keys.js'
import {PART_FILES, PLAN_FORMAT, type AppInfo, type FlashManifest, type FlashPart, type FlashPlan} from './plan-types.js'
import type {ResolvedSettings} from './settings.js'
import {topicsForProfile} from './topics.js'

/** What every device of one chip shares in a build: computed once, checked before anything is written. */
export interface ChipArtifacts {
  chip: TargetChip
  boardChip: Chip
  simulation: boolean
  app: {bytes: Uint8Array; info: AppInfo}
  layout: PartitionLayout
  bootloader?: {bytes: Uint8Array; sha256: string}
  /** the parts identical for every device (partition table, app, bootloader) */
  sharedParts: FlashPart[]
  flashSize: FlashSize
}

export interface PrepareOptions extends AppSourceCallbacks {
  template: LoadedTemplate
  chip: TargetChip
  cacheDir: string
  /** --app FILE: overrides the template's source */
  appFile?: string
  /** --bootloader FILE */
  bootloaderFile?: string
  /** --flash-mode/--flash-freq/--flash-size: patched into the image headers (SHA-256 recomputed) */
  flash?: FlashSettings
  /** for chip 'sim': the virtual board's chip to lay the images out for (default: ESP32) */
  board?: Chip
}

/** Which chip a device is built for: its registry chip, else the template's first. */
export function deviceChip(device: DeviceRecord, template: LoadedTemplate): TargetChip {
  const chip = device.chip ?? template.chips[0]
  if (!template.chips.includes(chip)) {
    throw usageError(`Device ${device.id} is an ${chip}, but template "${template.type}" supports ${template.chips.join(', ')}`, [
      `Fix the device's chip (iotctl devices remove/add), or add ${chip} to chips in ${template.file}`,
    ])
  }
  return chip
}

/**
 * Everything shared by the devices of one chip: the application image (fetched, downloaded,
 * built or generated), checked for the chip; the partition table, checked against the flash size
 * and the image; the bootloader. Nothing is written here: a failure stops the build before any file.
 */
export async function prepareChip(options: PrepareOptions): Promise<ChipArtifacts> {
  const {template, chip} = options
  checkSettingKeys(template)
  const board = chip === 'sim' && options.board ? options.board : boardChip(chip)
  const source = appSourceFor(template, chip, options.appFile)
  const acquired = await acquireApp(source, {templateDir: template.dir, cacheDir: options.cacheDir, onDownload: options.onDownload, onBuildOutput: options.onBuildOutput, signal: options.signal})
  const flashSize = (options.flash?.flashSize as FlashSize | undefined) ?? template.flashSize ?? DEFAULT_FLASH_SIZE
  const patch = (image: Uint8Array) => (hasFlashSettings(options.flash) ? patchImageHeader(image, options.flash!, {chip: board}) : image)
  const bytes = acquired.kind === 'simulation' ? makeSimulationImage(board, {templateType: template.type, flashSize}) : patch(acquired.bytes)
  const {simulation, ...described} = inspectAppImage(bytes, board, acquired.origin)
  const info: AppInfo = {origin: acquired.origin, kind: acquired.kind, size: bytes.length, sha256: sha256Hex(bytes), ...described}
  const layout = buildPartitionTable(template.partitions ?? DEFAULT_PARTITIONS, {flashSize, appSize: bytes.length, template: template.file})
  let bootloader: ChipArtifacts['bootloader']
  if (options.bootloaderFile) {
    let data: Uint8Array
    try {
      data = new Uint8Array(await readFile(resolve(options.bootloaderFile)))
    } catch (error) {
      throw explainSystemError(error, `reading the bootloader ${options.bootloaderFile}`)
    }
    inspectAppImage(data, board, options.bootloaderFile, {bootloader: true})
    data = patch(data)
    const offset = CHIP_LAYOUTS[board].bootloaderOffset
    if (offset + data.length > PARTITION_TABLE_OFFSET) {
      throw new IotctlError(`The bootloader (${data.length} bytes at 0x${offset.toString(16)}) runs into the partition table at 0x${PARTITION_TABLE_OFFSET.toString(16)}`, {code: 'BOOTLOADER_TOO_LARGE', exit: ExitCode.VERIFY})
    }
    bootloader = {bytes: data, sha256: sha256Hex(data)}
  }
  const sharedParts: FlashPart[] = []
  if (bootloader) sharedParts.push({name: 'bootloader', path: PART_FILES.bootloader, offset: CHIP_LAYOUTS[board].bootloaderOffset, size: bootloader.bytes.length, sha256: bootloader.sha256})
  sharedParts.push({name: 'partition-table', path: PART_FILES['partition-table'], offset: PARTITION_TABLE_OFFSET, size: layout.table.length, sha256: sha256Hex(layout.table)})
  sharedParts.push({name: 'app', path: PART_FILES.app, offset: layout.app.offset, size: bytes.length, sha256: info.sha256})
  return {chip, boardChip: board, simulation, app: {bytes, info}, layout, bootloader, sharedParts, flashSize}
}

export interface DevicePlanInput {
  template: LoadedTemplate
  device: DeviceRecord
  artifacts: ChipArtifacts
  profile: BackendProfile
  scheme: string
  settings: ResolvedSettings
  credentials: DeviceCredentials
  merged?: boolean
  /** fixed timestamp for reproducible manifests (tests); default now */
  createdAt?: string
}

/** One device's plan: its NVS partition, the shared parts, the manifest (and the merged image). */
export function buildDevicePlan(input: DevicePlanInput): FlashPlan {
  const {template, device, artifacts, profile, scheme, settings, credentials} = input
  const namespace = nvsNamespace(template)
  const config: DeviceConfig = {
    id: device.id,
    type: device.type,
    wifi: settings.wifi,
    backendUrl: profile.url,
    scheme,
    topics: topicsForProfile(profile, scheme, device),
    intervalSeconds: template.telemetry.intervalSeconds,
    cert: credentials.certPem,
    key: credentials.keyPem,
    ca: credentials.caPem,
    settings: settings.values,
  }
  const items = deviceNvsItems(template, config)
  const nvsSize = template.nvs?.size ?? artifacts.layout.nvs.size
  if (nvsSize > artifacts.layout.nvs.size) {
    throw usageError(`nvs.size (${nvsSize}) is larger than the nvs partition (${artifacts.layout.nvs.size}) in ${template.file}`)
  }
  const nvs = buildNvsImage(namespace, items, nvsSize, device.id)
  const nvsPart: FlashPart = {name: 'nvs', path: PART_FILES.nvs, offset: artifacts.layout.nvs.offset, size: nvs.length, sha256: sha256Hex(nvs), secret: true}
  const parts = [...artifacts.sharedParts, nvsPart].sort((a, b) => a.offset - b.offset)
  const data: FlashPlan['data'] = {'partition-table': artifacts.layout.table, app: artifacts.app.bytes, nvs}
  if (artifacts.bootloader) data.bootloader = artifacts.bootloader.bytes
  const family = CHIP_LAYOUTS[artifacts.boardChip].family
  const manifest: FlashManifest = {
    format: PLAN_FORMAT,
    formatVersion: 1,
    name: `${template.name} (${device.id})`,
    version: artifacts.app.info.version ?? template.version ?? '0.0.0',
    createdAt: input.createdAt ?? new Date().toISOString(),
    device: {id: device.id, type: device.type},
    template: {type: template.type, name: template.name, version: template.version, builtin: template.builtin},
    chip: artifacts.chip,
    boardChip: artifacts.boardChip,
    chipFamily: family,
    flashSize: artifacts.flashSize,
    simulation: artifacts.simulation,
    backend: {profile: profile.name, url: profile.url, scheme},
    app: artifacts.app.info,
    nvs: {namespace, offset: artifacts.layout.nvs.offset, size: nvs.length, keys: items.map((i) => i.key), secretKeys: [...secretNvsKeys(template)]},
    parts,
    builds: [{chipFamily: family, parts: parts.map((p) => ({path: p.path, offset: p.offset}))}],
  }
  if (input.merged) {
    const merged = mergeFlash(parts.map((p) => ({name: p.name, offset: p.offset, data: data[p.name]!})))
    data.merged = merged
    manifest.merged = {path: PART_FILES.merged, offset: 0, size: merged.length, sha256: sha256Hex(merged)}
  }
  return {manifest, data}
}
