import {describe, expect, it} from 'vitest'
import {partitionBytes, partitionFits, partitionTableAt, readFlashImage} from '../../../src/lib/partitions/flash-image.js'
import {layoutPartitions, NAMED_PARTITION_LAYOUTS, DEFAULT_PARTITIONS} from '../../../src/lib/partitions/layout.js'
import {emptyOtadata, selectOtaSlot} from '../../../src/lib/partitions/otadata.js'
import {writePartitionTable} from '../../../src/lib/partitions/table.js'

const MB4 = 0x400000

/** A 4 MB flash, erased, with a table at 0x8000 for the layout given. */
function flashWith(specs: Parameters<typeof layoutPartitions>[0]) {
  const entries = layoutPartitions(specs, {flashSize: '4MB'})
  const flash = new Uint8Array(MB4).fill(0xff)
  flash.set(writePartitionTable(entries), 0x8000)
  return {flash, entries}
}

describe('the partition-aware flash image reader (virtual board boot and firmware inspect)', () => {
  it('tells a table from erased flash and from something else at 0x8000', () => {
    const {flash} = flashWith(DEFAULT_PARTITIONS)
    expect(partitionTableAt(flash)).toBe('table')
    expect(partitionTableAt(new Uint8Array(MB4).fill(0xff))).toBe('erased')
    expect(partitionTableAt(new Uint8Array(MB4))).toBe('none')
    expect(partitionTableAt(new Uint8Array(0x8010).fill(0xaa))).toBe('none')
  })

  it('finds the factory app, the NVS partition and where the last partition ends in a factory layout', () => {
    const {flash, entries} = flashWith(DEFAULT_PARTITIONS)
    const layout = readFlashImage(flash)
    expect(layout.entries).toEqual(entries)
    expect(layout.boot?.name).toBe('factory')
    expect(layout.nvs?.name).toBe('nvs')
    expect(layout.slots).toEqual([])
    expect(layout.otadata).toBeUndefined()
    expect(layout.end).toBe(Math.max(...entries.map((e) => e.offset + e.size)))
  })

  it('boots factory while otadata is erased, and the slot otadata names once it is written', () => {
    const {flash} = flashWith(NAMED_PARTITION_LAYOUTS['factory-ota'])
    let layout = readFlashImage(flash)
    expect(layout.slots.map((s) => s.name)).toEqual(['ota_0', 'ota_1'])
    expect(layout.otadata?.info.active).toBe(-1)
    expect(layout.boot?.name).toBe('factory')
    const at = layout.otadata!.entry.offset
    flash.set(selectOtaSlot(emptyOtadata(), 1, 2, 'valid'), at)
    layout = readFlashImage(flash)
    expect(layout.boot?.name).toBe('ota_1')
    // the otadata bytes are the flash's own (the boot writes the bootloader's changes through them)
    expect(layout.otadata!.bytes.byteOffset).toBe(at)
  })

  it('boots ota_0 without factory or a valid otadata entry, and ignores an otadata cut off by the end of the image', () => {
    const {flash} = flashWith(NAMED_PARTITION_LAYOUTS['two-ota'])
    expect(readFlashImage(flash).boot?.name).toBe('ota_0')
    const short = flash.subarray(0, 0xd000 + 0x1000)
    const layout = readFlashImage(short)
    expect(layout.otadata).toBeUndefined()
    expect(layout.boot?.name).toBe('ota_0')
    expect(partitionFits(short, layout.boot!)).toBe(false)
    expect(partitionBytes(short, layout.boot!).length).toBe(0)
  })

  it('throws the table reader’s error for a corrupt table', () => {
    const {flash} = flashWith(DEFAULT_PARTITIONS)
    flash[0x8000 + 12] ^= 0xff // a size byte of the first row: the MD5 row no longer matches
    expect(() => readFlashImage(flash)).toThrow(/MD5|corrupt/i)
  })
})
