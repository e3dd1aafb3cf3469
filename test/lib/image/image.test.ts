import {describe, expect, it} from 'vitest'
import {IotctlError} from '../../../src/lib/console/errors.js'
import {
  buildSimulationImage,
  isSimulationImage,
  parseEspImage,
  patchImageHeader,
  simulationTemplateType,
  simulationAppVersion,
  simulationFault,
} from '../../../src/lib/image/index.js'
import type {Chip} from '../../../src/lib/templates/types.js'
import {checksum, layout, le16, le32, reseal, sha256} from './helpers.js'

function errorOf(fn: () => unknown): IotctlError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(IotctlError)
    return error as IotctlError
  }
  throw new Error('expected an error')
}

const esp32 = buildSimulationImage({chip: 'esp32', templateType: 'temp'})
const esp8266 = buildSimulationImage({chip: 'esp8266', templateType: 'light'})

describe('simulation images (byte level)', () => {
  it('ESP32: header, extended header with chip id 0 and hash flag, app descriptor at 0x20, checksum, SHA-256', () => {
    expect([esp32[0], esp32[1]]).toEqual([0xe9, 2])
    expect(esp32[2]).toBe(2) // DIO
    expect(esp32[3]).toBe(0x20) // 4MB (2 << 4) | 40 MHz (0)
    expect(esp32[8]).toBe(0xee) // WP pin disabled
    expect(le16(esp32, 12)).toBe(0) // chip id
    expect(esp32[23]).toBe(1) // hash appended
    expect(le32(esp32, 0x20)).toBe(0xabcd5432)
    // esp_app_desc_t: version[32] at 16, project_name[32] at 48, idf_ver[32] at 112
    expect(Buffer.from(esp32.subarray(0x20 + 16, 0x20 + 22)).toString()).toBe('1.0.0\0')
    expect(Buffer.from(esp32.subarray(0x20 + 48, 0x20 + 53)).toString()).toBe('temp\0')
    expect(Buffer.from(esp32.subarray(0x20 + 112, 0x20 + 122)).toString()).toBe('iotctl-sim')
    const {checksumAt, end} = layout(esp32, true)
    expect(esp32.subarray(end, checksumAt).every((b) => b === 0)).toBe(true)
    expect(esp32[checksumAt]).toBe(checksum(esp32, true))
    expect(esp32.length).toBe(checksumAt + 1 + 32)
    expect(Buffer.from(esp32.subarray(checksumAt + 1)).equals(sha256(esp32.subarray(0, checksumAt + 1)))).toBe(true)
  })

  it('ESP8266: no extended header, descriptor at the start of the first segment, checksum, no SHA-256', () => {
    expect(esp8266[0]).toBe(0xe9)
    expect(esp8266[3]).toBe(0x40) // 4MB on ESP8266 is size code 4
    expect(le32(esp8266, 8)).toBe(0x3ffe8000) // first segment's load address follows the 8-byte header
    expect(le32(esp8266, 16)).toBe(0xabcd5432)
    const {checksumAt} = layout(esp8266, false)
    expect(esp8266.length).toBe(checksumAt + 1)
    expect(esp8266[checksumAt]).toBe(checksum(esp8266, false))
  })

  for (const chip of ['esp32', 'esp32s2', 'esp32s3', 'esp32c3', 'esp32c6', 'esp8266'] as Chip[]) {
    it(`${chip}: parses, passes every check and is recognised as a simulation image`, () => {
      const image = buildSimulationImage({chip, templateType: 'temp'})
      const info = parseEspImage(image, {chip})
      expect(info).toMatchObject({chip, flashMode: 'dio', flashFreq: chip === 'esp32c6' ? '80m' : '40m', flashSize: '4MB', problems: []})
      expect(info.appDescriptor).toMatchObject({projectName: 'temp', version: '1.0.0', idfVersion: 'iotctl-sim', date: 'Jan  1 2000'})
      expect(info.appDescriptor!.elfSha256).toMatch(/^[0-9a-f]{64}$/)
      expect(info.length).toBe(image.length)
      expect(info.sha256 === undefined).toBe(chip === 'esp8266')
      expect(isSimulationImage(image)).toBe(true)
      expect(simulationTemplateType(image)).toBe('temp')
      expect(info.entryPoint).toBe(info.segments[1].loadAddress)
    })
  }

  it('is deterministic', () => {
    expect(Buffer.from(buildSimulationImage({chip: 'esp32', templateType: 'temp'})).equals(Buffer.from(esp32))).toBe(true)
  })

  it('pads to a requested size inside the rodata segment and stays valid', () => {
    for (const chip of ['esp32', 'esp8266'] as Chip[]) {
      const big = buildSimulationImage({chip, templateType: 'temp', size: 0x100000})
      expect(big.length).toBe(0x100000)
      const info = parseEspImage(big, {chip})
      expect(info.segments[0].length).toBeGreaterThan(0x100000 - 200)
      expect(isSimulationImage(big)).toBe(true)
    }
    expect(() => buildSimulationImage({chip: 'esp32', templateType: 'temp', size: esp32.length + 8})).toThrow(/or that plus a multiple of 16/)
    expect(() => buildSimulationImage({chip: 'esp32', templateType: 'temp', size: 100})).toThrow(/simulation image can be/)
  })

  it('carries the app version and a fault flag; reads images from before versions (type in the version field)', () => {
    const v2 = buildSimulationImage({chip: 'esp32', templateType: 'temp', version: '2.1.0'})
    expect(parseEspImage(v2).appDescriptor).toMatchObject({version: '2.1.0', projectName: 'temp'})
    expect(simulationAppVersion(v2)).toBe('2.1.0')
    expect(simulationFault(v2)).toBeUndefined()
    const sick = buildSimulationImage({chip: 'esp32', templateType: 'temp', version: '2.2.0', fault: 'offline', size: 0x10000})
    expect(isSimulationImage(sick)).toBe(true)
    expect(simulationFault(sick)).toBe('offline')
    expect(simulationFault(buildSimulationImage({chip: 'esp8266', templateType: 'temp', fault: 'crash'}))).toBe('crash')
    expect(() => buildSimulationImage({chip: 'esp32', templateType: 'temp', fault: 'melt' as never})).toThrow(/unknown simulation fault "melt"/)
    expect(() => buildSimulationImage({chip: 'esp32', templateType: 'temp', version: 'v'.repeat(32)})).toThrow(/version .* at most 31/)
    // an image built before versions: project 'iotctl-sim', the type where the version goes
    const old = esp32.slice()
    old.set(Buffer.from('temp\0\0\0\0\0\0'), 0x20 + 16)
    old.set(Buffer.from('iotctl-sim\0'), 0x20 + 48)
    const legacy = reseal(old, true)
    expect(isSimulationImage(legacy)).toBe(true)
    expect(simulationTemplateType(legacy)).toBe('temp')
    expect(simulationAppVersion(legacy)).toBeUndefined()
  })

  it('is not a simulation image when idf_ver does not name iotctl-sim', () => {
    const other = esp32.slice()
    other.set(Buffer.from('v5.2.1\0\0\0\0'), 0x20 + 112)
    const sealed = reseal(other, true)
    expect(parseEspImage(sealed).appDescriptor?.idfVersion).toBe('v5.2.1')
    expect(isSimulationImage(sealed)).toBe(false)
    expect(simulationTemplateType(sealed)).toBeUndefined()
    expect(isSimulationImage(other)).toBe(false) // checksum no longer matches
    expect(isSimulationImage(new Uint8Array([1, 2, 3]))).toBe(false)
  })

  it('rejects template types too long for the descriptor', () => {
    expect(() => buildSimulationImage({chip: 'esp32', templateType: 'x'.repeat(32)})).toThrow(/at most 31 printable ASCII characters/)
  })
})

