import {usageError} from '../console/errors.js'
import type {Chip} from '../esp/chips.js'
import {sha256} from './checks.js'
import {CHIP_NAMES, FLASH_MODES, flashCodes, type FlashMode} from './format.js'
import {parseEspImage} from './parse.js'

/** New flash settings for an image header; 'keep' or undefined leaves a field as it is. */
export interface FlashSettings {
  flashMode?: FlashMode | 'keep'
  /** '40m', '80m', '26m', '20m' (per chip) */
  flashFreq?: string
  /** '1MB' … '16MB' (ESP8266 also '512KB', '256KB', '2MB-c1', '4MB-c1') */
  flashSize?: string
}

/** Whether any of the settings asks for a change. */
export function hasFlashSettings(settings: FlashSettings | undefined): boolean {
  return settings !== undefined && [settings.flashMode, settings.flashFreq, settings.flashSize].some((value) => value !== undefined && value !== 'keep')
}

/**
 * Copy of `image` with flash mode/frequency/size set in header bytes 2 and 3 and, when the
 * image carries an appended SHA-256, that digest recomputed. The image is checked first (so a
 * corrupt image is never re-hashed into a "valid" one); bytes after the image are kept.
 */
export function patchImageHeader(image: Uint8Array, settings: FlashSettings, options: {chip?: Chip} = {}): Uint8Array {
  const info = parseEspImage(image, {chip: options.chip})
  const codes = flashCodes(info.chip)
  const chipName = info.chip ? CHIP_NAMES[info.chip] : info.chipName
  const pick = (what: string, value: string | undefined, table: Record<string, number>): number | undefined => {
    if (value === undefined || value === 'keep') return undefined
    const code = table[value]
    if (code === undefined) throw usageError(`${what} "${value}" is not valid for ${chipName}`, [`Use one of: ${Object.keys(table).join(', ')}`])
    return code
  }
  const modes = Object.fromEntries(FLASH_MODES.map((m, i) => [m, i]))
  const mode = pick('flash mode', settings.flashMode, modes)
  const freq = pick('flash frequency', settings.flashFreq, codes.freq)
  const size = pick('flash size', settings.flashSize, codes.size)

  const out = new Uint8Array(image)
  if (mode !== undefined) out[2] = mode
  if (freq !== undefined) out[3] = (out[3] & 0xf0) | freq
  if (size !== undefined) out[3] = (out[3] & 0x0f) | (size << 4)
  if (info.sha256) out.set(sha256(out.subarray(0, info.sha256.offset)), info.sha256.offset)
  return out
}
