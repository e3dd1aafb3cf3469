/**
 * The chip catalogue: every chip fact more than one part of iotctl needs (esp-flashing-reference §1–§3).
 * Templates, the registry, image, provision, flash and the emulator read chips from here, nowhere else.
 */

/** The chips iotctl builds, flashes and emulates for. */
export const CHIPS = ['esp32', 'esp8266', 'esp32s2', 'esp32s3', 'esp32c3', 'esp32c6'] as const
export type Chip = (typeof CHIPS)[number]

/** Chips a template or a registered device can name; 'sim' means a virtual device only (simulate, emulate). */
export const TARGET_CHIPS = [...CHIPS, 'sim'] as const
export type TargetChip = (typeof TARGET_CHIPS)[number]

export interface ChipFacts {
  /** what esptool prints, and esp-web-tools' chipFamily */
  displayName: string
  /** IMAGE_CHIP_ID of the image's extended header; ESP8266 images have no extended header */
  imageChipId?: number
  /** where the second-stage bootloader goes */
  bootloaderOffset: number
}

export const CHIP_FACTS: Record<Chip, ChipFacts> = {
  esp32: {displayName: 'ESP32', imageChipId: 0, bootloaderOffset: 0x1000},
  esp8266: {displayName: 'ESP8266', bootloaderOffset: 0x0},
  esp32s2: {displayName: 'ESP32-S2', imageChipId: 2, bootloaderOffset: 0x1000},
  esp32s3: {displayName: 'ESP32-S3', imageChipId: 9, bootloaderOffset: 0x0},
  esp32c3: {displayName: 'ESP32-C3', imageChipId: 5, bootloaderOffset: 0x0},
  esp32c6: {displayName: 'ESP32-C6', imageChipId: 13, bootloaderOffset: 0x0},
}

/** The chips the virtual board can be. */
export const EMULATED_CHIPS = ['esp32', 'esp8266', 'esp32s3', 'esp32c3'] as const satisfies readonly Chip[]
export type EmulatedChipName = (typeof EMULATED_CHIPS)[number]

/** A simulation-only device is laid out (and emulated) as an ESP32. */
export const SIM_BOARD_CHIP: Chip = 'esp32'

export function boardChip(chip: TargetChip): Chip {
  return chip === 'sim' ? SIM_BOARD_CHIP : chip
}

/** The baud rate every ROM bootloader talks at after reset. */
export const ROM_BAUD = 115_200

/** The stub loader's command that leaves the loader and runs the app. */
export const RUN_USER_CODE = 0xd3

/**
 * Two ROM words next to the chip magic that a virtual board fills with "iotcvirt", so a host can tell it
 * from real silicon (whose ROM holds code there) before writing a simulation-only image.
 */
export const VIRTUAL_BOARD_MARKER: ReadonlyArray<readonly [number, number]> = [
  [0x40001004, 0x63746f69],
  [0x40001008, 0x74726976],
]