describe('image checks', () => {
  it('rejects a wrong magic, an ESP8266 V2 image, and a truncated image', () => {
    const notImage = esp32.slice()
    notImage[0] = 0x7f
    expect(errorOf(() => parseEspImage(notImage))).toMatchObject({code: 'IMAGE_BAD_MAGIC', exit: 6})
    const v2 = esp8266.slice()
    v2[0] = 0xea
    expect(errorOf(() => parseEspImage(v2)).code).toBe('IMAGE_UNSUPPORTED')
    for (const cut of [4, 20, 100, esp32.length - 40, esp32.length - 1]) {
      expect(errorOf(() => parseEspImage(esp32.subarray(0, cut))).code, `cut at ${cut}`).toBe('IMAGE_TRUNCATED')
    }
  })

  it('reports the chip mismatch against the target chip', () => {
    expect(errorOf(() => parseEspImage(esp32, {chip: 'esp32s3'})).message).toBe('the image is built for ESP32 (chip id 0), but the target chip is ESP32-S3')
    expect(errorOf(() => parseEspImage(esp32, {chip: 'esp8266'})).code).toBe('IMAGE_CHIP_MISMATCH')
    expect(errorOf(() => parseEspImage(esp8266, {chip: 'esp32'})).message).toBe('the image is built for ESP8266 (no extended header), but the target chip is ESP32')
    const c5 = esp32.slice()
    c5[12] = 23
    const sealed = reseal(c5, true)
    expect(parseEspImage(sealed)).toMatchObject({chip: undefined, chipName: 'ESP32-C5'})
    expect(errorOf(() => parseEspImage(sealed, {chip: 'esp32'})).message).toMatch(/built for ESP32-C5 \(chip id 23\)/)
  })

  it('detects a checksum mismatch (a segment byte changed) and an appended SHA-256 mismatch', () => {
    const data = esp8266.slice()
    data[40] ^= 0x10
    const e = errorOf(() => parseEspImage(data))
    expect(e.code).toBe('IMAGE_CHECKSUM')
    expect(e.message).toMatch(/image checksum mismatch: stored 0x[0-9a-f]+, computed 0x[0-9a-f]+/)

    const header = esp32.slice()
    header[4] ^= 0x01 // entry point: outside the segments, so only the SHA-256 notices
    expect(errorOf(() => parseEspImage(header)).code).toBe('IMAGE_SHA256')
    const both = esp32.slice()
    both[0x40] ^= 0x01
    expect(errorOf(() => parseEspImage(both)).code).toBe('IMAGE_CHECKSUM')
    const lenient = parseEspImage(both, {strict: false})
    expect(lenient.problems.map((p) => p.code)).toEqual(['IMAGE_CHECKSUM', 'IMAGE_SHA256'])
    expect(lenient.sha256!.stored).not.toBe(lenient.sha256!.computed)
  })

  it('detects every single bit flipped in an ESP32 image, except the hash-appended flag itself', () => {
    const hashFlagBit = 23 * 8
    for (let bit = 0; bit < esp32.length * 8; bit++) {
      if (bit === hashFlagBit) continue
      const copy = esp32.slice()
      copy[bit >> 3] ^= 1 << (bit & 7)
      expect(() => parseEspImage(copy, {chip: 'esp32'}), `bit ${bit}`).toThrow(IotctlError)
    }
    // clearing the flag turns the digest into ignored trailing bytes: the format cannot tell (nor can esptool)
    const unflagged = esp32.slice()
    unflagged[23] = 0
    expect(parseEspImage(unflagged)).toMatchObject({sha256: undefined, length: esp32.length - 32})
    unflagged[23] = 2
    expect(errorOf(() => parseEspImage(unflagged)).message).toMatch(/hash-appended flag is 0x2, expected 0 or 1/)
  })

  it('ignores bytes after the image (e.g. the rest of a partition read back from flash)', () => {
    const padded = new Uint8Array(esp32.length + 4096).fill(0xff)
    padded.set(esp32)
    expect(parseEspImage(padded).length).toBe(esp32.length)
  })
})

