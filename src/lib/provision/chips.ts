import {CHIP_FACTS, CHIPS, type Chip} from '../esp/chips.js'
import type {FlashSize} from '../templates/types.js'

export interface ChipLayout {
  /** esp-web-tools chipFamily */
  family: string
  /** where the second-stage bootloader goes */
  bootloaderOffset: number
}

/** Flash layout facts per chip (esp-flashing-reference §3), from the chip catalogue. */
export const CHIP_LAYOUTS = Object.fromEntries(CHIPS.map((chip) => [chip, {family: CHIP_FACTS[chip].displayName, bootloaderOffset: CHIP_FACTS[chip].bootloaderOffset}])) as Record<Chip, ChipLayout>

export {SIM_BOARD_CHIP, boardChip} from '../esp/chips.js'

export {DEFAULT_PARTITIONS, PARTITION_TABLE_OFFSET} from '../partitions/index.js'

export const DEFAULT_FLASH_SIZE: FlashSize = '4MB'

export function flashSizeBytes(size: FlashSize): number {
  return Number.parseInt(size, 10) * 1024 * 1024
}
