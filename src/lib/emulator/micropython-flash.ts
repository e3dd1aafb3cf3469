import type {BoardFlash} from '../micropython/index.js'
import {OTADATA_SIZE, otaLayout, readOtadata, selectOtaSlot, setOtaEntryState} from '../partitions/otadata.js'
import type {PartitionEntry} from '../partitions/types.js'
import type {BootContext} from './boot.js'

const SECTOR = 0x1000

/**
 * The virtual board's flash behind MicroPython's esp32.Partition (runtime/virtual-board/esp32.py):
 * reads and writes of the partitions, and otadata written in ESP-IDF's format by the same writer
 * the board's OTA uses (set_boot: a 'new' entry; mark_app_valid_cancel_rollback: 'valid'), so the
 * bootloader at the next reset (`reboot`, the board's) boots what Espressif's would.
 */
export function micropythonBoardFlash(options: {
  flash: Uint8Array
  entries: readonly PartitionEntry[]
  running: PartitionEntry
  context: BootContext
  /** the bootloader at a machine.reset(): the app partition that boots now */
  reboot: () => Promise<PartitionEntry>
}): BoardFlash {
  const {flash, entries, context} = options
  let running = options.running
  const {slots, otadata} = otaLayout(entries)
  // every write lands in the boot's copy of the flash and, whole sectors at a time, in the board's
  const persist = async (offset: number, length: number) => {
    const start = Math.floor(offset / SECTOR) * SECTOR
    const end = Math.min(flash.length, Math.ceil((offset + length) / SECTOR) * SECTOR)
    await context.writeFlash?.(start, flash.slice(start, end))
  }
  const inside = (offset: number, length: number) => entries.some((e) => offset >= e.offset && offset + length <= e.offset + e.size)
  const region = () => flash.subarray(otadata!.offset, otadata!.offset + OTADATA_SIZE)
  const writeOtadata = async (next: Uint8Array) => {
    region().set(next)
    await persist(otadata!.offset, OTADATA_SIZE)
  }
  return {
    partitions: () =>
      JSON.stringify({
        running: running.name,
        partitions: entries.map((e) => ({label: e.name, type: e.type, subtype: e.subtype, offset: e.offset, size: e.size})),
      }),
    read(offset, length) {
      if (!inside(offset, length)) throw new Error(`flash read 0x${offset.toString(16)}+${length} is outside every partition`)
      return flash.slice(offset, offset + length)
    },
    async write(offset, bytes, erase) {
      if (!inside(offset, bytes.length)) throw new Error(`flash write 0x${offset.toString(16)}+${bytes.length} is outside every partition`)
      if (offset < running.offset + running.size && offset + bytes.length > running.offset) throw new Error(`flash write into the running app partition ${running.name}`)
      if (erase) flash.fill(0xff, Math.floor(offset / SECTOR) * SECTOR, Math.ceil((offset + bytes.length) / SECTOR) * SECTOR)
      // NOR flash: a write only clears bits (an unerased sector keeps what it had where bytes are 0xff)
      for (let i = 0; i < bytes.length; i++) flash[offset + i] &= bytes[i]
      await persist(offset, bytes.length)
    },
    async setBoot(offset) {
      const slot = slots.findIndex((s) => s.offset === offset)
      if (!otadata || slot < 0) return -2 // ENOENT: not an OTA app slot (esp_ota_set_boot_partition: ESP_ERR_NOT_FOUND)
      await writeOtadata(selectOtaSlot(region(), slot, slots.length, 'new'))
      return 0
    },
    async markValid() {
      if (!otadata) return -2
      const info = readOtadata(region(), slots.length)
      if (info.active >= 0 && info.entries[info.active as 0 | 1].state === 'pending-verify') await writeOtadata(setOtaEntryState(region(), info.active, 'valid'))
      return 0
    },
    async beforeReboot() {
      running = await options.reboot()
    },
  }
}