describe('patching flash settings', () => {
  it('sets mode, frequency and size, recomputes the SHA-256, leaves the checksum', () => {
    const patched = patchImageHeader(esp32, {flashMode: 'qio', flashFreq: '80m', flashSize: '16MB'})
    expect([patched[2], patched[3]]).toEqual([0, 0x4f])
    const {checksumAt} = layout(patched, true)
    expect(patched[checksumAt]).toBe(esp32[checksumAt])
    expect(Buffer.from(patched.subarray(checksumAt + 1)).equals(sha256(patched.subarray(0, checksumAt + 1)))).toBe(true)
    expect(parseEspImage(patched, {chip: 'esp32'})).toMatchObject({flashMode: 'qio', flashFreq: '80m', flashSize: '16MB', problems: []})
    expect(esp32[2]).toBe(2) // input untouched
  })

  it("keeps fields given as 'keep' or left out", () => {
    const patched = patchImageHeader(esp32, {flashMode: 'keep', flashSize: '2MB'})
    expect(parseEspImage(patched)).toMatchObject({flashMode: 'dio', flashFreq: '40m', flashSize: '2MB'})
    expect(Buffer.from(patchImageHeader(esp32, {})).equals(Buffer.from(esp32))).toBe(true)
  })

  it('patches ESP8266 images with their own size codes and no SHA-256', () => {
    const patched = patchImageHeader(esp8266, {flashSize: '1MB', flashFreq: '26m'})
    expect(patched[3]).toBe(0x21)
    expect(patched.length).toBe(esp8266.length)
    expect(parseEspImage(patched)).toMatchObject({flashSize: '1MB', flashFreq: '26m'})
    expect(() => patchImageHeader(esp8266, {flashSize: '32MB'})).toThrow(/flash size "32MB" is not valid for ESP8266/)
  })

  it('keeps bytes after the image and refuses to re-hash a corrupt image', () => {
    const padded = new Uint8Array(esp32.length + 16).fill(0xff)
    padded.set(esp32)
    const patched = patchImageHeader(padded, {flashMode: 'dout'})
    expect(patched.subarray(esp32.length).every((b) => b === 0xff)).toBe(true)
    expect(parseEspImage(patched).flashMode).toBe('dout')
    const corrupt = esp32.slice()
    corrupt[0x50] ^= 4
    expect(errorOf(() => patchImageHeader(corrupt, {flashMode: 'dout'})).code).toBe('IMAGE_CHECKSUM')
    expect(() => patchImageHeader(esp32, {flashMode: 'fast' as 'qio'})).toThrow(/flash mode "fast" is not valid for ESP32/)
  })
})
