import {describe, expect, it} from 'vitest'
import {IotctlError} from '../../../src/lib/console/errors.js'
import {readNvs, writeNvs, type NvsEntryInput} from '../../../src/lib/nvs/index.js'
import {bytesOf} from './helpers.js'

const one = (entry: NvsEntryInput, size = 0x3000) => writeNvs({size, namespaces: [{name: 'n', entries: [entry]}]})

function rejects(fn: () => unknown, code: string, message: RegExp): IotctlError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(IotctlError)
    expect((error as IotctlError).code).toBe(code)
    expect((error as IotctlError).message).toMatch(message)
    return error as IotctlError
  }
  throw new Error('expected an error')
}

const INT_LIMITS = [
  ['u8', 0, 255],
  ['i8', -128, 127],
  ['u16', 0, 65535],
  ['i16', -32768, 32767],
  ['u32', 0, 4294967295],
  ['i32', -2147483648, 2147483647],
] as const

const BIG_LIMITS = [
  ['u64', 0n, 18446744073709551615n],
  ['i64', -9223372036854775808n, 9223372036854775807n],
] as const

describe('NVS integer limits', () => {
  for (const [type, min, max] of INT_LIMITS) {
    it(`${type}: ${min} and ${max} round-trip, ${min - 1} and ${max + 1} are rejected`, () => {
      for (const value of [min, max]) {
        const read = readNvs(one({key: 'v', type, value}))
        expect(read.namespaces[0].entries[0]).toMatchObject({key: 'v', type, value})
      }
      for (const value of [min - 1, max + 1]) {
        const error = rejects(() => one({key: 'v', type, value}), 'NVS_INVALID', new RegExp(`"v" in namespace "n": ${value} is out of range for ${type} \\(${min}\\.\\.${max}\\)`))
        expect(error.exit).toBe(2)
      }
      rejects(() => one({key: 'v', type, value: 1.5}), 'NVS_INVALID', /must be an integer/)
    })
  }
  for (const [type, min, max] of BIG_LIMITS) {
    it(`${type}: ${min} and ${max} round-trip, ${min - 1n} and ${max + 1n} are rejected`, () => {
      for (const value of [min, max]) {
        expect(readNvs(one({key: 'v', type, value})).namespaces[0].entries[0]).toMatchObject({type, value})
      }
      for (const value of [min - 1n, max + 1n]) rejects(() => one({key: 'v', type, value}), 'NVS_INVALID', /out of range/)
      rejects(() => one({key: 'v', type, value: 2 ** 60}), 'NVS_INVALID', /bigint or a safe integer/)
    })
  }
})

describe('NVS names, sizes and types', () => {
  it('accepts 15-character keys and namespaces, rejects 16', () => {
    const read = readNvs(writeNvs({size: 0x3000, namespaces: [{name: 'n'.repeat(15), entries: [{key: 'k'.repeat(15), type: 'u8', value: 1}]}]}))
    expect(read.namespaces[0]).toMatchObject({name: 'n'.repeat(15), entries: [{key: 'k'.repeat(15)}]})
    rejects(() => one({key: 'k'.repeat(16), type: 'u8', value: 1}), 'NVS_INVALID', /key "k{16}" in namespace "n" is 16 characters long; the limit is 15/)
    rejects(() => writeNvs({size: 0x3000, namespaces: [{name: 'n'.repeat(16), entries: []}]}), 'NVS_INVALID', /namespace "n{16}" is 16 characters/)
    rejects(() => one({key: '', type: 'u8', value: 1}), 'NVS_INVALID', /non-empty/)
    rejects(() => one({key: 'clé', type: 'u8', value: 1}), 'NVS_INVALID', /printable ASCII/)
  })

  it('accepts 254 namespaces and rejects 255', () => {
    const names = (n: number) => Array.from({length: n}, (_, i) => ({name: `ns${i}`, entries: []}))
    const read = readNvs(writeNvs({size: 0x4000, namespaces: names(254)}))
    expect(read.namespaces.at(-1)).toMatchObject({name: 'ns253', index: 254})
    rejects(() => writeNvs({size: 0x4000, namespaces: names(255)}), 'NVS_INVALID', /at most 254 namespaces/)
  })

  it('rejects duplicate keys and namespaces', () => {
    rejects(() => writeNvs({size: 0x3000, namespaces: [{name: 'n', entries: [{key: 'a', type: 'u8', value: 1}, {key: 'a', type: 'string', value: 'x'}]}]}), 'NVS_INVALID', /"a" appears twice/)
    rejects(() => writeNvs({size: 0x3000, namespaces: [{name: 'n', entries: []}, {name: 'n', entries: []}]}), 'NVS_INVALID', /listed twice/)
  })

  it('limits strings to 4000 bytes including the NUL, counted in UTF-8', () => {
    expect(() => one({key: 's', type: 'string', value: 'x'.repeat(3999)})).not.toThrow()
    rejects(() => one({key: 's', type: 'string', value: 'x'.repeat(4000)}), 'NVS_INVALID', /4001 bytes with its NUL terminator; the limit is 4000/)
    rejects(() => one({key: 's', type: 'string', value: 'é'.repeat(2000)}), 'NVS_INVALID', /4001 bytes/)
    rejects(() => one({key: 's', type: 'string', value: 'a\0b'}), 'NVS_INVALID', /NUL/)
  })

  it('limits blobs to 508000 bytes (127 chunks of 4000)', () => {
    const read = readNvs(one({key: 'b', type: 'blob', value: bytesOf(508000)}, 130 * 4096))
    expect((read.namespaces[0].entries[0].value as Uint8Array).length).toBe(508000)
    rejects(() => one({key: 'b', type: 'blob', value: new Uint8Array(508001)}, 140 * 4096), 'NVS_INVALID', /508001 bytes; the NVS limit is 508000/)
  })

  it('requires a partition size that is a multiple of 4096 and at least 3 pages', () => {
    for (const size of [0, 0x2000, 0x3001, 4096.5]) rejects(() => writeNvs({size, namespaces: []}), 'NVS_INVALID', /multiple of 4096 and at least 0x3000/)
    const read = readNvs(writeNvs({size: 0x3000, namespaces: []}))
    expect(read.pages.map((p) => [p.state, p.written])).toEqual([
      ['active', 0],
      ['empty', 0],
      ['empty', 0],
    ])
  })

  it('rejects unknown types and values of the wrong kind', () => {
    rejects(() => one({key: 'x', type: 'float', value: 1} as unknown as NvsEntryInput), 'NVS_INVALID', /unknown type "float"/)
    rejects(() => one({key: 'x', type: 'blob', value: 'text'} as unknown as NvsEntryInput), 'NVS_INVALID', /Uint8Array/)
    rejects(() => one({key: 'x', type: 'string', value: 5} as unknown as NvsEntryInput), 'NVS_INVALID', /must be a string/)
  })
})

