import * as Flags from '@oclif/core/flags'
import {FLASH_MODES} from '../lib/image/format.js'
import type {FlashSettings} from '../lib/image/patch.js'

/**
 * --flash-mode/--flash-freq/--flash-size, as esptool's write_flash takes them: iotctl patches the
 * image headers and recomputes their SHA-256 (firmware build and flash share these).
 */
export const flashHeaderFlags = {
  'flash-mode': Flags.option({options: [...FLASH_MODES, 'keep'] as const, summary: 'SPI flash mode written into the image headers (default: keep)'})(),
  'flash-freq': Flags.string({summary: 'SPI flash frequency written into the image headers, e.g. 40m, 80m (default: keep)'}),
  'flash-size': Flags.option({options: ['1MB', '2MB', '4MB', '8MB', '16MB', 'keep'] as const, summary: 'flash size: image headers and partition layout (default: the template’s, 4MB; keep leaves the headers as built)'})(),
}

export function flashSettingsOf(flags: {'flash-mode'?: string; 'flash-freq'?: string; 'flash-size'?: string}): FlashSettings | undefined {
  const settings: FlashSettings = {
    flashMode: flags['flash-mode'] as FlashSettings['flashMode'],
    flashFreq: flags['flash-freq'],
    flashSize: flags['flash-size'],
  }
  return Object.values(settings).some((value) => value !== undefined) ? settings : undefined
}
