import type {Chip} from '../esp/chips.js'
import {parseAppDescriptor} from './app-desc.js'
import {checksumOffset, segmentChecksum, sha256, toHex} from './checks.js'
import {imageError} from './errors.js'
import {
  CHIP_NAMES,
  EXT,
  EXTENDED_HEADER_SIZE,
  FLASH_MODES,
  HEADER_SIZE,
  IMAGE_MAGIC,
  IMAGE_V2_MAGIC,
  MAX_SEGMENTS,
  SEGMENT_HEADER_SIZE,
  SHA256_SIZE,
  chipFromId,
  chipIdName,
  codeName,
  flashCodes,
} from './format.js'
import type {EspExtendedHeader, EspImageInfo, EspImageProblem, EspImageSegment, ParseImageOptions} from './types.js'

const u16 = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8)
const u32 = (b: Uint8Array, o: number) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0
const hex = (n: number) => `0x${n.toString(16)}`

/**
 * Whether bytes 8..23 are an extended header. ESP8266 images have none: their first segment's
 * load address follows the header, and ESP8266 addresses (0x3FFxxxxx/0x40xxxxxx) never look like
 * a WP-pin byte plus three drive-strength bytes.
 */
export function hasExtendedHeader(image: Uint8Array): boolean {
  return image.length >= HEADER_SIZE + 4 && u32(image, HEADER_SIZE) < 0x1000_0000
}

function truncated(what: string, need: number, have: number) {
  return imageError('IMAGE_TRUNCATED', `image is truncated: ${what} needs ${need} bytes, the file has ${have}`, {need, have})
}

function readExtendedHeader(image: Uint8Array): EspExtendedHeader {
  const e = HEADER_SIZE
  return {
    wpPin: image[e + EXT.wpPin],
    spiPinDrive: [image[e + 1], image[e + 2], image[e + 3]],
    chipId: u16(image, e + EXT.chipId),
    minChipRev: image[e + EXT.minChipRev],
    minChipRevFull: u16(image, e + EXT.minChipRevFull),
    maxChipRevFull: u16(image, e + EXT.maxChipRevFull),
    hashAppended: image[e + EXT.hashAppended] === 1,
  }
}

/**
 * Parse and check an ESP app or bootloader image: magic, segments, the chip (against
 * `options.chip`), the checksum byte and the appended SHA-256; reports the app descriptor.
 * Structural failures (magic, truncation) always throw; with strict: false the other checks
 * are collected in `problems`.
 */
