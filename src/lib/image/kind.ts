import {BOOTLOADER_DESC_MAGIC, BOOTLOADER_DESC_SIZE, FLASH_MAPPED_RANGES} from './format.js'
import type {EspImageInfo} from './types.js'

/** What an image is for: an application, or a second-stage bootloader. */
export type ImageKind = 'app' | 'bootloader' | 'unknown'

/** esp_bootloader_desc_t of an ESP-IDF bootloader. */
export interface BootloaderDescriptor {
  version: number
  idfVersion: string
  dateTime: string
}

const text = (bytes: Uint8Array) => {
  let out = ''
  for (const b of bytes) {
    if (b === 0) break
    out += String.fromCharCode(b)
  }
  return out
}

/** Parse esp_bootloader_desc_t at the start of `data` (magic byte 0x50), as esptool image-info does. */
export function parseBootloaderDescriptor(data: Uint8Array): BootloaderDescriptor | undefined {
  if (data.length < BOOTLOADER_DESC_SIZE || data[0] !== BOOTLOADER_DESC_MAGIC) return undefined
  const view = new DataView(data.buffer, data.byteOffset, BOOTLOADER_DESC_SIZE)
  return {version: view.getUint32(4, true), idfVersion: text(data.subarray(8, 40)), dateTime: text(data.subarray(40, 64))}
}

/** Encode esp_bootloader_desc_t (80 bytes). */
export function encodeBootloaderDescriptor(desc: BootloaderDescriptor): Uint8Array {
  const out = new Uint8Array(BOOTLOADER_DESC_SIZE)
  out[0] = BOOTLOADER_DESC_MAGIC
  new DataView(out.buffer).setUint32(4, desc.version, true)
  out.set(new TextEncoder().encode(desc.idfVersion.slice(0, 31)), 8)
  out.set(new TextEncoder().encode(desc.dateTime.slice(0, 23)), 40)
  return out
}

/**
 * App or bootloader, as esptool tells them apart: an app has flash-mapped (IROM/DROM) segments and
 * its DROM starts with the app descriptor; a bootloader runs from RAM only (DRAM/IRAM segments) and
 * has no app descriptor. ESP8266 apps load from RAM too, so only a descriptor tells there; without
 * one an ESP8266 image is 'unknown'.
 */
export function imageKind(info: EspImageInfo): ImageKind {
  if (info.appDescriptor) return 'app'
  const ranges = info.chip ? FLASH_MAPPED_RANGES[info.chip] : undefined
  if (!ranges || info.chip === 'esp8266') return 'unknown'
  const mapped = info.segments.some((s) => ranges.some(([from, to]) => s.loadAddress >= from && s.loadAddress < to))
  return mapped ? 'app' : 'bootloader'
}
