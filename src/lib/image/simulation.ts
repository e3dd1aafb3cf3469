import {usageError} from '../console/errors.js'
import type {Chip} from '../esp/chips.js'
import {encodeAppDescriptor} from './app-desc.js'
import {encodeBootloaderDescriptor, parseBootloaderDescriptor} from './kind.js'
import {checksumOffset, segmentChecksum, sha256} from './checks.js'
import {CHIP_IDS, EXTENDED_HEADER_SIZE, HEADER_SIZE, IMAGE_MAGIC, SEGMENT_HEADER_SIZE, SHA256_SIZE, flashCodes} from './format.js'
import {parseEspImage} from './parse.js'
import type {EspImageInfo} from './types.js'

/**
 * idf_ver of every simulation image (what marks it as one); its project_name is the template type and its
 * version the app version, as in any ESP-IDF app. Images from before versions held the type in `version`
 * with project_name 'iotctl-sim' (still read).
 */
export const SIMULATION_PROJECT_NAME = 'iotctl-sim'
/** the app version a simulation image carries when neither the template nor the build names one */
export const DEFAULT_APP_VERSION = '1.0.0'

/**
 * Behaviour a test build can carry for the virtual board (unhealthy OTA images): 'offline' never
 * reaches its backend, 'crash' panics right after boot (a boot loop).
 */
export const SIMULATION_FAULTS = ['offline', 'crash'] as const
export type SimulationFault = (typeof SIMULATION_FAULTS)[number]

/** Where each chip maps flash rodata (DROM) and instruction RAM, so the image looks like an IDF app. */
const ADDRESSES: Record<Chip, {drom: number; iram: number}> = {
  esp32: {drom: 0x3f40_0020, iram: 0x4008_0000},
  esp32s2: {drom: 0x3f00_0020, iram: 0x4002_2000},
  esp32s3: {drom: 0x3c00_0020, iram: 0x4037_0000},
  esp32c3: {drom: 0x3c00_0020, iram: 0x4038_0000},
  esp32c6: {drom: 0x4280_0020, iram: 0x4080_0000},
  esp8266: {drom: 0x3ffe_8000, iram: 0x4010_0000},
}

/** Where an ESP-IDF second-stage bootloader loads its data and code (RAM only, as the ROM requires). */
const BOOTLOADER_ADDRESSES: Record<Chip, {dram: number; iram: number}> = {
  esp32: {dram: 0x3fff_0030, iram: 0x4007_8000},
  esp32s2: {dram: 0x3ffe_6100, iram: 0x4004_c000},
  esp32s3: {dram: 0x3fcd_b700, iram: 0x403c_9700},
  esp32c3: {dram: 0x3fcd_6100, iram: 0x403c_e000},
  esp32c6: {dram: 0x4087_5620, iram: 0x4086_9000},
  esp8266: {dram: 0x3ffe_8000, iram: 0x4010_f000},
}

/** esp_bootloader_desc_t idf_ver of the simulation bootloader */
export const SIMULATION_BOOTLOADER_NAME = 'iotctl-sim-bootloader'

export interface SimulationImageOptions {
  chip: Chip
  /** the template type (e.g. 'temp'), stored as the app descriptor's project_name */
  templateType: string
  /** the app version (esp_app_desc_t.version, ≤ 31 characters); default DEFAULT_APP_VERSION */
  version?: string
  /** a fault the virtual board acts out when it runs the image */
  fault?: SimulationFault
  /** total image size in bytes (a multiple of 16); the rodata segment is padded to reach it */
  size?: number
  /** flash size written in the header (default '4MB') */
  flashSize?: string
}

const encoder = new TextEncoder()

/** Deterministic filler that does not compress, so a padded image costs a real image's transfer time. */
function filler(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length)
  let x = seed >>> 0 || 0x9e37_79b9
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

