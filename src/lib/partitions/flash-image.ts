import {ENTRY_MAGIC, PARTITION_TABLE_MAX, PARTITION_TABLE_OFFSET} from './format.js'
import {findAppPartition, findPartition} from './layout.js'
import {OTADATA_SIZE, otaLayout, readOtadata, type OtadataInfo} from './otadata.js'
import {readPartitionTable} from './table.js'
import type {PartitionEntry} from './types.js'

/**
 * A whole flash image (a merged .bin, a virtual board's flash) read the way the bootloader reads it:
 * the partition table at 0x8000, then the app slots (factory, ota_N), otadata and the NVS partition
 * it names. Both the virtual board's boot and `firmware inspect` read flash through this one reader.
 */
export interface FlashImageLayout {
  /** the partition table, in table order */
  entries: PartitionEntry[]
  /** the OTA app slots in slot order (ota_0, ota_1, …) */
  slots: PartitionEntry[]
  factory?: PartitionEntry
  /** the first data/nvs partition: the device configuration */
  nvs?: PartitionEntry
  /** the otadata partition, when it lies inside the image */
  otadata?: {entry: PartitionEntry; bytes: Uint8Array; info: OtadataInfo}
  /** the app partition the bootloader starts: the slot otadata names, else factory, else ota_0 */
  boot?: PartitionEntry
  /** where the last partition ends (MicroPython mounts its filesystem from here to the end of flash) */
  end: number
}

/** What sits at the partition table's offset: a table, erased flash, or something else (e.g. an ESP8266 NONOS build). */
export function partitionTableAt(flash: Uint8Array, offset = PARTITION_TABLE_OFFSET): 'table' | 'erased' | 'none' {
  if (flash.length < offset + 32) return 'none'
  if (flash[offset] === ENTRY_MAGIC[0] && flash[offset + 1] === ENTRY_MAGIC[1]) return 'table'
  return flash[offset] === 0xff ? 'erased' : 'none'
}

/** The bytes of a partition, cut at the end of the image. */
export function partitionBytes(flash: Uint8Array, entry: PartitionEntry): Uint8Array {
  return flash.subarray(entry.offset, Math.min(flash.length, entry.offset + entry.size))
}

/** Whether the whole partition lies inside the image. */
export const partitionFits = (flash: Uint8Array, entry: PartitionEntry): boolean => entry.offset + entry.size <= flash.length

/**
 * Read the partition table of a flash image and locate its parts. Throws the table reader's
 * error (PARTITION_TABLE_CORRUPT, PARTITION_INVALID) when the table at `offset` is broken.
 */
export function readFlashImage(flash: Uint8Array, offset = PARTITION_TABLE_OFFSET): FlashImageLayout {
  const {entries} = readPartitionTable(flash.subarray(offset, offset + PARTITION_TABLE_MAX))
  const {slots, otadata: otadataEntry, factory} = otaLayout(entries)
  const layout: FlashImageLayout = {
    entries,
    slots,
    ...(factory ? {factory} : {}),
    end: Math.max(...entries.map((e) => e.offset + e.size)),
  }
  const nvs = findPartition(entries, 'data', 'nvs')
  if (nvs) layout.nvs = nvs
  let boot = findAppPartition(entries)
  if (otadataEntry && otadataEntry.offset + OTADATA_SIZE <= flash.length) {
    const bytes = flash.subarray(otadataEntry.offset, otadataEntry.offset + OTADATA_SIZE)
    const info = readOtadata(bytes, slots.length)
    layout.otadata = {entry: otadataEntry, bytes, info}
    if (info.bootSlot !== undefined && slots[info.bootSlot]) boot = slots[info.bootSlot]
  }
  if (boot) layout.boot = boot
  return layout
}
