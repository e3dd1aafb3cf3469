import {describe, expect, it} from 'vitest'
import {IotctlError} from '../../../src/lib/console/errors.js'
import {
  DEFAULT_PARTITIONS,
  findAppPartition,
  findPartition,
  layoutPartitions,
  parseFlashSize,
  partitionSubtypeName,
  partitionTableCsv,
  partitionTypeName,
  validatePartitions,
} from '../../../src/lib/partitions/index.js'
import type {PartitionSpec} from '../../../src/lib/templates/types.js'

function fails(fn: () => unknown, code: string, message: RegExp) {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(IotctlError)
    expect((error as IotctlError).code).toBe(code)
    expect((error as IotctlError).message).toMatch(message)
    return
  }
  expect.fail('expected an error')
}

const M = 0x100000

describe('partition layout', () => {
  it('places partitions without offsets like gen_esp32part.py: the OTA example comes out at its documented offsets', () => {
    const specs: PartitionSpec[] = [
      {name: 'nvs', type: 'data', subtype: 'nvs', size: 0x4000},
      {name: 'otadata', type: 'data', subtype: 'ota', size: 0x2000},
      {name: 'phy_init', type: 'data', subtype: 'phy', size: 0x1000},
      {name: 'factory', type: 'app', subtype: 'factory', size: M},
      {name: 'ota_0', type: 'app', subtype: 'ota_0', size: M},
      {name: 'ota_1', type: 'app', subtype: 'ota_1', size: M},
    ]
    const entries = layoutPartitions(specs, {flashSize: '4MB'})
    expect(entries.map((e) => [e.name, e.offset])).toEqual([
      ['nvs', 0x9000],
      ['otadata', 0xd000],
      ['phy_init', 0xf000],
      ['factory', 0x10000],
      ['ota_0', 0x110000],
      ['ota_1', 0x210000],
    ])
    expect(entries.map((e) => partitionSubtypeName(e.type, e.subtype))).toEqual(['nvs', 'ota', 'phy', 'factory', 'ota_0', 'ota_1'])
    fails(() => layoutPartitions(specs, {flashSize: '2MB'}), 'PARTITION_LAYOUT', /"ota_0" \(app\/ota_0\): ends at 0x210000, beyond the 2 MB flash \(0x200000\)/)
  })

  it('aligns apps to 64 KB and data to 4 KB when placing them', () => {
    const entries = layoutPartitions(
      [
        {name: 'nvs', type: 'data', subtype: 'nvs', size: 0x3000},
        {name: 'app', type: 'app', subtype: 'factory', size: 0x20000},
        {name: 'storage', type: 'data', subtype: 'spiffs', size: 0x8000},
        {name: 'custom', type: 0x40, subtype: 1, size: 0x1000},
      ],
      {flashSize: 4 * M},
    )
    expect(entries.map((e) => [e.name, e.type, e.subtype, e.offset])).toEqual([
      ['nvs', 1, 2, 0x9000],
      ['app', 0, 0, 0x10000],
      ['storage', 1, 0x82, 0x30000],
      ['custom', 0x40, 1, 0x38000],
    ])
  })

  it('keeps flags', () => {
    const [nvs] = layoutPartitions([{name: 'nvs', type: 'data', subtype: 'nvs', size: 0x6000, encrypted: true, readonly: true}, {name: 'f', type: 'app', subtype: 'factory', size: M}], {flashSize: '4MB'})
    expect(nvs).toMatchObject({encrypted: true, readonly: true})
  })

  it('rejects misalignment, overlap, the table area, small nvs/otadata, duplicates and unknown names', () => {
    const app = {name: 'factory', type: 'app' as const, subtype: 'factory', offset: 0x10000, size: M}
    const lay = (...specs: PartitionSpec[]) => layoutPartitions(specs, {flashSize: '4MB'})
    fails(() => lay({...app, offset: 0x18000}), 'PARTITION_LAYOUT', /"factory" \(app\/factory\): offset 0x18000 is not aligned to 0x10000/)
    fails(() => lay({name: 'nvs', type: 'data', subtype: 'nvs', offset: 0x9800, size: 0x6000}, app), 'PARTITION_LAYOUT', /offset 0x9800 is not aligned to 0x1000/)
    fails(() => lay({name: 'nvs', type: 'data', subtype: 'nvs', offset: 0x9000, size: 0x6800}, app), 'PARTITION_LAYOUT', /size 0x6800 is not a positive multiple of 0x1000/)
    fails(() => lay({name: 'nvs', type: 'data', subtype: 'nvs', offset: 0x9000, size: 0x8000}, app), 'PARTITION_LAYOUT', /"factory" at 0x10000 overlaps "nvs", which ends at 0x11000/)
    fails(() => lay(app, {name: 'nvs', type: 'data', subtype: 'nvs', offset: 0x9000, size: 0x8000}), 'PARTITION_LAYOUT', /"nvs" at 0x9000 overlaps "factory", which ends at 0x110000/)
    // entries read from a table are checked in offset order
    const nvs = {name: 'nvs', type: 1, subtype: 2, offset: 0x9000, size: 0x8000, encrypted: false, readonly: false}
    const factory = {name: 'factory', type: 0, subtype: 0, offset: 0x10000, size: M, encrypted: false, readonly: false}
    fails(() => validatePartitions([factory, nvs], {flashSize: '4MB'}), 'PARTITION_LAYOUT', /partitions "nvs" \(0x9000\.\.0x11000\) and "factory" \(from 0x10000\) overlap/)
    expect(() => validatePartitions([factory, {...nvs, size: 0x7000}], {flashSize: '4MB'})).not.toThrow()
    fails(() => lay({name: 'nvs', type: 'data', subtype: 'nvs', offset: 0x8000, size: 0x3000}, app), 'PARTITION_LAYOUT', /inside the bootloader or partition table area \(partitions start at 0x9000\)/)
    fails(() => lay({name: 'nvs', type: 'data', subtype: 'nvs', size: 0x2000}, app), 'PARTITION_LAYOUT', /an nvs partition needs at least 0x3000 bytes/)
    fails(() => lay({name: 'otadata', type: 'data', subtype: 'ota', size: 0x3000}, app), 'PARTITION_LAYOUT', /otadata must be exactly 0x2000 bytes/)
    fails(() => lay(app, {...app, offset: 0x110000}), 'PARTITION_LAYOUT', /two partitions are named "factory"/)
    fails(() => lay({name: 'x', type: 'code' as 'app', subtype: 'factory', size: M}), 'PARTITION_LAYOUT', /unknown partition type "code"/)
    fails(() => lay({name: 'x', type: 'data', subtype: 'nvram', size: M}), 'PARTITION_LAYOUT', /unknown subtype "nvram" for partition type data \(ota, phy, nvs/)
    fails(() => lay({name: 'nvs', type: 'data', subtype: 'nvs', size: 0x6000}), 'PARTITION_LAYOUT', /no app partition/)
  })

  it('checks that every app partition can hold the app image', () => {
    expect(() => layoutPartitions(DEFAULT_PARTITIONS, {flashSize: '4MB', appSize: M})).not.toThrow()
    fails(() => layoutPartitions(DEFAULT_PARTITIONS, {flashSize: '4MB', appSize: M + 1}), 'APP_PARTITION_TOO_SMALL', /the app image \(1048577 bytes\) does not fit app partition "factory" \(1048576 bytes, 0x100000\)/)
  })

  it('moves the first partition with the table offset', () => {
    const [first] = layoutPartitions([{name: 'nvs', type: 'data', subtype: 'nvs', size: 0x6000}, {name: 'f', type: 'app', subtype: 'factory', size: M}], {flashSize: '4MB', tableOffset: 0xa000})
    expect(first.offset).toBe(0xb000)
  })

  it('finds the app and nvs partitions', () => {
    const entries = layoutPartitions(
      [
        {name: 'nvs', type: 'data', subtype: 'nvs', size: 0x6000},
        {name: 'ota_1', type: 'app', subtype: 'ota_1', size: M},
        {name: 'ota_0', type: 'app', subtype: 'ota_0', size: M},
      ],
      {flashSize: '4MB'},
    )
    expect(findAppPartition(entries)?.name).toBe('ota_0')
    expect(findPartition(entries, 'data', 'nvs')?.offset).toBe(0x9000)
    expect(findPartition(entries, 'data', 'phy')).toBeUndefined()
  })

  it('parses flash sizes and names types', () => {
    expect(parseFlashSize('4MB')).toBe(4 * M)
    expect(parseFlashSize('512KB')).toBe(0x80000)
    expect(parseFlashSize(123)).toBe(123)
    expect(() => parseFlashSize('4 GB')).toThrow(/unknown flash size/)
    expect([partitionTypeName(0), partitionTypeName(1), partitionTypeName(0x40)]).toEqual(['app', 'data', '0x40'])
    expect([partitionSubtypeName(0, 0x1f), partitionSubtypeName(1, 0x83), partitionSubtypeName(0x40, 3)]).toEqual(['ota_15', 'littlefs', '0x03'])
  })

  it('renders CSV as gen_esp32part.py does', () => {
    const entries = layoutPartitions(
      [...DEFAULT_PARTITIONS, {name: 'storage', type: 'data', subtype: 'spiffs', size: 0x1800 * 0x100, encrypted: true, readonly: true}],
      {flashSize: '4MB'},
    )
    expect(partitionTableCsv(entries)).toBe(
      [
        '# ESP-IDF Partition Table',
        '# Name, Type, SubType, Offset, Size, Flags',
        'nvs,data,nvs,0x9000,24K,',
        'phy_init,data,phy,0xf000,4K,',
        'factory,app,factory,0x10000,1M,',
        'storage,data,spiffs,0x110000,1536K,encrypted:readonly',
        '',
      ].join('\n'),
    )
  })
})
