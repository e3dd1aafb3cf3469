import {describe, expect, it} from 'vitest'
import {IotctlError} from '../../../src/lib/console/errors.js'
import {readNvs, writeNvs, type NvsProblem} from '../../../src/lib/nvs/index.js'
import {PAGE, bytesOf, entryStateBits, le16, le32, page} from './helpers.js'

/**
 * Flip single bits of a written image and check the reader notices. What each region is
 * comes from the documented layout, computed here from the clean image:
 * - page header bytes 4..31: header CRC → error
 * - entry headers (all but their CRC field are CRC-covered; the CRC field itself mismatches) → error
 * - string / blob chunk data bytes → data CRC error
 * - bytes after a value in its last entry (0xFF padding, covered by no CRC) → 'padding' warning
 * - empty entries and uninitialised pages (must stay 0xFF) → 'not-erased' error
 * - bitmap: written→empty or an empty entry→written/illegal → error; written→erased on a
 *   single-entry item is what a runtime erase looks like → 'erased' warning; bits 252..255 → warning
 * - state word: FULL→FREEING and the only ACTIVE→FULL are valid states → warning; others → error
 */

const image = writeNvs({
  size: 0x3000,
  namespaces: [
    {
      name: 'iotctl',
      entries: [
        {key: 'id', type: 'string', value: 'temp-0001'},
        {key: 'interval', type: 'u32', value: 10},
        {key: 'offset', type: 'i64', value: -123456789n},
        {key: 'wifi_ssid', type: 'string', value: 'a network name of some seventy bytes, to leave padding at the end.'},
        {key: 'cert', type: 'blob', value: bytesOf(4500, 5)},
        {key: 'level', type: 'i8', value: -3},
      ],
    },
    {name: 'app', entries: [{key: 'mode', type: 'string', value: 'eco'}]},
  ],
})

type Expect = {severity: 'error' | 'warning'; kind?: NvsProblem['kind']; entry?: number[]}

/** Region map of the clean image, per byte (and per bit for the bitmap and state). */
function classify(p: number, offset: number, bit: number): Expect {
  const pg = page(image, p)
  const state = le32(pg, 0)
  if (state === 0xffffffff) return {severity: 'error', kind: offset < 4 ? undefined : 'not-erased'}
  if (offset < 4) {
    const flipped = (state ^ (1 << (offset * 8 + bit))) >>> 0
    if (state === 0xfffffffc && flipped === 0xfffffff8) return {severity: 'warning', kind: 'page-state'}
    if (state === 0xfffffffe && flipped === 0xfffffffc) return {severity: 'warning', kind: 'page-state'}
    return {severity: 'error'}
  }
  if (offset < 32) return {severity: 'error', kind: 'header-crc'}
  const items = itemsOf(pg)
  const owner = (e: number) => items.find((it) => e >= it.entry && e < it.entry + it.span)
  if (offset < 64) {
    const b = (offset - 32) * 8 + bit
    const e = b >> 1
    if (e >= 126) return {severity: 'warning', kind: 'bitmap'}
    const it = owner(e)
    if (!it) return {severity: 'error', entry: [e]}
    // erasing a namespace entry orphans the entries that use it
    if (b % 2 === 1 && it.span === 1) return it.ns === 0 ? {severity: 'error', kind: 'namespace'} : {severity: 'warning', kind: 'erased'}
    // the item's header, or one of its data entries read as a header once the header is gone
    return {severity: 'error', entry: Array.from({length: it.span}, (_, k) => it.entry + k)}
  }
  const e = Math.floor((offset - 64) / 32)
  const it = owner(e)
  if (!it) return {severity: 'error', kind: 'not-erased', entry: [e]}
  if (e === it.entry) return {severity: 'error', kind: 'entry-crc', entry: [e]}
  const inData = offset - (64 + (it.entry + 1) * 32)
  return inData < it.size ? {severity: 'error', kind: 'data-crc', entry: [it.entry]} : {severity: 'warning', kind: 'padding', entry: [it.entry]}
}

type Item = {entry: number; span: number; size: number; ns: number}
const itemCache = new Map<number, Item[]>()
function itemsOf(pg: Uint8Array) {
  const cached = itemCache.get(pg.byteOffset)
  if (cached) return cached
  const items: Item[] = []
  for (let e = 0; e < 126; ) {
    if (entryStateBits(pg, e) !== 0b10) {
      e++
      continue
    }
    const off = 64 + e * 32
    const type = pg[off + 1]
    const span = pg[off + 2]
    items.push({entry: e, span, size: type === 0x21 || type === 0x42 ? le16(pg, off + 24) : 0, ns: pg[off]})
    e += span
  }
  itemCache.set(pg.byteOffset, items)
  return items
}

function flip(offset: number, bit: number) {
  image[offset] ^= 1 << bit
}

