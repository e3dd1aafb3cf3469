import {readFile} from 'node:fs/promises'
import {resolve} from 'node:path'
import {ExitCode, IotctlError, explainSystemError, usageError} from '../console/errors.js'
import type {BackendProfile} from '../config/profiles.js'
import type {DeviceCredentials} from '../pki/credentials.js'
import type {DeviceRecord} from '../registry/types.js'
import {sha256Hex} from '../templates/hash.js'
import type {LoadedTemplate} from '../templates/loader.js'
import type {AppSource, Chip, FlashSize, TargetChip} from '../templates/types.js'
import {hasFlashSettings, patchImageHeader, type FlashSettings} from '../image/patch.js'
import {buildSimulationBootloader, imageKind, parseEspImage, type ImageKind} from '../image/index.js'
import {acquireApp, appSourceFor, type AppSourceCallbacks} from './app-source.js'
import {partitionSpecs} from '../partitions/index.js'
import {emptyOtadata, OTADATA_SIZE} from '../partitions/otadata.js'
import {CHIP_LAYOUTS, DEFAULT_FLASH_SIZE, PARTITION_TABLE_OFFSET, boardChip, flashSizeBytes} from './chips.js'
import {checkSettingKeys, deviceNvsItems, secretNvsKeys, type DeviceConfig} from './device-config.js'
import {buildNvsImage, buildPartitionTable, inspectAppImage, makeSimulationImage, mergeFlash, type PartitionLayout} from './formats.js'
import {nvsNamespace} from './nvs-keys.js'
import {PART_FILES, PLAN_FORMAT, type AppInfo, type FlashManifest, type FlashPart, type FlashPlan, type ImageHeader, type ImageHeaders} from './plan-types.js'
import type {ResolvedSettings} from './settings.js'
import {topicsForProfile} from './topics.js'
import {buildFilesystemImage, deviceAppDir, deviceBundleFiles, readDeviceApp} from './bundle.js'
import type {MicroPythonChip} from './device-app-config.js'
import {acquireRuntimeImage, cachedRuntime, filesystemRegion, inspectRuntimeImage, runtimeSourceFor, type FsRegion, type RuntimeImage} from './runtime-image.js'

/** What every device of one chip shares in a build: computed once, checked before anything is written. */
export interface ChipArtifacts {
  chip: TargetChip
  boardChip: Chip
  simulation: boolean
  app: {bytes: Uint8Array; info: AppInfo}
  layout: PartitionLayout
  bootloader?: {bytes: Uint8Array; sha256: string; origin: string}
  /** the parts identical for every device (partition table, app, bootloader; or the MicroPython image) */
  sharedParts: FlashPart[]
  flashSize: FlashSize
  /** what the image headers say after patching */
  headers: ImageHeaders
  /** a MicroPython bundle: the checked firmware image, the filesystem region, the device app's files */
  micropython?: {image: RuntimeImage; fs: FsRegion; app: Map<string, Uint8Array>}
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
  /** --runtime-image FILE: the MicroPython firmware, no download */
  runtimeImageFile?: string
  /** --version: the simulation image's app version (default: the template's version, else 1.0.0) */
  appVersion?: string
  /**
   * For a template with a MicroPython device part: 'micropython' always builds the bundle (downloading
   * the pinned image if needed), 'simulation' never does; 'auto' (default) builds it when the image is
   * at hand (--runtime-image, the cache) or `allowRuntimeDownload` (a real board).
   */
  runtime?: 'auto' | 'micropython' | 'simulation'
  allowRuntimeDownload?: boolean
  /** never download (IOTCTL_OFFLINE): a missing image is an error naming URL, hash and --runtime-image */
  offline?: boolean
}

/**
 * Whether a plan's parts boot an erased (or blank) board: one of them holds the second-stage bootloader —
 * flagged as such (a bootloader part, a runtime image that starts with one), or an image (magic 0xE9)
 * written at the chip's bootloader offset.
 */