function assemble(chip: Chip, segments: {address: number; data: Uint8Array}[], flashSize: string, entry?: number): Uint8Array {
  const esp32Family = chip !== 'esp8266'
  const headerSize = HEADER_SIZE + (esp32Family ? EXTENDED_HEADER_SIZE : 0)
  const end = headerSize + segments.reduce((n, s) => n + SEGMENT_HEADER_SIZE + s.data.length, 0)
  const checksumAt = checksumOffset(end)
  const image = new Uint8Array(checksumAt + 1 + (esp32Family ? SHA256_SIZE : 0))
  const view = new DataView(image.buffer)
  const codes = flashCodes(chip)
  const sizeCode = codes.size[flashSize]
  if (sizeCode === undefined) throw usageError(`flash size "${flashSize}" is not valid for ${chip}`)
  image[0] = IMAGE_MAGIC
  image[1] = segments.length
  image[2] = 2 // DIO
  image[3] = (sizeCode << 4) | codes.freq['40m']
  view.setUint32(4, entry ?? segments[segments.length - 1].address, true) // entry point: start of the IRAM segment
  if (esp32Family) {
    image[HEADER_SIZE] = 0xee // WP pin disabled
    view.setUint16(HEADER_SIZE + 4, CHIP_IDS[chip]!, true)
    view.setUint16(HEADER_SIZE + 9, 0xffff, true) // no maximum chip revision
    image[HEADER_SIZE + 15] = 1 // SHA-256 appended
  }
  let offset = headerSize
  const placed = segments.map((s) => {
    view.setUint32(offset, s.address, true)
    view.setUint32(offset + 4, s.data.length, true)
    image.set(s.data, offset + SEGMENT_HEADER_SIZE)
    const dataOffset = offset + SEGMENT_HEADER_SIZE
    offset = dataOffset + s.data.length
    return {dataOffset, length: s.data.length}
  })
  image[checksumAt] = segmentChecksum(image, placed)
  if (esp32Family) image.set(sha256(image.subarray(0, checksumAt + 1)), checksumAt + 1)
  return image
}

/**
 * A small but valid ESP app image that only iotctl's virtual board runs: the app descriptor
 * says project `iotctl-sim`, version = template type; checksum and (ESP32 family) SHA-256 are
 * correct, so parseEspImage accepts it. Deterministic: the same options give the same bytes.
 */
export function buildSimulationImage(options: SimulationImageOptions): Uint8Array {
  const {chip, templateType} = options
  const addresses = ADDRESSES[chip]
  if (!addresses) throw usageError(`no simulation image for chip "${chip}"`)
  const version = options.version ?? DEFAULT_APP_VERSION
  if (options.fault !== undefined && !SIMULATION_FAULTS.includes(options.fault)) throw usageError(`unknown simulation fault "${options.fault}" (known: ${SIMULATION_FAULTS.join(', ')})`)
  const descriptor = encodeAppDescriptor({
    version,
    projectName: templateType,
    time: '00:00:00',
    date: 'Jan  1 2000',
    idfVersion: SIMULATION_PROJECT_NAME,
    elfSha256: sha256(encoder.encode(`${SIMULATION_PROJECT_NAME}:${chip}:${templateType}:${version}${options.fault ? `:${options.fault}` : ''}`)),
    mmuPageSize: chip === 'esp8266' ? undefined : 0x10000,
  })
  const faultNote = options.fault ? `; ${FAULT_MARK}${options.fault}` : ''
  const note = encoder.encode(`iotctl simulation image for template "${templateType}" on ${chip}: runs only on the iotctl virtual board${faultNote}\0`)
  const rodata = (padding: number) => {
    const data = new Uint8Array(descriptor.length + Math.ceil(note.length / 4) * 4 + padding)
    data.set(descriptor)
    data.set(note, descriptor.length)
    data.set(filler(padding, data.length), data.length - padding)
    return data
  }
  // segment data stays a multiple of 4 bytes, as esptool pads it
  const code = new Uint8Array(16)
  const flashSize = options.flashSize ?? '4MB'
  const build = (padding: number) =>
    assemble(chip, [{address: addresses.drom, data: rodata(padding)}, {address: addresses.iram, data: code}], flashSize)
  const base = build(0)
  if (options.size === undefined) return base
  // growing a segment by 16 bytes grows the image by exactly 16 (checksum alignment unchanged)
  if (!Number.isInteger(options.size) || options.size < base.length || (options.size - base.length) % 16 !== 0) {
    throw usageError(`a ${chip} simulation image can be ${base.length} bytes or that plus a multiple of 16, not ${options.size}`)
  }
  return build(options.size - base.length)
}