describe('NVS corruption detection (single bit flips)', () => {
  it('reads the clean image without problems, with data on pages 0-1 and page 2 erased', () => {
    const read = readNvs(image)
    expect(read.problems).toEqual([])
    expect(read.pages.map((p) => p.state)).toEqual(['full', 'active', 'empty'])
  })

  it('reports every bit flipped in the two written pages, as an error where a CRC or the layout covers it', () => {
    const counts = {error: 0, warning: 0}
    for (let offset = 0; offset < 2 * PAGE; offset++) {
      const p = Math.floor(offset / PAGE)
      for (let bit = 0; bit < 8; bit++) {
        const want = classify(p, offset % PAGE, bit)
        flip(offset, bit)
        try {
          const lenient = readNvs(image, {strict: false}).problems
          const label = `page ${p} byte ${offset % PAGE} bit ${bit}`
          const matching = lenient.filter((problem) => problem.severity === want.severity && (!want.kind || problem.kind === want.kind))
          if (matching.length === 0) expect.fail(`${label}: expected a ${want.severity} ${want.kind ?? ''}, got ${JSON.stringify(lenient)}`)
          if (want.entry && !matching.some((problem) => problem.page === p && want.entry!.includes(problem.entry!))) {
            expect.fail(`${label}: no ${want.kind} problem at page ${p} entry ${want.entry}: ${JSON.stringify(matching)}`)
          }
          let threw: unknown
          try {
            readNvs(image)
          } catch (error) {
            threw = error
          }
          if (want.severity === 'error') {
            if (!(threw instanceof IotctlError) || threw.code !== 'NVS_CORRUPT') expect.fail(`${label}: strict read did not throw NVS_CORRUPT`)
          } else if (threw) expect.fail(`${label}: strict read threw for a warning-only flip: ${String(threw)}`)
          counts[want.severity]++
        } finally {
          flip(offset, bit)
        }
      }
    }
    // most of a written page is CRC-covered
    expect(counts.error + counts.warning).toBe(2 * PAGE * 8)
    expect(counts.error).toBeGreaterThan(counts.warning * 10)
  })

  it('reports flips in the erased page, sampled every 61 bits', () => {
    for (let b = 2 * PAGE * 8; b < 3 * PAGE * 8; b += 61) {
      const [offset, bit] = [b >> 3, b & 7]
      flip(offset, bit)
      try {
        const problems = readNvs(image, {strict: false}).problems
        expect(problems.some((p) => p.severity === 'error' && p.page === 2)).toBe(true)
        expect(() => readNvs(image)).toThrow(IotctlError)
      } finally {
        flip(offset, bit)
      }
    }
  })

  it('names page, entry, key, CRC kind and stored vs computed values in the strict error', () => {
    const copy = image.slice()
    // entry 1 of page 0 is the "id" string header; byte 30 lies in its data CRC field (covered by the entry CRC)
    copy[64 + 32 + 30] ^= 0x01
    try {
      readNvs(copy)
      expect.fail('no error')
    } catch (error) {
      const e = error as IotctlError
      expect(e.code).toBe('NVS_CORRUPT')
      expect(e.exit).toBe(6)
      expect(e.message).toMatch(/^NVS image is corrupt: page 0, entry 1 \(key "id"\): entry CRC mismatch \(bytes 0\.\.3, 8\.\.31\): stored 0x[0-9A-F]{8}, computed 0x[0-9A-F]{8}$/)
      expect(e.details).toMatchObject({page: 0, entry: 1, key: 'id', kind: 'entry-crc', expected: le32(copy, 64 + 32 + 4)})
    }
    const data = image.slice()
    data[64 + 2 * 32 + 3] ^= 0x40 // a byte of the "id" string's value
    expect(() => readNvs(data)).toThrow(/page 0, entry 1 \(key "id"\): string data CRC mismatch \(10 bytes\)/)
    const header = image.slice()
    header[PAGE + 5] ^= 0x80 // page 1 sequence number
    expect(() => readNvs(header)).toThrow(/page 1: header CRC mismatch \(bytes 4\.\.27\): stored 0x[0-9A-F]+, computed/)
  })

  it('reads what it can in lenient mode and lists the problems', () => {
    const copy = image.slice()
    copy[64 + 2 * 32] ^= 0x01 // corrupt the "id" string's data
    const read = readNvs(copy, {strict: false})
    expect(read.problems).toEqual([expect.objectContaining({severity: 'error', kind: 'data-crc', page: 0, entry: 1, key: 'id'})])
    const keys = read.namespaces.flatMap((ns) => ns.entries.map((e) => e.key))
    expect(keys).toEqual(['interval', 'offset', 'wifi_ssid', 'cert', 'level', 'mode'])
  })

  it('reports a blob whose chunk is lost, and the orphaned chunk', () => {
    const copy = image.slice()
    // drop chunk 1 (on page 1, entry 0) by marking its header erased in the bitmap
    copy[PAGE + 32] &= ~0b10
    const read = readNvs(copy, {strict: false})
    expect(read.problems.some((p) => p.kind === 'blob' && p.key === 'cert' && /chunk 1 of 2 chunks \(start 0\) is missing/.test(p.message))).toBe(true)
    expect(read.namespaces[0].entries.find((e) => e.key === 'cert')).toBeUndefined()
  })

  it('rejects an image whose size is not whole pages', () => {
    expect(() => readNvs(image.subarray(0, 5000))).toThrow(/image size 5000 is not a positive multiple of 4096/)
    expect(readNvs(new Uint8Array(0), {strict: false}).problems[0].kind).toBe('size')
  })
})