export function bootsBlankBoard(parts: ReadonlyArray<{offset: number; bootloader?: boolean; data?: Uint8Array}>, chip: Chip): boolean {
  const offset = CHIP_LAYOUTS[chip].bootloaderOffset
  return parts.some((p) => p.bootloader === true || (p.offset === offset && p.data?.[0] === 0xe9))
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
  if (await usesMicroPython(options, board)) return prepareMicroPython(options, board as MicroPythonChip)
  const source = appSourceFor(template, chip, options.appFile)
  const callbacks = {templateDir: template.dir, cacheDir: options.cacheDir, onDownload: options.onDownload, onBuildOutput: options.onBuildOutput, signal: options.signal}
  const acquired = await acquireApp(source, callbacks)
  // the plan's flash size lays out the partitions and goes into every image header (so they agree),
  // unless --flash-size keep asks to leave the headers as built
  const keepSize = options.flash?.flashSize === 'keep'
  const flashSize = ((!keepSize && options.flash?.flashSize) as FlashSize | undefined) || template.flashSize || DEFAULT_FLASH_SIZE
  const headerSettings: FlashSettings = {flashMode: options.flash?.flashMode ?? 'keep', flashFreq: options.flash?.flashFreq ?? 'keep', flashSize: keepSize ? 'keep' : flashSize}
  const patch = (image: Uint8Array) => (hasFlashSettings(headerSettings) ? patchImageHeader(image, headerSettings, {chip: board}) : image)
  const simulationApp = acquired.kind === 'simulation'
  if (!simulationApp) {
    inspectAppImage(acquired.bytes, board, acquired.origin)
    checkImageKind(acquired.bytes, board, acquired.origin, 'app')
  }
  const bytes = simulationApp ? patch(makeSimulationImage(board, {templateType: template.type, version: options.appVersion ?? template.version, flashSize})) : patch(acquired.bytes)
  const {simulation, ...described} = inspectAppImage(bytes, board, acquired.origin)
  const info: AppInfo = {origin: acquired.origin, kind: acquired.kind, size: bytes.length, sha256: sha256Hex(bytes), ...described}
  const layout = buildPartitionTable(partitionSpecs(template.partitions), {flashSize, appSize: bytes.length, template: template.file})
  const bootloader = await resolveBootloader(options, board, simulationApp, flashSize, patch, callbacks)
  const sharedParts: FlashPart[] = []
  if (bootloader) sharedParts.push({name: 'bootloader', path: PART_FILES.bootloader, offset: CHIP_LAYOUTS[board].bootloaderOffset, size: bootloader.bytes.length, sha256: bootloader.sha256, bootloader: true})
  sharedParts.push({name: 'partition-table', path: PART_FILES['partition-table'], offset: PARTITION_TABLE_OFFSET, size: layout.table.length, sha256: sha256Hex(layout.table)})
  // an OTA layout gets its otadata erased, so the bootloader starts factory (or ota_0), whatever ran before
  if (layout.otadata) sharedParts.push({name: 'otadata', path: PART_FILES.otadata, offset: layout.otadata.offset, size: OTADATA_SIZE, sha256: sha256Hex(emptyOtadata())})
  sharedParts.push({name: 'app', path: PART_FILES.app, offset: layout.app.offset, size: bytes.length, sha256: info.sha256})
  const headers: ImageHeaders = {policy: keepSize ? 'keep' : 'plan', app: headerOf(bytes), ...(bootloader ? {bootloader: headerOf(bootloader.bytes)} : {})}
  return {chip, boardChip: board, simulation, app: {bytes, info}, layout, bootloader, sharedParts, flashSize, headers}
}

/** mode, frequency and size as an image header states them */
function headerOf(image: Uint8Array): ImageHeader {
  const info = parseEspImage(image, {strict: false})
  return {flashMode: info.flashMode ?? `code ${info.flashModeCode}`, flashFreq: info.flashFreq ?? `code ${info.flashFreqCode}`, flashSize: info.flashSize ?? `code ${info.flashSizeCode}`}
}

/**
 * The plan's second-stage bootloader: --bootloader FILE, else the template's, else (simulation plans)
 * iotctl's simulation bootloader; undefined when none is named (the board must already have one).
 */
async function resolveBootloader(
  options: PrepareOptions,
  board: Chip,
  simulationApp: boolean,
  flashSize: FlashSize,
  patch: (image: Uint8Array) => Uint8Array,
  callbacks: Parameters<typeof acquireApp>[1],
): Promise<ChipArtifacts['bootloader']> {
  let data: Uint8Array
  let origin: string
  const fromTemplate = templateBootloader(options.template, board)
  if (options.bootloaderFile) {
    origin = resolve(options.bootloaderFile)
    try {
      data = new Uint8Array(await readFile(origin))
    } catch (error) {
      throw explainSystemError(error, `reading the bootloader ${options.bootloaderFile}`)
    }
  } else if (fromTemplate) {
    const acquired = await acquireApp(fromTemplate, callbacks)
    if (acquired.kind === 'simulation') throw usageError(`Template "${options.template.type}": bootloader cannot be a simulation source`)
    data = acquired.bytes
    origin = acquired.origin
  } else if (simulationApp) {
    data = buildSimulationBootloader({chip: board, flashSize})
    origin = 'simulation'
  } else {
    return undefined
  }
  inspectAppImage(data, board, origin, {bootloader: true})
  checkImageKind(data, board, origin, 'bootloader')
  data = patch(data)
  const offset = CHIP_LAYOUTS[board].bootloaderOffset
  if (offset + data.length > PARTITION_TABLE_OFFSET) {
    throw new IotctlError(`The bootloader (${data.length} bytes at 0x${offset.toString(16)}) runs into the partition table at 0x${PARTITION_TABLE_OFFSET.toString(16)}`, {code: 'BOOTLOADER_TOO_LARGE', exit: ExitCode.VERIFY})
  }
  return {bytes: data, sha256: sha256Hex(data), origin}
}