const FAULT_MARK = 'iotctl-fault='

/** Whether an image (bytes or parsed) is a valid iotctl simulation image. */
export function isSimulationImage(image: Uint8Array | EspImageInfo): boolean {
  if (image instanceof Uint8Array) {
    try {
      image = parseEspImage(image)
    } catch {
      return false
    }
  }
  const d = image.appDescriptor
  return image.problems.length === 0 && (d?.idfVersion === SIMULATION_PROJECT_NAME || d?.projectName === SIMULATION_PROJECT_NAME)
}

function simulationInfo(image: Uint8Array | EspImageInfo): EspImageInfo | undefined {
  const info = image instanceof Uint8Array ? (isSimulationImage(image) ? parseEspImage(image) : undefined) : image
  return info && isSimulationImage(info) ? info : undefined
}

/** An image from before simulation images carried a version: project 'iotctl-sim', the type in `version`. */
const legacy = (info: EspImageInfo) => info.appDescriptor!.projectName === SIMULATION_PROJECT_NAME

/** The template type a simulation image was built for, or undefined for other images. */
export function simulationTemplateType(image: Uint8Array | EspImageInfo): string | undefined {
  const info = simulationInfo(image)
  if (!info) return undefined
  return legacy(info) ? info.appDescriptor!.version : info.appDescriptor!.projectName
}

/** The app version of a simulation image (undefined for other images and for ones built before versions). */
export function simulationAppVersion(image: Uint8Array | EspImageInfo): string | undefined {
  const info = simulationInfo(image)
  return info && !legacy(info) ? info.appDescriptor!.version : undefined
}

/** The fault a simulation image was built to act out (read from its note in the rodata segment). */
export function simulationFault(bytes: Uint8Array): SimulationFault | undefined {
  const info = simulationInfo(bytes)
  const rodata = info?.segments[0]
  if (!rodata) return undefined
  const text = Buffer.from(bytes.subarray(rodata.dataOffset, rodata.dataOffset + Math.min(rodata.length, 1024))).toString('latin1')
  const found = new RegExp(`${FAULT_MARK}([a-z-]+)`).exec(text)?.[1]
  return SIMULATION_FAULTS.find((f) => f === found)
}


/**
 * The second-stage bootloader of a simulation plan: a valid ESP bootloader image (RAM segments only,
 * an esp_bootloader_desc_t naming iotctl, checksum and SHA-256 right) that esptool recognises as a
 * bootloader. Only the virtual board "runs" it; with it a simulation plan boots an erased board.
 */
export function buildSimulationBootloader(options: {chip: Chip; flashSize?: string; idfVersion?: string; codeSize?: number}): Uint8Array {
  const addresses = BOOTLOADER_ADDRESSES[options.chip]
  if (!addresses) throw usageError(`no simulation bootloader for chip "${options.chip}"`)
  const descriptor = encodeBootloaderDescriptor({version: 1, idfVersion: options.idfVersion ?? SIMULATION_BOOTLOADER_NAME, dateTime: 'Jan  1 2000 00:00:00'})
  const note = encoder.encode(`iotctl simulation bootloader for ${options.chip}: runs only on the iotctl virtual board\0`)
  const data = new Uint8Array(descriptor.length + Math.ceil(note.length / 4) * 4)
  data.set(descriptor)
  data.set(note, descriptor.length)
  const code = filler(Math.ceil((options.codeSize ?? 1024) / 4) * 4, 0xb007)
  return assemble(options.chip, [{address: addresses.dram, data}, {address: addresses.iram, data: code}], options.flashSize ?? '4MB', addresses.iram)
}

/** Whether an image is the simulation bootloader. */
export function isSimulationBootloader(image: Uint8Array): boolean {
  let info: EspImageInfo
  try {
    info = parseEspImage(image)
  } catch {
    return false
  }
  const first = info.segments[0]
  return parseBootloaderDescriptor(image.subarray(first.dataOffset, first.dataOffset + first.length))?.idfVersion === SIMULATION_BOOTLOADER_NAME
}
