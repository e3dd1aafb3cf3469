import {CHIP_FACTS, CHIPS, type Chip} from '../esp/chips.js'

/**
 * ESP firmware image layout (esp-flashing-reference §3): 8-byte header, on ESP32-family chips a
 * 16-byte extended header, segments (load address, length, data), a checksum byte at an offset
 * ≡ 15 (mod 16), then an optional SHA-256 of everything before it.
 */

export const IMAGE_MAGIC = 0xe9
/** ESP8266 "V2" images (some NONOS SDK builds) start with this; not supported */
export const IMAGE_V2_MAGIC = 0xea
export const HEADER_SIZE = 8
export const EXTENDED_HEADER_SIZE = 16
export const SEGMENT_HEADER_SIZE = 8
export const MAX_SEGMENTS = 16
export const CHECKSUM_SEED = 0xef
export const SHA256_SIZE = 32

/** offsets inside the extended header (image offset 8 + n) */
export const EXT = {wpPin: 0, spiPinDrv: 1, chipId: 4, minChipRev: 6, minChipRevFull: 7, maxChipRevFull: 9, hashAppended: 15} as const

/** IMAGE_CHIP_ID of the extended header (ESP8266 has no extended header). */
export const CHIP_IDS: Partial<Record<Chip, number>> = Object.fromEntries(CHIPS.flatMap((chip) => (CHIP_FACTS[chip].imageChipId === undefined ? [] : [[chip, CHIP_FACTS[chip].imageChipId]])))

const OTHER_CHIPS: Record<number, string> = {12: 'ESP32-C2', 16: 'ESP32-H2', 18: 'ESP32-P4', 20: 'ESP32-C61', 23: 'ESP32-C5', 25: 'ESP32-H21', 28: 'ESP32-H4'}

export const CHIP_NAMES = Object.fromEntries(CHIPS.map((chip) => [chip, CHIP_FACTS[chip].displayName])) as Record<Chip, string>

export function chipFromId(id: number): Chip | undefined {
  return (Object.keys(CHIP_IDS) as Chip[]).find((chip) => CHIP_IDS[chip] === id)
}

export function chipIdName(id: number): string {
  const chip = chipFromId(id)
  return chip ? CHIP_NAMES[chip] : (OTHER_CHIPS[id] ?? `unknown chip (id ${id})`)
}

export const FLASH_MODES = ['qio', 'qout', 'dio', 'dout'] as const
export type FlashMode = (typeof FLASH_MODES)[number]

const FREQ_DEFAULT: Record<string, number> = {'80m': 0xf, '40m': 0x0, '26m': 0x1, '20m': 0x2}
// ESP32-C6: code 0 means 80 MHz (40 MHz is the same code)
const FREQ_C6: Record<string, number> = {'80m': 0x0, '40m': 0x0, '20m': 0x2}
const SIZE_ESP8266: Record<string, number> = {'512KB': 0, '256KB': 1, '1MB': 2, '2MB': 3, '4MB': 4, '2MB-c1': 5, '4MB-c1': 6, '8MB': 8, '16MB': 9}
const SIZE_ESP32: Record<string, number> = {'1MB': 0, '2MB': 1, '4MB': 2, '8MB': 3, '16MB': 4, '32MB': 5, '64MB': 6, '128MB': 7}

/** Header byte 3 codes per chip: high nibble flash size, low nibble flash frequency. */
export function flashCodes(chip: Chip | undefined): {freq: Record<string, number>; size: Record<string, number>} {
  return {freq: chip === 'esp32c6' ? FREQ_C6 : FREQ_DEFAULT, size: chip === 'esp8266' ? SIZE_ESP8266 : SIZE_ESP32}
}

export function codeName(codes: Record<string, number>, code: number): string | undefined {
  return Object.entries(codes).find(([, c]) => c === code)?.[0]
}

/** esp_app_desc_t: 256 bytes at the start of the first segment's data */
export const APP_DESC_MAGIC = 0xabcd5432
export const APP_DESC_SIZE = 256
export const APP_DESC = {
  magic: 0,
  secureVersion: 4,
  version: [16, 32],
  projectName: [48, 32],
  time: [80, 16],
  date: [96, 16],
  idfVersion: [112, 32],
  elfSha256: [144, 32],
  minEfuseBlkRev: 176,
  maxEfuseBlkRev: 178,
  mmuPageSize: 180,
} as const

/**
 * Flash-mapped (cache) address ranges per chip: where an app's IROM/DROM segments load. A
 * second-stage bootloader runs from RAM only, so it has no segment here (esptool's memory map,
 * `esptool/targets/*.py` MEMORY_MAP; chip fact kept beside the other image facts until the chip
 * catalogue src/lib/esp/chips.ts exists).
 */
export const FLASH_MAPPED_RANGES: Record<Chip, ReadonlyArray<readonly [number, number]>> = {
  esp32: [
    [0x3f40_0000, 0x3f80_0000],
    [0x400c_2000, 0x40c0_0000],
  ],
  esp32s2: [
    [0x3f00_0000, 0x3ff8_0000],
    [0x4008_0000, 0x4080_0000],
  ],
  esp32s3: [
    [0x3c00_0000, 0x3e00_0000],
    [0x4200_0000, 0x4400_0000],
  ],
  esp32c3: [
    [0x3c00_0000, 0x3c80_0000],
    [0x4200_0000, 0x4280_0000],
  ],
  esp32c6: [[0x4200_0000, 0x4300_0000]],
  esp8266: [[0x4020_0000, 0x4030_0000]],
}

/** esp_bootloader_desc_t: 80 bytes at the start of a bootloader's first DRAM segment (ESP-IDF ≥ 5.2) */
export const BOOTLOADER_DESC_MAGIC = 0x50
export const BOOTLOADER_DESC_SIZE = 80
