import {createHash} from 'node:crypto'
import {buildSimulationBootloader, buildSimulationImage, checksumOffset, parseEspImage, patchImageHeader, segmentChecksum} from '../../src/lib/image/index.js'
import type {Chip} from '../../src/lib/templates/types.js'

/**
 * A valid ESP app image that is NOT an iotctl simulation image (as a real IDF build would be):
 * a simulation image whose app descriptor is rewritten (project, version, IDF version), with
 * its checksum byte and appended SHA-256 recomputed.
 */
export function appImage(options: {chip: Chip; projectName?: string; version?: string; idfVersion?: string; size?: number; flashSize?: string}): Uint8Array {
  const image = buildSimulationImage({chip: options.chip, templateType: 'x', size: options.size, flashSize: options.flashSize})
  const info = parseEspImage(image)
  const desc = info.segments[0].dataOffset
  const put = (offset: number, length: number, text: string) => {
    image.fill(0, desc + offset, desc + offset + length)
    image.set(new TextEncoder().encode(text), desc + offset)
  }
  put(16, 32, options.version ?? '1.2.3')
  put(48, 32, options.projectName ?? 'greenhouse-fw')
  put(112, 32, options.idfVersion ?? 'v5.2.1')
  const at = checksumOffset(info.segments.at(-1)!.dataOffset + info.segments.at(-1)!.length)
  image[at] = segmentChecksum(image, info.segments)
  if (info.sha256) image.set(createHash('sha256').update(image.subarray(0, at + 1)).digest(), at + 1)
  parseEspImage(image, {chip: options.chip}) // still valid
  return image
}

/**
 * A second-stage bootloader as ESP-IDF builds one (RAM segments only, esp_bootloader_desc_t with an IDF
 * version, no app descriptor), with the header's flash mode and size as given — not iotctl's simulation one.
 */
export function bootloaderImage(options: {chip: Chip; flashMode?: 'qio' | 'qout' | 'dio' | 'dout'; flashSize?: string; codeSize?: number}): Uint8Array {
  const image = buildSimulationBootloader({chip: options.chip, flashSize: options.flashSize ?? '2MB', idfVersion: 'v5.2.1', codeSize: options.codeSize ?? 20_000})
  if (options.flashMode) return patchImageHeader(image, {flashMode: options.flashMode}, {chip: options.chip})
  return image
}
