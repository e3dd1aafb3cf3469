import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {emulatedChip} from '../../../src/lib/emulator/chips.js'
import {firmwareBootHook, VirtualBoard, type BootTemplate} from '../../../src/lib/emulator/index.js'
import {buildSimulationBootloader} from '../../../src/lib/image/index.js'
import {partitionSpecs} from '../../../src/lib/partitions/index.js'
import {emptyOtadata, installOtaImage, OTADATA_SIZE, setOtaEntryState} from '../../../src/lib/partitions/otadata.js'
import {deviceNvsItems} from '../../../src/lib/provision/device-config.js'
import {buildNvsImage, buildPartitionTable, makeSimulationImage} from '../../../src/lib/provision/formats.js'

const template: BootTemplate = {
  telemetry: {intervalSeconds: 1, fields: {temperature: {type: 'number', unit: '°C', precision: 1, model: {kind: 'constant', value: 21.5}} as never}},
  commands: {},
}
const ORACLE = join(import.meta.dirname, '..', '..', 'support', 'oracles', 'otadata.py')
const dir = mkdtempSync(join(tmpdir(), 'iotctl-ota-boot-'))
const OTADATA = 0xd000

/** otadata.py's reading of the otadata region of a flash file (2 OTA slots) */
function oracle(flashFile: string) {
  const file = join(dir, `otadata-${Math.random().toString(36).slice(2)}.bin`)
  writeFileSync(file, readFileSync(flashFile).subarray(OTADATA, OTADATA + OTADATA_SIZE))
  return JSON.parse(execFileSync('python3', [ORACLE, 'read', file, '2'], {encoding: 'utf8'}))
}

/** a 4 MB flash file holding what `firmware build` lays out for a 'factory-ota' template */
function flashFile(name: string) {
  const app = makeSimulationImage('esp32', {templateType: 'boot-test', flashSize: '4MB'})
  const layout = buildPartitionTable(partitionSpecs('factory-ota'), {flashSize: '4MB', appSize: app.length, template: 'boot-test'})
  // a closed loopback port: the app keeps trying to reach its backend, as a board whose broker is down
  const items = deviceNvsItems(template, {id: 'ota-board', type: 'boot-test', wifi: {}, backendUrl: 'mqtt://127.0.0.1:1', scheme: 'iotctl', topics: {}, intervalSeconds: 1, settings: {}})
  let flash: Uint8Array = new Uint8Array(4 * 1024 * 1024).fill(0xff)
  flash.set(buildSimulationBootloader({chip: 'esp32'}), 0x1000)
  flash.set(layout.table, 0x8000)
  flash.set(buildNvsImage('iotctl', items, layout.nvs.size, 'ota-board'), layout.nvs.offset)
  flash.set(emptyOtadata(), layout.otadata!.offset)
  flash.set(app, layout.app.offset)
  const path = join(dir, `${name}.bin`)
  return {path, layout, app, write: (bytes: Uint8Array) => writeFileSync(path, bytes), flash: () => (flash = new Uint8Array(readFileSync(path))), initial: flash}
}

const boards: VirtualBoard[] = []
afterEach(async () => {
  for (const b of boards.splice(0)) await b.close()
})

async function boot(file: string) {
  const board = await VirtualBoard.start({chip: 'esp32', flashFile: file, onBoot: firmwareBootHook({chip: emulatedChip('esp32'), loadTemplate: async () => template, tracePublishes: false})})
  boards.push(board)
  let text = ''
  board.on('console', (e) => (text += e.text))
  const bootOnce = async () => {
    text = ''
    await board.boot('test reset')
    const deadline = Date.now() + 15_000
    while (!/device ota-board/.test(text)) {
      if (Date.now() > deadline) throw new Error(`the board did not start its app:\n${text}`)
      await new Promise((r) => setTimeout(r, 20))
    }
    await board.flash.flush()
    return text
  }
  return {board, bootOnce}
}

describe("virtual board: ESP-IDF's bootloader logic over otadata in the flash file", () => {
  it('erased otadata boots factory; a new image in ota_0 boots pending-verify; unconfirmed, the next reset aborts it and factory boots again', async () => {
    const f = flashFile('rollback')
    f.write(f.initial)
    const {bootOnce} = await boot(f.path)
    let text = await bootOnce()
    expect(text).toMatch(/Loaded app from partition at offset 0x10000\b/)
    expect(oracle(f.path)).toMatchObject({active: -1, boot_slot: null})

    // what esp_https_ota + esp_ota_set_boot_partition leave behind: the image in ota_0, otadata 'new'
    for (const b of boards.splice(0)) await b.close()
    const installed = installOtaImage(f.flash(), f.layout.entries, f.app)
    expect(installed.slot).toBe(0)
    f.write(installed.flash)
    const second = await boot(f.path)
    text = await second.bootOnce()
    expect(text).toMatch(/otadata: entry 0, seq 1, state pending-verify → ota_0/)
    expect(text).toMatch(/Loaded app from partition at offset 0x110000\b/)
    let read = oracle(f.path)
    expect(read).toMatchObject({active: 0, boot_slot: 0})
    expect(read.entries[0]).toMatchObject({seq: 1, state: 1, crc_ok: true, valid: true, rest_erased: true})
    expect(read.entries[1]).toMatchObject({seq: 0xffffffff})

    // it never called esp_ota_mark_app_valid_cancel_rollback: the bootloader gives up on it
    text = await second.bootOnce()
    expect(text).toMatch(/ota_0 is still pending verification .*marked aborted, rolling back/)
    expect(text).toMatch(/Loaded app from partition at offset 0x10000\b/)
    read = oracle(f.path)
    expect(read).toMatchObject({active: -1})
    expect(read.entries[0]).toMatchObject({seq: 1, state: 4, crc_ok: true, valid: false})
  }, 60_000)

  it('a confirmed image keeps booting its slot, and the next update goes into the other slot with a higher sequence', async () => {
    const f = flashFile('confirmed')
    const first = installOtaImage(f.initial, f.layout.entries, f.app)
    // confirmed: esp_ota_mark_app_valid_cancel_rollback
    const valid = new Uint8Array(first.flash)
    valid.set(setOtaEntryState(valid.subarray(OTADATA, OTADATA + OTADATA_SIZE), 0, 'valid'), OTADATA)
    const second = installOtaImage(valid, f.layout.entries, f.app)
    expect(second).toMatchObject({slot: 1, previousSlot: 0})
    f.write(second.flash)
    const {bootOnce} = await boot(f.path)
    const text = await bootOnce()
    expect(text).toMatch(/otadata: entry 1, seq 2, state pending-verify → ota_1/)
    expect(text).toMatch(/Loaded app from partition at offset 0x210000\b/)
    const read = oracle(f.path)
    expect(read).toMatchObject({active: 1, boot_slot: 1})
    expect(read.entries[0]).toMatchObject({seq: 1, state: 2, valid: true})
    expect(read.entries[1]).toMatchObject({seq: 2, state: 1, crc_ok: true, valid: true})
  }, 60_000)
})
