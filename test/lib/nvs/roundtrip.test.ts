import {describe, expect, it} from 'vitest'
import {namespaceValues, readNvs, writeNvs, type NvsEntry, type NvsReadNamespace} from '../../../src/lib/nvs/index.js'
import {EVERY_SCALAR} from './fixtures.js'
import {bytesOf, entry, keyOf, le16, le32, page} from './helpers.js'

const strip = (namespaces: NvsReadNamespace[]) => namespaces.map((ns) => ({name: ns.name, entries: ns.entries.map(({location: _, ...e}) => e)}))

function roundTrip(size: number, namespaces: {name: string; entries: NvsEntry[]}[]) {
  const image = writeNvs({size, namespaces})
  const read = readNvs(image)
  expect(read.problems).toEqual([])
  expect(strip(read.namespaces)).toEqual(namespaces)
  return {image, read}
}

describe('NVS writer → reader round trips', () => {
  it('keeps every type, several namespaces and their order', () => {
    const {read} = roundTrip(0x6000, [
      {
        name: 'iotctl',
        entries: [
          ...EVERY_SCALAR,
          {key: 'cert', type: 'blob', value: bytesOf(700)},
        ],
      },
      {name: 'other', entries: [{key: 'id', type: 'string', value: 'same key, other namespace'}]},
      {name: 'empty', entries: []},
    ])
    expect(read.namespaces.map((ns) => [ns.name, ns.index])).toEqual([
      ['iotctl', 1],
      ['other', 2],
      ['empty', 3],
    ])
    expect(read.pages.map((p) => p.state)).toEqual(['active', 'empty', 'empty', 'empty', 'empty', 'empty'])
  })

  it('keeps empty, unicode and maximum-length strings (4000 bytes with the NUL, spanning 125 entries)', () => {
    const max = 'x'.repeat(3999)
    const {image, read} = roundTrip(0x5000, [
      {
        name: 'str',
        entries: [
          {key: 'empty', type: 'string', value: ''},
          {key: 'unicode', type: 'string', value: 'Grüße, 温度 °C ✓'},
          {key: 'max', type: 'string', value: max},
        ],
      },
    ])
    // a string never spans pages: the 126-entry string starts a new page and fills it
    const loc = read.namespaces[0].entries[2].location
    expect(loc).toEqual({page: 1, entry: 0})
    expect(entry(image, 1, 0)[2]).toBe(126)
    expect(le16(entry(image, 1, 0), 24)).toBe(4000)
  })

  it('splits a blob into chunks across pages and reassembles it', () => {
    const value = bytesOf(9000, 9)
    const {image, read} = roundTrip(0x6000, [{name: 'b', entries: [{key: 'first', type: 'u8', value: 1}, {key: 'blob', type: 'blob', value}, {key: 'after', type: 'u8', value: 2}]}])
    // page 0: ns, u8, chunk 0 header at entry 2 with 123 data entries (3936 bytes)
    const c0 = entry(image, 0, 2)
    expect([c0[1], c0[2], c0[3], le16(c0, 24)]).toEqual([0x42, 124, 0, 3936])
    // page 1: chunk 1 fills the page (4000 bytes), page 2: chunk 2 with the rest, then the index
    const c1 = entry(image, 1, 0)
    expect([c1[1], c1[2], c1[3], le16(c1, 24)]).toEqual([0x42, 126, 1, 4000])
    const c2 = entry(image, 2, 0)
    expect([c2[1], c2[3], le16(c2, 24)]).toEqual([0x42, 2, 9000 - 3936 - 4000])
    const span2 = c2[2]
    const index = entry(image, 2, span2)
    expect([index[1], keyOf(index), le32(index, 24), index[28], index[29]]).toEqual([0x48, 'blob', 9000, 3, 0])
    expect(read.namespaces[0].entries[1].location).toEqual({page: 2, entry: span2})
    expect(read.pages.map((p) => p.state)).toEqual(['full', 'full', 'active', 'empty', 'empty', 'empty'])
    expect(read.pages.map((p) => p.seq)).toEqual([0, 1, 2, undefined, undefined, undefined])
  })

  it('puts the blob index on the next page when the last chunk fills a page', () => {
    // ns entry + chunk header leave 124 entries: a 3968-byte blob fills page 0 exactly
    const {image} = roundTrip(0x4000, [{name: 'b', entries: [{key: 'blob', type: 'blob', value: bytesOf(3968)}]}])
    expect(entry(image, 0, 1)[2]).toBe(125)
    expect(entry(image, 1, 0)[1]).toBe(0x48)
  })

  it('keeps empty blobs and blobs of exact entry multiples', () => {
    roundTrip(0x4000, [
      {
        name: 'b',
        entries: [
          {key: 'empty', type: 'blob', value: new Uint8Array(0)},
          {key: 'b32', type: 'blob', value: bytesOf(32, 2)},
          {key: 'b4000', type: 'blob', value: bytesOf(4000, 3)},
        ],
      },
    ])
  })

  it('fills many pages with small entries', () => {
    const entries: NvsEntry[] = Array.from({length: 600}, (_, i) => ({key: `key_${i}`, type: 'u32', value: i * 7919}))
    const {read} = roundTrip(0x7000, [{name: 'many', entries}])
    expect(read.pages.filter((p) => p.state === 'full')).toHaveLength(4)
    expect(read.pages[4].written).toBe(601 - 4 * 126)
  })

  it('reads a Buffer slice of a larger buffer', () => {
    const image = writeNvs({size: 0x3000, namespaces: [{name: 'n', entries: [{key: 'k', type: 'i16', value: -5}]}]})
    const host = Buffer.alloc(image.length + 100)
    host.set(image, 50)
    const read = readNvs(host.subarray(50, 50 + image.length))
    expect(read.namespaces[0].entries[0].value).toBe(-5)
  })

  it('accepts 64-bit values given as safe integers and reads them back as bigint', () => {
    const image = writeNvs({size: 0x3000, namespaces: [{name: 'n', entries: [{key: 'a', type: 'u64', value: 42}, {key: 'b', type: 'i64', value: -42}]}]})
    expect(readNvs(image).namespaces[0].entries.map((e) => e.value)).toEqual([42n, -42n])
  })

  it('writes the same bytes for the same input', () => {
    const input = {size: 0x6000, namespaces: [{name: 'n', entries: [{key: 'cert', type: 'blob' as const, value: bytesOf(5000)}]}]}
    expect(Buffer.from(writeNvs(input)).equals(Buffer.from(writeNvs(input)))).toBe(true)
    expect(page(writeNvs(input), 5).every((b) => b === 0xff)).toBe(true)
  })
})

describe('namespaceValues', () => {
  it('maps a namespace to its values by key', () => {
    const read = readNvs(writeNvs({size: 0x3000, namespaces: [{name: 'iotctl', entries: [{key: 'id', type: 'string', value: 'd1'}, {key: 'n', type: 'u64', value: 5n}]}]}))
    expect(namespaceValues(read, 'iotctl')).toEqual(new Map<string, unknown>([['id', 'd1'], ['n', 5n]]))
    expect(namespaceValues(read, 'missing')).toBeUndefined()
  })
})