function templateBootloader(template: LoadedTemplate, chip: Chip): AppSource | undefined {
  const source = template.bootloader
  if (source === undefined) return undefined
  if ('path' in source || 'url' in source || 'build' in source) return source as AppSource
  return (source as Partial<Record<Chip, AppSource>>)[chip]
}

/** An ESP-IDF bootloader passed as the app (or an app as the bootloader) is refused, as esptool tells them apart. */
function checkImageKind(bytes: Uint8Array, chip: Chip, origin: string, expected: ImageKind): void {
  let info
  try {
    info = parseEspImage(bytes, {strict: false})
  } catch {
    return // inspectAppImage names the structural problem
  }
  const kind = imageKind(info)
  if (kind === expected || kind === 'unknown') return
  if (expected === 'app') {
    throw new IotctlError(`${origin} is a second-stage bootloader (RAM segments only, no app descriptor), not an application image`, {
      code: 'IMAGE_IS_BOOTLOADER',
      exit: ExitCode.VERIFY,
      details: {chip},
      suggestions: ['Pass it as --bootloader FILE, and the app (build/<project>.bin) as --app'],
    })
  }
  throw new IotctlError(`${origin} is an application image, not a second-stage bootloader`, {
    code: 'IMAGE_NOT_BOOTLOADER',
    exit: ExitCode.VERIFY,
    details: {chip},
    suggestions: ['Pass build/bootloader/bootloader.bin as --bootloader, and the app as --app'],
  })
}

const MICROPYTHON_CHIPS: readonly Chip[] = ['esp32', 'esp8266']

/** Whether this build is a MicroPython bundle (see PrepareOptions.runtime). */
async function usesMicroPython(options: PrepareOptions, board: Chip): Promise<boolean> {
  const {template, chip} = options
  const mode = options.runtime ?? 'auto'
  if (mode === 'simulation' || options.appFile || chip === 'sim') return false
  if (template.device?.runtime !== 'micropython' || !MICROPYTHON_CHIPS.includes(board)) {
    if (mode === 'micropython' || options.runtimeImageFile) {
      throw usageError(`Template "${template.type}" has no MicroPython device part for ${board}`, [`Add device: {runtime: 'micropython', …} to ${template.file}`])
    }
    return false
  }
  if (mode === 'micropython' || options.runtimeImageFile || options.allowRuntimeDownload) return true
  return (await cachedRuntime(template.device.images[board as MicroPythonChip], options.cacheDir)) !== undefined
}

