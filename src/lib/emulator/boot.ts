import type {EmulatedChip, EmulatedChipName} from './chips.js'

/** Where a booting app prints: the board's UART console. */
export interface BootConsole {
  write(text: string): void
}

export interface BootContext {
  /** aborted when the board is reset (host SYNC, reboot, close); the app must stop */
  signal: AbortSignal
  chip: EmulatedChipName
  /** "24:0a:c4:12:34:56" */
  mac: string
  /**
   * Rewrite a flash region (its sectors erased first) and persist it, as the bootloader does with
   * otadata and an app with esp_partition_write; without it the boot only reads the flash.
   */
  writeFlash?: (offset: number, bytes: Uint8Array) => Promise<void>
  /** Reset the board from the app (esp_restart): it boots again from what the flash holds. */
  restart?: (reason: string) => void
}

/**
 * What runs when the board boots from flash: read the partition table, NVS and app, then run the app until
 * `context.signal` aborts. Resolving means the app stopped by itself; throwing (or rejecting) means the boot
 * failed, and the board prints the message and stays in the bootloader.
 */
export type BootHook = (flash: Uint8Array, console: BootConsole, context: BootContext) => Promise<void>

/** A boot failure whose reason the app already printed on the console (the board only adds its own line). */
export class BootFailure extends Error {
  override name = 'BootFailure'
}

/** where the partition table starts: a bootloader image must end before it */
const PARTITION_TABLE_OFFSET = 0x8000

/**
 * What the ROM checks before it jumps to the second-stage bootloader: an image header (0xE9) at the
 * chip's bootloader offset, for this chip, with a valid checksum (and SHA-256 when appended). Returns
 * the ROM's complaint, or undefined when it would boot. Without a bootloader a real chip does not
 * boot, and neither does the virtual board.
 */
export async function bootloaderProblem(flash: Uint8Array, chip: EmulatedChip): Promise<string | undefined> {
  const offset = chip.bootloaderOffset
  const region = flash.subarray(offset, PARTITION_TABLE_OFFSET)
  if (region[0] !== 0xe9) {
    const word = Buffer.from(region.subarray(0, 4)).readUInt32LE(0)
    return `invalid header: 0x${word.toString(16).padStart(8, '0')} (no second-stage bootloader at 0x${offset.toString(16)})`
  }
  const {parseEspImage} = await import('../image/index.js')
  try {
    const info = parseEspImage(region, {strict: false})
    if (info.chip && info.chip !== chip.name) return `the bootloader at 0x${offset.toString(16)} is built for ${info.chipName}, this chip is ${chip.displayName}`
    if (info.problems.length > 0) return `bootloader at 0x${offset.toString(16)}: ${info.problems[0].message}`
  } catch (error) {
    return `bootloader at 0x${offset.toString(16)}: ${error instanceof Error ? error.message : error}`
  }
  return undefined
}

/** Without a device runtime: check the bootloader, as the ROM would, and say what is missing. */
export function defaultBootHook(chip: EmulatedChip): BootHook {
  return async (flash, console) => {
    const problem = await bootloaderProblem(flash, chip)
    if (problem) throw new Error(problem)
    console.write('I (30) boot: virtual board: no device runtime attached, the app is not run\r\n')
  }
}
