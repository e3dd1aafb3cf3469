import {ExitCode, IotctlError} from '../console/errors.js'
import {entryCrc, nvsCrc32, pageHeaderCrc} from './crc.js'
import {nvsInvalid} from './errors.js'
import {
  BITMAP_OFFSET,
  CHUNK_ANY,
  ENTRIES_PER_PAGE,
  ENTRY,
  ENTRY_SIZE,
  HEADER,
  ITEM_TYPE,
  MAX_BLOB_CHUNKS,
  MAX_NAMESPACES,
  MIN_PARTITION_SIZE,
  PAGE_SIZE,
  PAGE_STATE,
  VERSION_2,
  dataEntries,
  entryOffset,
} from './format.js'
import {checkName, encodeValue} from './values.js'
import type {NvsEntryInput, NvsWriteOptions} from './types.js'

/** Thrown inside the writer when no page is left; turned into NVS_FULL naming the item. */
class PartitionFull extends Error {}

const ascii = new TextEncoder()

/**
 * Lays items out as ESP-IDF's nvs_partition_gen does: pages filled in order with sequence
 * numbers from 0, earlier pages FULL, the last data page ACTIVE, the remaining pages erased
 * and the last page of the partition kept free. Two deliberate differences, both accepted by
 * the IDF runtime: a string may use the last entry of a page (the generator wastes it), and a
 * blob never starts with an empty chunk on the last entry of a page.
 */
class PageWriter {
  readonly image: Uint8Array
  private readonly view: DataView
  private readonly dataPages: number
  private page = 0
  private next = 0

  constructor(size: number) {
    this.image = new Uint8Array(size).fill(0xff)
    this.view = new DataView(this.image.buffer)
    this.dataPages = size / PAGE_SIZE - 1
    this.initPage(0)
  }

  /** free entry space, in bytes, from the current position to the end of the last data page */
  bytesLeft(): number {
    return ((ENTRIES_PER_PAGE - this.next) + (this.dataPages - 1 - this.page) * ENTRIES_PER_PAGE) * ENTRY_SIZE
  }

  primitive(ns: number, type: number, key: Uint8Array, field: Uint8Array): void {
    if (this.next >= ENTRIES_PER_PAGE) this.newPage()
    this.header(ns, type, 1, CHUNK_ANY, key, field)
  }

  string(ns: number, key: Uint8Array, bytes: Uint8Array): void {
    const span = 1 + dataEntries(bytes.length)
    if (this.next + span > ENTRIES_PER_PAGE) this.newPage()
    this.header(ns, ITEM_TYPE.string, span, CHUNK_ANY, key, varLenField(bytes))
    this.data(bytes)
  }

  /** v2 blob: blob_data chunks (chunk index 0, 1, …) filling each page, then one blob_index. */
  blob(ns: number, key: Uint8Array, bytes: Uint8Array, label: string): void {
    if (this.next >= ENTRIES_PER_PAGE - 1) this.newPage()
    let offset = 0
    let chunks = 0
    for (;;) {
      const tailroom = (ENTRIES_PER_PAGE - this.next - 1) * ENTRY_SIZE
      const size = Math.min(tailroom, bytes.length - offset)
      if (chunks === MAX_BLOB_CHUNKS) throw nvsInvalid(`NVS ${label} needs more than ${MAX_BLOB_CHUNKS} chunks`)
      const chunk = bytes.subarray(offset, offset + size)
      this.header(ns, ITEM_TYPE.blobData, 1 + dataEntries(size), chunks, key, varLenField(chunk))
      this.data(chunk)
      offset += size
      chunks++
      const remaining = bytes.length - offset
      if (remaining > 0 || tailroom - size < ENTRY_SIZE) this.newPage()
      if (remaining === 0) break
    }
    const field = new Uint8Array(8).fill(0xff)
    new DataView(field.buffer).setUint32(0, bytes.length, true)
    field[4] = chunks
    field[5] = 0 // chunk start: version offset 0
    this.header(ns, ITEM_TYPE.blobIndex, 1, CHUNK_ANY, key, field)
  }

  private initPage(page: number): void {
    const base = page * PAGE_SIZE
    this.view.setUint32(base + HEADER.state, PAGE_STATE.ACTIVE, true)
    this.view.setUint32(base + HEADER.seq, page, true)
    this.image[base + HEADER.version] = VERSION_2
    this.view.setUint32(base + HEADER.crc, pageHeaderCrc(this.image.subarray(base, base + 32)), true)
  }

  private newPage(): void {
    if (this.page + 1 >= this.dataPages) throw new PartitionFull()
    // the state word is outside the header CRC, so marking FULL needs no new CRC
    this.view.setUint32(this.page * PAGE_SIZE + HEADER.state, PAGE_STATE.FULL, true)
    this.page++
    this.next = 0
    this.initPage(this.page)
  }

  private markWritten(entry: number): void {
    const bit = entry * 2
    this.image[this.page * PAGE_SIZE + BITMAP_OFFSET + (bit >> 3)] &= ~(1 << (bit & 7))
  }

