import {crc32} from 'node:zlib'
import {APP_TYPE, DATA_TYPE, SUBTYPE} from './format.js'
import type {PartitionEntry} from './types.js'

/**
 * ESP-IDF's otadata partition: two 4 KB sectors, each starting with one esp_ota_select_entry_t
 * (32 bytes, little-endian): ota_seq u32, seq_label[20], ota_state u32, crc u32, the rest 0xFF.
 * crc = esp_rom_crc32_le(UINT32_MAX, &ota_seq, 4), which is zlib's CRC-32 seeded with
 * 0xFFFFFFFF over the 4 sequence bytes. The bootloader boots the valid entry with the highest
 * sequence: app slot ota_((seq - 1) mod number-of-slots).
 */
export const OTADATA_SIZE = 0x2000
export const OTADATA_SECTOR = 0x1000
export const OTA_ENTRY_SIZE = 32

/** esp_ota_img_states_t */
export const OTA_IMG_STATES = {new: 0x0, 'pending-verify': 0x1, valid: 0x2, invalid: 0x3, aborted: 0x4, undefined: 0xffffffff} as const
export type OtaImgState = keyof typeof OTA_IMG_STATES

export const otaStateName = (code: number): OtaImgState | `0x${string}` =>
  (Object.entries(OTA_IMG_STATES).find(([, v]) => v === code)?.[0] as OtaImgState | undefined) ?? `0x${code.toString(16)}`

export function otaSeqCrc(seq: number): number {
  const bytes = Buffer.alloc(4)
  bytes.writeUInt32LE(seq >>> 0)
  return crc32(bytes, 0xffffffff) >>> 0
}

export interface OtaSelectEntry {
  /** which copy: 0 (first sector) or 1 */
  index: number
  seq: number
  /** seq_label as hex (0xFF… when unused) */
  label: string
  state: OtaImgState | `0x${string}`
  stateCode: number
  crc: number
  crcOk: boolean
  /** what bootloader_common_ota_select_valid says: seq set, CRC right, not invalid or aborted */
  valid: boolean
}

export interface OtadataInfo {
  entries: [OtaSelectEntry, OtaSelectEntry]
  /** the entry the bootloader follows, or -1 (both invalid: it boots factory, else ota_0) */
  active: number
  /** the OTA slot index the bootloader boots, given the number of slots; undefined = factory (or ota_0 without one) */
  bootSlot?: number
}

function readEntry(data: Uint8Array, index: number): OtaSelectEntry {
  const view = Buffer.from(data.buffer, data.byteOffset + index * OTADATA_SECTOR, OTA_ENTRY_SIZE)
  const seq = view.readUInt32LE(0)
  const stateCode = view.readUInt32LE(24)
  const crc = view.readUInt32LE(28)
  const crcOk = crc === otaSeqCrc(seq)
  const state = otaStateName(stateCode)
  return {index, seq, label: view.subarray(4, 24).toString('hex'), state, stateCode, crc, crcOk, valid: seq !== 0xffffffff && crcOk && stateCode !== OTA_IMG_STATES.invalid && stateCode !== OTA_IMG_STATES.aborted}
}

/** Decode both copies and say which slot boots (`slots` = number of ota_N partitions). */
export function readOtadata(data: Uint8Array, slots?: number): OtadataInfo {
  if (data.length < OTADATA_SIZE) throw new Error(`otadata is ${data.length} bytes; it must be 0x2000`)
  const entries: [OtaSelectEntry, OtaSelectEntry] = [readEntry(data, 0), readEntry(data, 1)]
  const [a, b] = entries
  const active = a.valid && b.valid ? (a.seq >= b.seq ? 0 : 1) : a.valid ? 0 : b.valid ? 1 : -1
  const info: OtadataInfo = {entries, active}
  if (active >= 0 && slots) info.bootSlot = (entries[active as 0 | 1].seq - 1) % slots
  return info
}

/** ESP-IDF's initial otadata (ota_data_initial.bin): both sectors erased. */
export function emptyOtadata(): Uint8Array {
  return new Uint8Array(OTADATA_SIZE).fill(0xff)
}

function writeEntry(data: Uint8Array, index: number, seq: number, stateCode: number): void {
  const sector = data.subarray(index * OTADATA_SECTOR, (index + 1) * OTADATA_SECTOR)
  // the sector is erased and the whole entry rewritten (seq_label stays erased, as esp_ota_ops leaves it)
  sector.fill(0xff)
  const view = Buffer.from(sector.buffer, sector.byteOffset, OTA_ENTRY_SIZE)
  view.writeUInt32LE(seq >>> 0, 0)
  view.writeUInt32LE(stateCode >>> 0, 24)
  view.writeUInt32LE(otaSeqCrc(seq), 28)
}

