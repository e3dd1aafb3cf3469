import {createHash} from 'node:crypto'
import {ExitCode, IotctlError} from '../console/errors.js'
import {
  ENTRY_MAGIC,
  FLAG_ENCRYPTED,
  FLAG_READONLY,
  MD5_MAGIC,
  NAME_SIZE,
  PARTITION_TABLE_MAX,
  ROW_SIZE,
} from './format.js'
import type {PartitionEntry, PartitionTableRead} from './types.js'

const invalid = (message: string, details?: Record<string, unknown>) =>
  new IotctlError(message, {code: 'PARTITION_INVALID', exit: ExitCode.USAGE, details})

const corrupt = (message: string, details?: Record<string, unknown>) =>
  new IotctlError(message, {code: 'PARTITION_TABLE_CORRUPT', exit: ExitCode.VERIFY, details})

const isU32 = (n: number) => Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff
const isByte = (n: number) => Number.isInteger(n) && n >= 0 && n <= 0xfe
const md5 = (data: Uint8Array) => new Uint8Array(createHash('md5').update(data).digest())

/** Check the fields one row can hold (layout rules are in validatePartitions). */
function checkRow(entry: PartitionEntry, row: number): void {
  const label = `partition ${row} ("${entry.name}")`
  if (typeof entry.name !== 'string' || !/^[\x21-\x7e]{1,16}$/.test(entry.name)) {
    throw invalid(`${label}: names are 1 to ${NAME_SIZE} printable ASCII characters without spaces`)
  }
  if (!isByte(entry.type)) throw invalid(`${label}: type must be 0..254, got ${entry.type}`)
  if (!isByte(entry.subtype)) throw invalid(`${label}: subtype must be 0..254, got ${entry.subtype}`)
  if (!isU32(entry.offset)) throw invalid(`${label}: offset must be a 32-bit unsigned integer, got ${entry.offset}`)
  if (!isU32(entry.size) || entry.size === 0) throw invalid(`${label}: size must be a positive 32-bit integer, got ${entry.size}`)
}

/**
 * The table binary: one 32-byte row per entry (magic 0xAA50, type, subtype, offset, size,
 * 16-byte NUL-padded name, flags), the MD5 row (0xEBEB, 14 × 0xFF, MD5 of the rows before),
 * then 0xFF up to 0xC00 bytes. Rows are written in the order given.
 */
export function writePartitionTable(entries: PartitionEntry[], options: {md5?: boolean} = {}): Uint8Array {
  const withMd5 = options.md5 ?? true
  const rows = entries.length + (withMd5 ? 1 : 0)
  // at least one 0xFF row must remain to end the table
  if (rows * ROW_SIZE >= PARTITION_TABLE_MAX) {
    throw invalid(`a partition table holds at most ${PARTITION_TABLE_MAX / ROW_SIZE - 1 - (withMd5 ? 1 : 0)} partitions, got ${entries.length}`)
  }
  const table = new Uint8Array(PARTITION_TABLE_MAX).fill(0xff)
  const view = new DataView(table.buffer)
  entries.forEach((entry, i) => {
    checkRow(entry, i)
    const off = i * ROW_SIZE
    table.set(ENTRY_MAGIC, off)
    table[off + 2] = entry.type
    table[off + 3] = entry.subtype
    view.setUint32(off + 4, entry.offset, true)
    view.setUint32(off + 8, entry.size, true)
    table.fill(0, off + 12, off + 12 + NAME_SIZE)
    for (let c = 0; c < entry.name.length; c++) table[off + 12 + c] = entry.name.charCodeAt(c)
    view.setUint32(off + 28, (entry.encrypted ? FLAG_ENCRYPTED : 0) | (entry.readonly ? FLAG_READONLY : 0), true)
  })
  if (withMd5) {
    const off = entries.length * ROW_SIZE
    table.set(MD5_MAGIC, off)
    table.set(md5(table.subarray(0, off)), off + 16)
  }
  return table
}

/**
 * Parse a partition table from the start of `bytes` (the table, its sector, or a flash image
 * sliced at the table offset). Checks every row's magic and the MD5 row; throws
 * PARTITION_TABLE_CORRUPT (or PARTITION_TABLE_EMPTY for erased flash) otherwise.
 */
export function readPartitionTable(bytes: Uint8Array): PartitionTableRead {
  const entries: PartitionEntry[] = []
  const warnings: string[] = []
  let md5State: PartitionTableRead['md5'] = 'absent'
  const end = Math.min(bytes.length, PARTITION_TABLE_MAX)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  for (let off = 0; off + ROW_SIZE <= end; off += ROW_SIZE) {
    const row = off / ROW_SIZE
    const b0 = bytes[off]
    const b1 = bytes[off + 1]
    if (bytes.subarray(off, off + ROW_SIZE).every((b) => b === 0xff)) break
    if (b0 === MD5_MAGIC[0] && b1 === MD5_MAGIC[1]) {
      if (md5State === 'ok') throw corrupt(`row ${row}: a second MD5 row`, {row})
      const pad = bytes.subarray(off + 2, off + 16)
      if (!pad.every((b) => b === 0xff)) throw corrupt(`row ${row}: MD5 row bytes 2..15 must be 0xFF`, {row})
      const stored = Buffer.from(bytes.subarray(off + 16, off + 32)).toString('hex')
      const computed = Buffer.from(md5(bytes.subarray(0, off))).toString('hex')
      if (stored !== computed) {
        throw corrupt(`partition table MD5 mismatch: stored ${stored}, computed ${computed} over the ${row} rows before it`, {row, expected: stored, actual: computed})
      }
      md5State = 'ok'
      continue
    }
    if (md5State === 'ok') throw corrupt(`row ${row}: an entry after the MD5 row`, {row})
    if (b0 !== ENTRY_MAGIC[0] || b1 !== ENTRY_MAGIC[1]) {
      const magic = `0x${b0.toString(16).padStart(2, '0')}${b1.toString(16).padStart(2, '0')}`
      throw corrupt(`row ${row} (offset 0x${off.toString(16)}): bad magic ${magic}, expected 0xAA50`, {row, actual: magic})
    }
    let name = ''
    for (let c = 0; c < NAME_SIZE && bytes[off + 12 + c] !== 0; c++) name += String.fromCharCode(bytes[off + 12 + c])
    const flags = view.getUint32(off + 28, true)
    const unknown = flags & ~(FLAG_ENCRYPTED | FLAG_READONLY)
    if (unknown) warnings.push(`partition "${name}" has unknown flag bits 0x${unknown.toString(16)}`)
    entries.push({
      name,
      type: bytes[off + 2],
      subtype: bytes[off + 3],
      offset: view.getUint32(off + 4, true),
      size: view.getUint32(off + 8, true),
      encrypted: (flags & FLAG_ENCRYPTED) !== 0,
      readonly: (flags & FLAG_READONLY) !== 0,
    })
  }
  if (entries.length === 0) {
    throw new IotctlError('no partition table: the first row is erased (0xFF) or missing', {code: 'PARTITION_TABLE_EMPTY', exit: ExitCode.VERIFY})
  }
  return {entries, md5: md5State, warnings}
}
