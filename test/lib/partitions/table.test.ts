import {createHash} from 'node:crypto'
import {describe, expect, it} from 'vitest'
import {IotctlError} from '../../../src/lib/console/errors.js'
import {DEFAULT_PARTITIONS, layoutPartitions, readPartitionTable, writePartitionTable, type PartitionEntry} from '../../../src/lib/partitions/index.js'

const le32 = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset).getUint32(off, true)

const entries: PartitionEntry[] = [
  {name: 'nvs', type: 0x01, subtype: 0x02, offset: 0x9000, size: 0x6000, encrypted: false, readonly: false},
  {name: 'phy_init', type: 0x01, subtype: 0x01, offset: 0xf000, size: 0x1000, encrypted: false, readonly: true},
  {name: 'factory', type: 0x00, subtype: 0x00, offset: 0x10000, size: 0x100000, encrypted: true, readonly: false},
  {name: 'sixteen_chars_ab', type: 0x40, subtype: 0x07, offset: 0x110000, size: 0x1000, encrypted: true, readonly: true},
]

function code(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(IotctlError)
    return (error as IotctlError).code
  }
  return 'no error'
}

describe('partition table binary (byte level)', () => {
  const table = writePartitionTable(entries)

  it('is 0xC00 bytes: one 32-byte row per entry, the MD5 row, then 0xFF', () => {
    expect(table.length).toBe(0xc00)
    expect(table.subarray(5 * 32).every((b) => b === 0xff)).toBe(true)
  })

  it('writes each row as magic AA 50, type, subtype, offset LE, size LE, NUL-padded name, flags', () => {
    const row = table.subarray(0, 32)
    expect([...row.subarray(0, 4)]).toEqual([0xaa, 0x50, 0x01, 0x02])
    expect([...row.subarray(4, 12)]).toEqual([0x00, 0x90, 0x00, 0x00, 0x00, 0x60, 0x00, 0x00])
    expect([...row.subarray(12, 28)]).toEqual([...Buffer.from('nvs'), ...new Array(13).fill(0)])
    expect(le32(row, 28)).toBe(0)
    expect(le32(table, 32 + 28)).toBe(0b10) // readonly = bit 1
    expect(le32(table, 64 + 28)).toBe(0b01) // encrypted = bit 0
    expect(le32(table, 96 + 28)).toBe(0b11)
    expect(Buffer.from(table.subarray(96 + 12, 96 + 28)).toString()).toBe('sixteen_chars_ab') // 16 chars: no NUL
    expect(le32(table, 64 + 4)).toBe(0x10000)
    expect(le32(table, 64 + 8)).toBe(0x100000)
  })

  it('writes the MD5 row: EB EB, 14 × FF, MD5 of all entry rows before it', () => {
    const md5Row = table.subarray(4 * 32, 5 * 32)
    expect([...md5Row.subarray(0, 16)]).toEqual([0xeb, 0xeb, ...new Array(14).fill(0xff)])
    const digest = createHash('md5').update(table.subarray(0, 4 * 32)).digest()
    expect(Buffer.from(md5Row.subarray(16)).equals(digest)).toBe(true)
  })

  it('round-trips through the reader, MD5 checked', () => {
    expect(readPartitionTable(table)).toEqual({entries, md5: 'ok', warnings: []})
    // also from a whole 4 KB sector or a longer flash read
    const sector = new Uint8Array(0x1000).fill(0xff)
    sector.set(table)
    expect(readPartitionTable(sector).entries).toEqual(entries)
  })

  it('can omit the MD5 row; the reader then reports it absent', () => {
    const noMd5 = writePartitionTable(entries, {md5: false})
    expect(noMd5.subarray(4 * 32).every((b) => b === 0xff)).toBe(true)
    expect(readPartitionTable(noMd5)).toMatchObject({entries, md5: 'absent'})
  })

  it('detects every single bit flipped in the entry rows, the MD5 row and the row after it', () => {
    for (let bit = 0; bit < 6 * 32 * 8; bit++) {
      const copy = table.slice()
      copy[bit >> 3] ^= 1 << (bit & 7)
      let error: unknown
      try {
        readPartitionTable(copy)
      } catch (e) {
        error = e
      }
      expect(error, `bit ${bit}`).toBeInstanceOf(IotctlError)
      expect((error as IotctlError).code).toBe('PARTITION_TABLE_CORRUPT')
    }
  })

  it('names the failing check', () => {
    const md5 = table.slice()
    md5[8] ^= 1
    expect(() => readPartitionTable(md5)).toThrow(/partition table MD5 mismatch: stored [0-9a-f]{32}, computed [0-9a-f]{32} over the 4 rows before it/)
    const magic = table.slice()
    magic[32] = 0x12
    expect(() => readPartitionTable(magic)).toThrow(/row 1 \(offset 0x20\): bad magic 0x1250, expected 0xAA50/)
    expect(code(() => readPartitionTable(new Uint8Array(0xc00).fill(0xff)))).toBe('PARTITION_TABLE_EMPTY')
  })

  it('warns about flag bits it does not know', () => {
    const copy = writePartitionTable(entries, {md5: false})
    copy[28 + 2] = 0x01 // bit 16
    expect(readPartitionTable(copy).warnings).toEqual(['partition "nvs" has unknown flag bits 0x10000'])
  })

  it('rejects rows the format cannot hold', () => {
    const bad = (patch: Partial<PartitionEntry>) => code(() => writePartitionTable([{...entries[0], ...patch}]))
    expect(bad({name: 'seventeen_chars_x'})).toBe('PARTITION_INVALID')
    expect(bad({name: ''})).toBe('PARTITION_INVALID')
    expect(bad({type: 0xff})).toBe('PARTITION_INVALID')
    expect(bad({offset: -1})).toBe('PARTITION_INVALID')
    expect(bad({size: 2 ** 32})).toBe('PARTITION_INVALID')
    const many = (n: number) => Array.from({length: n}, (_, i) => ({...entries[0], name: `p${i}`, offset: 0x9000 + i * 0x1000, size: 0x1000}))
    expect(readPartitionTable(writePartitionTable(many(94))).entries).toHaveLength(94)
    expect(code(() => writePartitionTable(many(95)))).toBe('PARTITION_INVALID')
  })

  it('writes the default single-app layout (nvs 0x9000, phy_init 0xf000, factory 0x10000)', () => {
    const t = writePartitionTable(layoutPartitions(DEFAULT_PARTITIONS, {flashSize: '4MB'}))
    expect(readPartitionTable(t).entries.map((e) => [e.name, e.type, e.subtype, e.offset, e.size])).toEqual([
      ['nvs', 1, 2, 0x9000, 0x6000],
      ['phy_init', 1, 1, 0xf000, 0x1000],
      ['factory', 0, 0, 0x10000, 0x100000],
    ])
  })
})