/** The shared part of a MicroPython bundle: the firmware image, checked, and where the filesystem goes. */
async function prepareMicroPython(options: PrepareOptions, board: MicroPythonChip): Promise<ChipArtifacts> {
  const {template, chip} = options
  const source = options.runtimeImageFile ? undefined : runtimeSourceFor(template, board)
  const acquired = await acquireRuntimeImage({
    chip: board,
    source,
    file: options.runtimeImageFile,
    cacheDir: options.cacheDir,
    allowDownload: options.runtime === 'micropython' || options.allowRuntimeDownload === true,
    offline: options.offline,
    onDownload: options.onDownload,
    signal: options.signal,
  })
  const image = inspectRuntimeImage(acquired.bytes, board, acquired.origin)
  // the official image is written as it was published: no header patching
  const flashSize = ((options.flash?.flashSize !== 'keep' && options.flash?.flashSize) as FlashSize | undefined) || template.flashSize || DEFAULT_FLASH_SIZE
  const fs = filesystemRegion(image, flashSizeBytes(flashSize))
  const app = await readDeviceApp(deviceAppDir(), {precompiled: board === 'esp8266'})
  const info: AppInfo = {origin: acquired.origin, kind: 'micropython', size: image.bytes.length, sha256: image.sha256, projectName: image.app.projectName, version: image.app.version, idfVersion: image.app.idfVersion}
  const entries = image.partitions ?? []
  const nvs = entries.find((p) => p.type === 1 && p.subtype === 2)
  const factory = entries.find((p) => p.offset === image.app.offset)
  const layout: PartitionLayout = {
    table: new Uint8Array(0),
    entries,
    nvs: nvs ? {name: nvs.name, offset: nvs.offset, size: nvs.size} : {name: '', offset: 0, size: 0},
    app: factory ? {name: factory.name, offset: factory.offset, size: factory.size} : {name: 'firmware', offset: 0, size: image.bytes.length},
  }
  // the MicroPython image brings its own second-stage bootloader (ESP32) or is the boot image itself (ESP8266)
  const sharedParts: FlashPart[] = [{name: 'runtime', path: PART_FILES.runtime, offset: image.offset, size: image.bytes.length, sha256: image.sha256, bootloader: true}]
  const headers: ImageHeaders = {
    policy: 'keep',
    app: headerOf(image.bytes.subarray(image.app.offset - image.offset)),
    ...(board === 'esp32' ? {bootloader: headerOf(image.bytes)} : {}),
  }
  return {chip, boardChip: board, simulation: false, app: {bytes: image.bytes, info}, layout, sharedParts, flashSize, headers, micropython: {image, fs, app}}
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
  if (input.artifacts.micropython) return buildBundlePlan(input, input.artifacts.micropython)
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
  if (artifacts.layout.otadata) data.otadata = emptyOtadata()
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
    headers: artifacts.headers,
    bootsBlankBoard: bootsBlankBoard(parts.map((p) => ({...p, data: data[p.name]})), artifacts.boardChip),
    simulation: artifacts.simulation,
    backend: {profile: profile.name, url: profile.url, scheme},
    app: artifacts.app.info,
    nvs: {namespace, offset: artifacts.layout.nvs.offset, size: nvs.length, keys: items.map((i) => i.key), secretKeys: [...secretNvsKeys(template)]},
    parts,
    builds: [{chipFamily: family, parts: parts.map((p) => ({path: p.path, offset: p.offset}))}],
  }
  if (input.merged) {
    if (!artifacts.bootloader) {
      throw usageError(`A merged image for ${device.id} would overwrite the bootloader area with 0xFF: the plan has no second-stage bootloader`, [
        'Pass --bootloader build/bootloader/bootloader.bin',
        'Or name one in the template: bootloader: {path: …}',
      ])
    }
    const merged = mergeFlash(parts.map((p) => ({name: p.name, offset: p.offset, data: data[p.name]!})))
    data.merged = merged
    manifest.merged = {path: PART_FILES.merged, offset: 0, size: merged.length, sha256: sha256Hex(merged)}
  }
  return {manifest, data}
}

/** A MicroPython bundle's plan: the firmware image, then the filesystem with app, config.json and DER certificates. */
function buildBundlePlan(input: DevicePlanInput, mp: NonNullable<ChipArtifacts['micropython']>): FlashPlan {
  const {template, device, artifacts, profile, scheme, settings, credentials} = input
  const chip = mp.image.chip
  const files = deviceBundleFiles({template, device, chip, profile, scheme, settings, credentials, app: mp.app})
  const fs = buildFilesystemImage(files, mp.fs.size, device.id)
  const parts: FlashPart[] = [...artifacts.sharedParts, {name: 'fs', path: PART_FILES.fs, offset: mp.fs.offset, size: fs.length, sha256: sha256Hex(fs), secret: true}]
  const data: FlashPlan['data'] = {runtime: mp.image.bytes, fs}
  const family = CHIP_LAYOUTS[artifacts.boardChip].family
  const manifest: FlashManifest = {
    format: PLAN_FORMAT,
    formatVersion: 1,
    name: `${template.name} (${device.id})`,
    version: template.version ?? '0.0.0',
    createdAt: input.createdAt ?? new Date().toISOString(),
    device: {id: device.id, type: device.type},
    template: {type: template.type, name: template.name, version: template.version, builtin: template.builtin},
    chip: artifacts.chip,
    boardChip: artifacts.boardChip,
    chipFamily: family,
    flashSize: artifacts.flashSize,
    simulation: false,
    backend: {profile: profile.name, url: profile.url, scheme},
    app: artifacts.app.info,
    runtime: {kind: 'micropython', origin: mp.image.origin, offset: mp.image.offset, sha256: mp.image.sha256, version: mp.image.app.version},
    fs: {format: 'fat', offset: mp.fs.offset, size: fs.length, files: [...files.keys()]},
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