/**
 * esp_ota_set_boot_partition for OTA slot `slot` of `slots`: the next sequence number that
 * maps to that slot and is not below the active one, written into the copy that is not active.
 * `state` is what esp_ota_ops writes: 'new' with app rollback enabled, else 'undefined'.
 */
export function selectOtaSlot(data: Uint8Array, slot: number, slots: number, state: OtaImgState = 'new'): Uint8Array {
  if (slot < 0 || slot >= slots) throw new Error(`slot ${slot} is not one of the ${slots} OTA slots`)
  const next = new Uint8Array(data)
  const info = readOtadata(next)
  const target = slot + 1
  if (info.active < 0) {
    writeEntry(next, 0, target, OTA_IMG_STATES[state])
    return next
  }
  const base = info.entries[info.active as 0 | 1].seq
  let i = 0
  while (base > (target % slots) + i * slots) i++
  writeEntry(next, info.active === 0 ? 1 : 0, (target % slots) + i * slots, OTA_IMG_STATES[state])
  return next
}

/** Change the state of one copy (esp_ota_mark_app_valid_cancel_rollback, …_invalid_rollback). */
export function setOtaEntryState(data: Uint8Array, index: number, state: OtaImgState): Uint8Array {
  const next = new Uint8Array(data)
  const entry = readEntry(next, index)
  writeEntry(next, index, entry.seq, OTA_IMG_STATES[state])
  return next
}

/** The OTA app slots of a table in slot order, and its otadata partition. */
export function otaLayout(entries: readonly PartitionEntry[]): {slots: PartitionEntry[]; otadata?: PartitionEntry; factory?: PartitionEntry} {
  const slots = entries.filter((e) => e.type === APP_TYPE && e.subtype >= SUBTYPE.otaFirst && e.subtype <= SUBTYPE.otaLast).sort((a, b) => a.subtype - b.subtype)
  return {
    slots,
    otadata: entries.find((e) => e.type === DATA_TYPE && e.subtype === SUBTYPE.otadata),
    factory: entries.find((e) => e.type === APP_TYPE && e.subtype === SUBTYPE.factory),
  }
}

export interface FlashOtaResult {
  flash: Uint8Array
  /** the slot written */
  slot: number
  /** the slot that ran before (undefined: factory) */
  previousSlot?: number
}

/**
 * Install an app image the way esp_https_ota does on a device: into the OTA slot that is not
 * running, then otadata pointing at it (state 'new': the bootloader makes it pending-verify on
 * the next boot, and the app must confirm itself or be rolled back).
 */
export function installOtaImage(flash: Uint8Array, table: readonly PartitionEntry[], image: Uint8Array): FlashOtaResult {
  const {slots, otadata} = otaLayout(table)
  if (!otadata || slots.length === 0) throw new Error('the partition table has no otadata partition and ota_N app slots')
  const info = readOtadata(flash.subarray(otadata.offset, otadata.offset + OTADATA_SIZE), slots.length)
  const running = info.bootSlot
  const slot = running === undefined ? 0 : (running + 1) % slots.length
  if (image.length > slots[slot].size) throw new Error(`the image (${image.length} bytes) does not fit ${slots[slot].name} (${slots[slot].size} bytes)`)
  const next = new Uint8Array(flash)
  next.fill(0xff, slots[slot].offset, slots[slot].offset + slots[slot].size)
  next.set(image, slots[slot].offset)
  next.set(selectOtaSlot(next.subarray(otadata.offset, otadata.offset + OTADATA_SIZE), slot, slots.length), otadata.offset)
  return {flash: next, slot, previousSlot: running}
}

/**
 * What the bootloader (with app rollback enabled) does at reset: a 'new' image becomes
 * 'pending-verify' and boots; one still 'pending-verify' (it never confirmed itself) becomes
 * 'aborted' and the previous valid entry boots instead.
 */
export function bootOtadata(data: Uint8Array, slots: number): {otadata: Uint8Array; bootSlot?: number; rolledBack: boolean} {
  let next: Uint8Array = new Uint8Array(data)
  let info = readOtadata(next, slots)
  let rolledBack = false
  if (info.active >= 0) {
    const entry = info.entries[info.active as 0 | 1]
    if (entry.stateCode === OTA_IMG_STATES['pending-verify']) {
      next = setOtaEntryState(next, info.active, 'aborted')
      rolledBack = true
      info = readOtadata(next, slots)
    } else if (entry.stateCode === OTA_IMG_STATES.new) {
      next = setOtaEntryState(next, info.active, 'pending-verify')
      info = readOtadata(next, slots)
    }
  }
  return {otadata: next, bootSlot: info.bootSlot, rolledBack}
}