  private header(ns: number, type: number, span: number, chunk: number, key: Uint8Array, field: Uint8Array): void {
    const off = entryOffset(this.page, this.next)
    const image = this.image
    image[off + ENTRY.ns] = ns
    image[off + ENTRY.type] = type
    image[off + ENTRY.span] = span
    image[off + ENTRY.chunk] = chunk
    image.fill(0, off + ENTRY.key, off + ENTRY.key + ENTRY.keySize)
    image.set(key, off + ENTRY.key)
    image.set(field, off + ENTRY.data)
    this.view.setUint32(off + ENTRY.crc, entryCrc(image.subarray(off, off + ENTRY_SIZE)), true)
    this.markWritten(this.next++)
  }

  /** value bytes in the entries after a header; the tail of the last entry stays 0xFF */
  private data(bytes: Uint8Array): void {
    this.image.set(bytes, entryOffset(this.page, this.next))
    for (let i = dataEntries(bytes.length); i > 0; i--) this.markWritten(this.next++)
  }
}

/** data field of a string or blob_data header: size u16, 0xFFFF, CRC32 of the bytes */
function varLenField(bytes: Uint8Array): Uint8Array {
  const field = new Uint8Array(8).fill(0xff)
  const view = new DataView(field.buffer)
  view.setUint16(0, bytes.length, true)
  view.setUint32(4, nvsCrc32(bytes), true)
  return field
}

export function checkPartitionSize(size: number): void {
  if (!Number.isInteger(size) || size % PAGE_SIZE !== 0 || size < MIN_PARTITION_SIZE) {
    throw nvsInvalid(`NVS partition size must be a multiple of 4096 and at least 0x3000 (3 pages), got ${size}`, {size})
  }
}

interface PreparedEntry {
  entry: NvsEntryInput
  key: Uint8Array
  typeCode: number
  field?: Uint8Array
  bytes?: Uint8Array
}

function prepare(options: NvsWriteOptions): {name: string; key: Uint8Array; entries: PreparedEntry[]}[] {
  checkPartitionSize(options.size)
  if (options.namespaces.length > MAX_NAMESPACES) throw nvsInvalid(`NVS holds at most ${MAX_NAMESPACES} namespaces, got ${options.namespaces.length}`)
  const names = new Set<string>()
  return options.namespaces.map((ns) => {
    checkName(ns.name, 'namespace', '')
    if (names.has(ns.name)) throw nvsInvalid(`NVS namespace "${ns.name}" is listed twice`)
    names.add(ns.name)
    const keys = new Set<string>()
    const entries = ns.entries.map((entry) => {
      checkName(entry.key, 'key', `in namespace "${ns.name}" `)
      if (keys.has(entry.key)) throw nvsInvalid(`NVS key "${entry.key}" appears twice in namespace "${ns.name}"`)
      keys.add(entry.key)
      return {entry, key: ascii.encode(entry.key), ...encodeValue(entry, ns.name)}
    })
    return {name: ns.name, key: ascii.encode(ns.name), entries}
  })
}

/**
 * Build an NVS partition image (format version 2) of `size` bytes holding the namespaces in
 * order. Throws NVS_INVALID for input the format cannot hold and NVS_FULL, naming the key and
 * the space that was left, when the data does not fit.
 */
export function writeNvs(options: NvsWriteOptions): Uint8Array {
  const namespaces = prepare(options)
  const writer = new PageWriter(options.size)
  namespaces.forEach((ns, i) => {
    const index = i + 1
    const indexField = new Uint8Array(8).fill(0xff)
    indexField[0] = index
    guard(writer, options.size, {label: `namespace entry "${ns.name}"`, key: ns.name, namespace: ns.name, type: 'namespace', bytes: 1}, () =>
      writer.primitive(0, ITEM_TYPE.u8, ns.key, indexField),
    )
    for (const item of ns.entries) {
      const {entry} = item
      const bytes = item.bytes?.length ?? item.field!.length
      const label = `key "${entry.key}" (${entry.type}${item.bytes ? `, ${bytes} bytes` : ''}) in namespace "${ns.name}"`
      guard(writer, options.size, {label, key: entry.key, namespace: ns.name, type: entry.type, bytes}, () => {
        if (item.field) writer.primitive(index, item.typeCode, item.key, item.field)
        else if (entry.type === 'string') writer.string(index, item.key, item.bytes!)
        else writer.blob(index, item.key, item.bytes!, label)
      })
    }
  })
  return writer.image
}

function guard(
  writer: PageWriter,
  size: number,
  what: {label: string; key: string; namespace: string; type: string; bytes: number},
  write: () => void,
): void {
  const left = writer.bytesLeft()
  try {
    write()
  } catch (error) {
    if (!(error instanceof PartitionFull)) throw error
    const pages = size / PAGE_SIZE
    throw new IotctlError(
      `NVS partition is full: ${what.label} does not fit; ${left} bytes of entry space were left ` +
        `(partition 0x${size.toString(16)} bytes: ${pages - 1} data pages of 126 × 32-byte entries, 1 page kept free)`,
      {
        code: 'NVS_FULL',
        exit: ExitCode.USAGE,
        details: {key: what.key, namespace: what.namespace, type: what.type, bytes: what.bytes, bytesLeft: left, partitionSize: size},
        suggestions: ['Give the NVS partition more room: a larger nvs partition in the layout (and nvs.size in the template)', 'Or store fewer or smaller values'],
      },
    )
  }
}