describe('NVS partition full', () => {
  it('names the key that overflowed and the bytes that were left', () => {
    // 0x3000 = 2 data pages + 1 free. Page 0: ns entry, blob "a" chunk 0 (1 + 124 entries);
    // page 1: chunk 1 (1 + 33 entries for 1032 bytes) and the index → 35 entries used, 91 left
    const error = rejects(
      () =>
        writeNvs({
          size: 0x3000,
          namespaces: [
            {
              name: 'fill',
              entries: [
                {key: 'a', type: 'blob', value: bytesOf(5000)},
                {key: 'b', type: 'blob', value: bytesOf(4000)},
              ],
            },
          ],
        }),
      'NVS_FULL',
      /key "b" \(blob, 4000 bytes\) in namespace "fill" does not fit; 2912 bytes of entry space were left/,
    )
    expect(error.details).toMatchObject({key: 'b', namespace: 'fill', bytesLeft: 91 * 32, partitionSize: 0x3000})
    expect(error.suggestions.join(' ')).toMatch(/larger nvs partition/)
  })

  it('fits exactly what the data pages hold and no more', () => {
    // 2 data pages × 126 entries = 252: 1 namespace entry + 251 u8 entries fill them
    const entries = (n: number): NvsEntryInput[] => Array.from({length: n}, (_, i) => ({key: `k${i}`, type: 'u8', value: 1}))
    const read = readNvs(writeNvs({size: 0x3000, namespaces: [{name: 'n', entries: entries(251)}]}))
    expect(read.pages.map((p) => [p.state, p.written])).toEqual([
      ['full', 126],
      ['active', 126],
      ['empty', 0],
    ])
    const error = rejects(() => writeNvs({size: 0x3000, namespaces: [{name: 'n', entries: entries(252)}]}), 'NVS_FULL', /key "k251" \(u8\) in namespace "n" does not fit; 0 bytes/)
    expect(error.details).toMatchObject({bytesLeft: 0})
  })

  it('reports a namespace entry that does not fit', () => {
    const entries: NvsEntryInput[] = Array.from({length: 251}, (_, i) => ({key: `k${i}`, type: 'u8', value: 1}))
    rejects(() => writeNvs({size: 0x3000, namespaces: [{name: 'n', entries}, {name: 'second', entries: []}]}), 'NVS_FULL', /namespace entry "second" does not fit/)
  })

  it('does not split a string across pages, so a string can overflow with bytes left', () => {
    // 1 ns entry + 100 u8 leave 25 entries on page 0 and a 0x3000 partition has page 1 free:
    // two 3000-byte strings (95 entries each) need a page each
    const entries: NvsEntryInput[] = [
      ...Array.from({length: 100}, (_, i) => ({key: `k${i}`, type: 'u8' as const, value: 1})),
      {key: 's1', type: 'string', value: 'x'.repeat(2999)},
      {key: 's2', type: 'string', value: 'y'.repeat(2999)},
    ]
    const error = rejects(() => writeNvs({size: 0x3000, namespaces: [{name: 'n', entries}]}), 'NVS_FULL', /key "s2" \(string, 3000 bytes\)/)
    expect(error.details?.bytesLeft).toBe((126 - 95) * 32)
  })
})
