import {existsSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {join, resolve} from 'node:path'
import {ExitCode, IotctlError, explainSystemError, notFound} from '../console/errors.js'
import {parseEspImage} from '../image/index.js'
import {PARTITION_TABLE_OFFSET, findAppPartition, readPartitionTable, type PartitionEntry} from '../partitions/index.js'
import {sha256Hex} from '../templates/hash.js'
import type {RuntimeImageSource, TemplateDefinition} from '../templates/types.js'
import {download, type AppSourceCallbacks} from './app-source.js'
import type {MicroPythonChip} from './device-app-config.js'

/** Where a chip's combined MicroPython image is flashed. */
const RUNTIME_OFFSETS: Record<MicroPythonChip, number> = {esp32: 0x1000, esp8266: 0x0}

/** MicroPython's ESP8266 build keeps 20 KB at the end of flash for the SDK's parameters (flashbdev.py). */
const ESP8266_SDK_RESERVED = 20 * 1024
/** ESP8266_GENERIC (2 MiB+ builds): firmware and ROM-mapped area end at 1 MiB; the filesystem starts there. */
export const ESP8266_FS_START = 0x100000

export interface RuntimeImage {
  chip: MicroPythonChip
  bytes: Uint8Array
  sha256: string
  /** a URL, a file path */
  origin: string
  offset: number
  /** ESP32: the partition table inside the image */
  partitions?: PartitionEntry[]
  app: {offset: number; projectName?: string; version?: string; idfVersion?: string}
}

/** Where the filesystem goes and how big it is. */
export interface FsRegion {
  offset: number
  size: number
}

/** The template's pinned image for a chip, or a clear error. */
export function runtimeSourceFor(template: Pick<TemplateDefinition, 'device'> & {type: string; file: string}, chip: MicroPythonChip): RuntimeImageSource {
  const source = template.device?.images[chip]
  if (!source) {
    throw new IotctlError(`Template "${template.type}" names no MicroPython image for ${chip}`, {
      code: 'RUNTIME_IMAGE_MISSING',
      exit: ExitCode.USAGE,
      suggestions: [`Pass one: --runtime-image FILE`, `Or add device.images.${chip} ({url, sha256, size}) to ${template.file}`],
    })
  }
  return source
}

function unavailable(source: RuntimeImageSource, chip: MicroPythonChip, why: string, cause?: unknown): IotctlError {
  const pinned = source.sha256 ? `sha256 ${source.sha256}${source.size ? `, ${source.size} bytes` : ''}` : 'no sha256 pinned in the template'
  return new IotctlError(`The MicroPython image for ${chip} is not at hand: ${why}. It is ${source.url} (${pinned})`, {
    code: 'RUNTIME_IMAGE_UNAVAILABLE',
    exit: source.sha256 ? ExitCode.NETWORK : ExitCode.USAGE,
    cause,
    suggestions: [`Download it yourself${source.sha256 ? ', check its sha256' : ''}, and pass it: --runtime-image FILE`],
    details: {url: source.url, sha256: source.sha256, size: source.size, flag: '--runtime-image'},
  })
}

export interface AcquireRuntimeOptions extends AppSourceCallbacks {
  chip: MicroPythonChip
  source?: RuntimeImageSource
  /** --runtime-image FILE (no network) */
  file?: string
  cacheDir: string
  /** false: only a cached copy or the file counts (virtual boards, builds that must not fetch) */
  allowDownload: boolean
  /** IOTCTL_OFFLINE: never download, say so */
  offline?: boolean
}

/** The cached copy of a pinned image, if there is a good one. */
export async function cachedRuntime(source: RuntimeImageSource | undefined, cacheDir: string): Promise<Uint8Array | undefined> {
  if (!source?.sha256) return undefined
  const path = join(cacheDir, 'images', `${source.sha256.toLowerCase()}.bin`)
  if (!existsSync(path)) return undefined
  const bytes = new Uint8Array(await readFile(path))
  return sha256Hex(bytes) === source.sha256.toLowerCase() ? bytes : undefined
}

/** The runtime image bytes: --runtime-image FILE, the cache, or one download (checked by sha256 and size). */
export async function acquireRuntimeImage(options: AcquireRuntimeOptions): Promise<{bytes: Uint8Array; origin: string}> {
  if (options.file) {
    const path = resolve(options.file)
    try {
      return {bytes: new Uint8Array(await readFile(path)), origin: path}
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notFound('RUNTIME_IMAGE_NOT_FOUND', `The runtime image ${path} does not exist`, ['Check the path given to --runtime-image'])
      throw explainSystemError(error, `reading ${path}`)
    }
  }
  const source = options.source
  if (!source) throw new IotctlError(`No MicroPython image is named for ${options.chip}`, {code: 'RUNTIME_IMAGE_MISSING', exit: ExitCode.USAGE, suggestions: ['--runtime-image FILE']})
  const cached = await cachedRuntime(source, options.cacheDir)
  if (cached) return {bytes: cached, origin: source.url}
  if (!source.sha256) throw unavailable(source, options.chip, 'iotctl downloads only images whose SHA-256 the template pins')
  if (options.offline) throw unavailable(source, options.chip, 'it is not in the cache, and IOTCTL_OFFLINE is set')
  if (!options.allowDownload) throw unavailable(source, options.chip, 'it is not in the cache, and this run does not download')
  let bytes: Uint8Array
  try {
    bytes = await download({url: source.url, sha256: source.sha256}, options.cacheDir, options)
  } catch (error) {
    if (error instanceof IotctlError && error.code === 'APP_DOWNLOAD_FAILED') throw unavailable(source, options.chip, error.message, error)
    throw error
  }
  if (source.size !== undefined && bytes.length !== source.size) {
    throw new IotctlError(`The image from ${source.url} has ${bytes.length} bytes, not the pinned ${source.size}`, {code: 'RUNTIME_IMAGE_MISMATCH', exit: ExitCode.VERIFY})
  }
  return {bytes, origin: source.url}
}

function bad(origin: string, message: string): IotctlError {
  return new IotctlError(`${origin} is not a MicroPython image for this chip: ${message}`, {
    code: 'RUNTIME_IMAGE_INVALID',
    exit: ExitCode.VERIFY,
    suggestions: ['Use the combined firmware .bin from micropython.org/download (ESP32_GENERIC / ESP8266_GENERIC)'],
  })
}

/**
 * Check a combined MicroPython image and find its parts. ESP32: bootloader at file offset 0 (flash
 * 0x1000), partition table at file offset 0x7000 (flash 0x8000), app in the factory slot, whose app
 * descriptor names the project "micropython". ESP8266: one image at 0x0.
 */
export function inspectRuntimeImage(bytes: Uint8Array, chip: MicroPythonChip, origin: string): RuntimeImage {
  const offset = RUNTIME_OFFSETS[chip]
  const sha256 = sha256Hex(bytes)
  const parse = (at: number, what: string) => {
    try {
      return parseEspImage(bytes.subarray(at), {chip, strict: true})
    } catch (error) {
      throw bad(origin, `${what} at file offset 0x${at.toString(16)}: ${(error as Error).message}`)
    }
  }
  if (chip === 'esp8266') {
    if (bytes.length > ESP8266_FS_START) throw bad(origin, `${bytes.length} bytes run past 0x${ESP8266_FS_START.toString(16)}, where the filesystem starts`)
    parse(0, 'the firmware image')
    return {chip, bytes, sha256, origin, offset, app: {offset: 0}}
  }
  parse(0, 'the bootloader')
  const tableAt = PARTITION_TABLE_OFFSET - offset
  if (bytes.length < tableAt + 32) throw bad(origin, 'it ends before the partition table (file offset 0x7000)')
  let partitions: PartitionEntry[]
  try {
    partitions = readPartitionTable(bytes.subarray(tableAt, tableAt + 0xc00)).entries
  } catch (error) {
    throw bad(origin, `partition table at file offset 0x${tableAt.toString(16)}: ${(error as Error).message}`)
  }
  const factory = findAppPartition(partitions)
  if (!factory) throw bad(origin, 'its partition table has no app partition')
  const appAt = factory.offset - offset
  if (appAt >= bytes.length) throw bad(origin, `it ends before the app at flash 0x${factory.offset.toString(16)}`)
  const app = parse(appAt, 'the app')
  const d = app.appDescriptor
  if (d?.projectName !== 'micropython') throw bad(origin, `the app's descriptor names project "${d?.projectName ?? '(none)'}", not "micropython"`)
  if (bytes.length > factory.offset + factory.size - offset) throw bad(origin, `it runs past the end of the ${factory.name} partition`)
  return {chip, bytes, sha256, origin, offset, partitions, app: {offset: factory.offset, projectName: d.projectName, version: d.version, idfVersion: d.idfVersion}}
}

/**
 * Where MicroPython mounts its filesystem. ESP32 (v1.26+): from the end of the last partition in
 * the image's table to the end of flash (4 MB with v1.27.0: 0x200000, 2 MB). ESP8266_GENERIC: from
 * 1 MiB to the end of flash less the SDK's 20 KB (flashbdev.py), so 2 MB of flash at least.
 */
export function filesystemRegion(runtime: RuntimeImage, flashBytes: number): FsRegion {
  if (runtime.chip === 'esp8266') {
    const size = flashBytes - ESP8266_SDK_RESERVED - ESP8266_FS_START
    if (flashBytes < 2 * 1024 * 1024) {
      throw new IotctlError(`MicroPython's ESP8266_GENERIC image needs 2 MB of flash or more; this layout has ${flashBytes / 1024 / 1024} MB`, {code: 'FLASH_TOO_SMALL', exit: ExitCode.USAGE})
    }
    return {offset: ESP8266_FS_START, size}
  }
  const end = Math.max(...(runtime.partitions ?? []).map((p) => p.offset + p.size))
  if (!(end < flashBytes)) {
    throw new IotctlError(`The image's partitions reach 0x${end.toString(16)}, leaving no room for a filesystem in ${flashBytes / 1024 / 1024} MB of flash`, {code: 'FLASH_TOO_SMALL', exit: ExitCode.USAGE})
  }
  return {offset: end, size: flashBytes - end}
}
