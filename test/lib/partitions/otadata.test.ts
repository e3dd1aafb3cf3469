import {execFileSync} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {layoutPartitions} from '../../../src/lib/partitions/layout.js'
import {bootOtadata, emptyOtadata, installOtaImage, OTA_IMG_STATES, otaSeqCrc, readOtadata, selectOtaSlot, setOtaEntryState} from '../../../src/lib/partitions/otadata.js'

const ORACLE = join(import.meta.dirname, '..', '..', 'support', 'oracles', 'otadata.py')
const dir = mkdtempSync(join(tmpdir(), 'iotctl-otadata-'))
let n = 0
const oracle = (args: string[], data: Uint8Array) => {
  const file = join(dir, `otadata-${n++}.bin`)
  writeFileSync(file, data)
  return JSON.parse(execFileSync('python3', [ORACLE, args[0], file, ...args.slice(1)], {encoding: 'utf8'}))
}

describe('ESP-IDF otadata, checked by an oracle written from esp_ota_select_entry_t', () => {
  it('computes the CRC as esp_rom_crc32_le(UINT32_MAX, &seq, 4): seq 1 gives the 9a 98 43 47 seen in device dumps', () => {
    const crc = Buffer.alloc(4)
    crc.writeUInt32LE(otaSeqCrc(1))
    expect(crc.toString('hex')).toBe('9a984347')
  })

  it('writes both copies the way the bootloader and otatool read them, through several updates and slots', () => {
    for (const slots of [2, 3]) {
      let data = emptyOtadata()
      expect(oracle(['read', String(slots)], data).active).toBe(-1)
      let slot = 0
      for (let update = 0; update < 7; update++) {
        const expected = oracle(['next-seq', String(slot), String(slots)], data)
        data = selectOtaSlot(data, slot, slots, 'new')
        const ours = readOtadata(data, slots)
        const theirs = oracle(['read', String(slots)], data)
        expect(theirs.entries[expected.copy].seq).toBe(expected.seq)
        expect(theirs.entries.map((e: {crc_ok: boolean; rest_erased: boolean}) => [e.crc_ok || e.crc === 0xffffffff, e.rest_erased])).toEqual([
          [true, true],
          [true, true],
        ])
        expect(theirs.active).toBe(ours.active)
        expect(theirs.boot_slot).toBe(slot)
        expect(ours.bootSlot).toBe(slot)
        expect(theirs.entries[theirs.active].state).toBe(OTA_IMG_STATES.new)
        slot = (slot + 1 + (update % 2)) % slots
      }
    }
  })

  it('an unconfirmed image is aborted at the next reset and the previous slot boots; a confirmed one stays', () => {
    let data = selectOtaSlot(emptyOtadata(), 0, 2, 'valid')
    data = selectOtaSlot(data, 1, 2, 'new')
    const first = bootOtadata(data, 2)
    expect(first).toMatchObject({bootSlot: 1, rolledBack: false})
    expect(oracle(['read', '2'], first.otadata).entries[1].state).toBe(OTA_IMG_STATES['pending-verify'])
    // it crashed before esp_ota_mark_app_valid_cancel_rollback: the next reset rolls back
    const second = bootOtadata(first.otadata, 2)
    expect(second).toMatchObject({bootSlot: 0, rolledBack: true})
    const theirs = oracle(['read', '2'], second.otadata)
    expect(theirs).toMatchObject({active: 0, boot_slot: 0})
    expect(theirs.entries[1]).toMatchObject({state: OTA_IMG_STATES.aborted, valid: false, crc_ok: true})
    // confirmed: stays on slot 1 across resets
    const confirmed = setOtaEntryState(first.otadata, 1, 'valid')
    expect(bootOtadata(confirmed, 2)).toMatchObject({bootSlot: 1, rolledBack: false})
    expect(oracle(['read', '2'], confirmed).boot_slot).toBe(1)
  })

  it('installs an image into the slot that is not running, then points otadata at it', () => {
    const table = layoutPartitions(
      [
        {name: 'nvs', type: 'data', subtype: 'nvs', offset: 0x9000, size: 0x4000},
        {name: 'otadata', type: 'data', subtype: 'ota', offset: 0xd000, size: 0x2000},
        {name: 'phy_init', type: 'data', subtype: 'phy', offset: 0xf000, size: 0x1000},
        {name: 'ota_0', type: 'app', subtype: 'ota_0', offset: 0x10000, size: 0x100000},
        {name: 'ota_1', type: 'app', subtype: 'ota_1', offset: 0x110000, size: 0x100000},
      ],
      {flashSize: '4MB'},
    )
    let flash = new Uint8Array(0x400000).fill(0xff)
    const image = (fill: number) => new Uint8Array(0x3000).fill(fill)
    const first = installOtaImage(flash, table, image(0x11))
    expect(first).toMatchObject({slot: 0, previousSlot: undefined})
    flash = first.flash
    const second = installOtaImage(flash, table, image(0x22))
    expect(second).toMatchObject({slot: 1, previousSlot: 0})
    expect(second.flash[0x110000]).toBe(0x22)
    expect(second.flash[0x10000]).toBe(0x11) // the old image is kept for a rollback
    expect(oracle(['read', '2'], second.flash.subarray(0xd000, 0xf000)).boot_slot).toBe(1)
  })
})

describe('firmware inspect reads otadata', () => {
  it('says which slot boots and describes the app in it', async () => {
    const {writePartitionTable} = await import('../../../src/lib/partitions/table.js')
    const {inspectFlash} = await import('../../../src/lib/provision/inspect.js')
    const {appImage} = await import('../../support/esp-image.js')
    const table = layoutPartitions(
      [
        {name: 'nvs', type: 'data', subtype: 'nvs', offset: 0x9000, size: 0x4000},
        {name: 'otadata', type: 'data', subtype: 'ota', offset: 0xd000, size: 0x2000},
        {name: 'phy_init', type: 'data', subtype: 'phy', offset: 0xf000, size: 0x1000},
        {name: 'factory', type: 'app', subtype: 'factory', offset: 0x10000, size: 0x100000},
        {name: 'ota_0', type: 'app', subtype: 'ota_0', offset: 0x110000, size: 0x100000},
        {name: 'ota_1', type: 'app', subtype: 'ota_1', offset: 0x210000, size: 0x100000},
      ],
      {flashSize: '4MB'},
    )
    let flash = new Uint8Array(0x400000).fill(0xff)
    flash.set(writePartitionTable(table), 0x8000)
    flash.set(appImage({chip: 'esp32', version: '1.0.0'}), 0x10000)
    const file = join(dir, 'merged.bin')
    writeFileSync(file, flash)
    expect((await inspectFlash(file)).otadata).toMatchObject({boots: 'factory', active: -1})
    flash = installOtaImage(flash, table, appImage({chip: 'esp32', version: '1.1.0'})).flash
    flash = installOtaImage(flash, table, appImage({chip: 'esp32', version: '1.2.0'})).flash
    writeFileSync(file, flash)
    const report = await inspectFlash(file)
    expect(report.otadata).toMatchObject({boots: 'ota_1', active: 1})
    expect(report.otadata!.entries.map((e) => [e.seq, e.state, e.crcOk])).toEqual([
      [1, 'new', true],
      [2, 'new', true],
    ])
    expect(report.app).toMatchObject({version: '1.2.0', offset: 0x210000})
  })
})