export function parseEspImage(image: Uint8Array, options: ParseImageOptions = {}): EspImageInfo {
  const strict = options.strict ?? true
  const problems: EspImageProblem[] = []
  const fail = (problem: EspImageProblem, details: Record<string, unknown> = {}) => {
    if (strict) throw imageError(problem.code, problem.message, {expected: problem.expected, actual: problem.actual, ...details})
    problems.push(problem)
  }

  if (image.length < HEADER_SIZE) throw truncated('the 8-byte header', HEADER_SIZE, image.length)
  if (image[0] === IMAGE_V2_MAGIC) {
    throw imageError('IMAGE_UNSUPPORTED', 'this is an ESP8266 "V2" image (magic 0xEA); iotctl handles only 0xE9 images', {actual: image[0]}, [
      'Build a V1 (Arduino/PlatformIO or ESP8266_RTOS_SDK) image',
    ])
  }
  if (image[0] !== IMAGE_MAGIC) {
    throw imageError('IMAGE_BAD_MAGIC', `not an ESP image: the first byte is ${hex(image[0])}, expected 0xe9`, {expected: IMAGE_MAGIC, actual: image[0]}, [
      'Pass the application .bin (not the .elf, and not a merged flash image)',
    ])
  }

  const extended = hasExtendedHeader(image)
  if (extended && image.length < HEADER_SIZE + EXTENDED_HEADER_SIZE) throw truncated('the extended header', HEADER_SIZE + EXTENDED_HEADER_SIZE, image.length)
  const extendedHeader = extended ? readExtendedHeader(image) : undefined
  const hashFlag = image[HEADER_SIZE + EXT.hashAppended]
  if (extended && hashFlag > 1) throw imageError('IMAGE_INVALID', `not a valid ESP image: the hash-appended flag is ${hex(hashFlag)}, expected 0 or 1`, {actual: hashFlag})
  const chip: Chip | undefined = extendedHeader ? chipFromId(extendedHeader.chipId) : 'esp8266'
  const chipName = extendedHeader ? chipIdName(extendedHeader.chipId) : CHIP_NAMES.esp8266

  if (options.chip && options.chip !== chip) {
    fail(
      {
        code: 'IMAGE_CHIP_MISMATCH',
        message: `the image is built for ${chipName}${extendedHeader ? ` (chip id ${extendedHeader.chipId})` : ' (no extended header)'}, but the target chip is ${CHIP_NAMES[options.chip]}`,
        expected: options.chip,
        actual: chip ?? chipName,
      },
    )
  }

  const segmentCount = image[1]
  if (segmentCount === 0 || segmentCount > MAX_SEGMENTS) {
    throw imageError('IMAGE_INVALID', `not a valid ESP image: ${segmentCount} segments (1..${MAX_SEGMENTS} expected)`, {actual: segmentCount})
  }
  const segments: EspImageSegment[] = []
  let offset = HEADER_SIZE + (extended ? EXTENDED_HEADER_SIZE : 0)
  for (let i = 0; i < segmentCount; i++) {
    if (offset + SEGMENT_HEADER_SIZE > image.length) throw truncated(`segment ${i}'s header`, offset + SEGMENT_HEADER_SIZE, image.length)
    const length = u32(image, offset + 4)
    const dataOffset = offset + SEGMENT_HEADER_SIZE
    if (dataOffset + length > image.length) throw truncated(`segment ${i} (${length} bytes at ${hex(dataOffset)})`, dataOffset + length, image.length)
    segments.push({loadAddress: u32(image, offset), length, dataOffset})
    offset = dataOffset + length
  }

  const checksumAt = checksumOffset(offset)
  if (checksumAt >= image.length) throw truncated('the checksum byte', checksumAt + 1, image.length)
  const checksum = {offset: checksumAt, stored: image[checksumAt], computed: segmentChecksum(image, segments)}
  if (checksum.stored !== checksum.computed) {
    fail({code: 'IMAGE_CHECKSUM', message: `image checksum mismatch: stored ${hex(checksum.stored)}, computed ${hex(checksum.computed)}`, expected: checksum.stored, actual: checksum.computed})
  }

  let length = checksumAt + 1
  let digest: EspImageInfo['sha256']
  if (extendedHeader?.hashAppended) {
    if (length + SHA256_SIZE > image.length) throw truncated('the appended SHA-256', length + SHA256_SIZE, image.length)
    digest = {offset: length, stored: Buffer.from(image.subarray(length, length + SHA256_SIZE)).toString('hex'), computed: toHex(sha256(image.subarray(0, length)))}
    length += SHA256_SIZE
    if (digest.stored !== digest.computed) {
      fail({code: 'IMAGE_SHA256', message: `appended SHA-256 mismatch: stored ${digest.stored}, computed ${digest.computed}`, expected: digest.stored, actual: digest.computed})
    }
  }

  const codes = flashCodes(chip)
  const first = segments[0]
  return {
    chip,
    chipName,
    segmentCount,
    flashMode: FLASH_MODES[image[2]],
    flashModeCode: image[2],
    flashFreq: codeName(codes.freq, image[3] & 0x0f),
    flashFreqCode: image[3] & 0x0f,
    flashSize: codeName(codes.size, image[3] >> 4),
    flashSizeCode: image[3] >> 4,
    entryPoint: u32(image, 4),
    extendedHeader,
    segments,
    checksum,
    sha256: digest,
    length,
    appDescriptor: parseAppDescriptor(image.subarray(first.dataOffset, first.dataOffset + first.length)),
    problems,
  }
}
