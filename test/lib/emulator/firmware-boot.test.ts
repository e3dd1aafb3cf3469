import mqtt from 'mqtt'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import {firmwareBootHook, VirtualBoard, type BootTemplate} from '../../../src/lib/emulator/index.js'
import {FlashSession} from '../../../src/lib/flash/index.js'
import {deviceNvsItems} from '../../../src/lib/provision/device-config.js'
import {DEFAULT_PARTITIONS} from '../../../src/lib/provision/chips.js'
import {buildNvsImage, buildPartitionTable, makeSimulationImage} from '../../../src/lib/provision/formats.js'
import {buildSimulationBootloader} from '../../../src/lib/image/index.js'
import {startMosquitto, type Mosquitto} from '../../support/mosquitto.js'

const template: BootTemplate = {
  telemetry: {intervalSeconds: 1, fields: {temperature: {type: 'number', unit: '°C', precision: 1, model: {kind: 'constant', value: 21.5}} as never}},
  commands: {},
}

let broker: Mosquitto
beforeAll(async () => {
  broker = await startMosquitto()
})
afterAll(async () => broker?.stop())

const boards: VirtualBoard[] = []
afterEach(async () => {
  for (const b of boards.splice(0)) await b.close()
})

/** what `iotctl firmware build` would lay out for one device: bootloader, partition table, NVS, simulation app */
function devicePlan(options: {id: string; backendUrl: string; chip: 'esp32' | 'esp8266'}) {
  const app = makeSimulationImage(options.chip, {templateType: 'boot-test', flashSize: '4MB'})
  const layout = buildPartitionTable(DEFAULT_PARTITIONS, {flashSize: '4MB', appSize: app.length, template: 'boot-test'})
  const items = deviceNvsItems(template, {
    id: options.id,
    type: 'boot-test',
    wifi: {},
    backendUrl: options.backendUrl,
    scheme: 'iotctl',
    topics: {},
    intervalSeconds: 1,
    settings: {},
  })
  const nvs = buildNvsImage('iotctl', items, layout.nvs.size, options.id)
  return [
    {name: 'bootloader', address: options.chip === 'esp32' ? 0x1000 : 0x0, data: buildSimulationBootloader({chip: options.chip})},
    {name: 'partition-table', address: 0x8000, data: layout.table},
    {name: 'nvs', address: layout.nvs.offset, data: nvs},
    {name: 'app', address: layout.app.offset, data: app},
  ]
}

async function boardWithRuntime(chip: 'esp32' | 'esp8266') {
  const loaded: string[] = []
  const board = await VirtualBoard.start({
    chip,
    onBoot: firmwareBootHook({
      chip: (await import('../../../src/lib/emulator/chips.js')).emulatedChip(chip),
      loadTemplate: async (type) => {
        loaded.push(type)
        if (type !== 'boot-test') throw new Error(`no template "${type}"`)
        return template
      },
      tracePublishes: true,
    }),
  })
  boards.push(board)
  let console = ''
  board.on('console', (e) => (console += e.text))
  return {board, loaded, consoleText: () => console}
}

const waitFor = async (what: string, check: () => boolean, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('virtual board boots what was flashed', () => {
  for (const chip of ['esp32', 'esp8266'] as const) {
    it(`${chip}: partition table → NVS → simulation app → device runtime publishing to the backend in NVS`, async () => {
      const {board, loaded, consoleText} = await boardWithRuntime(chip)
      const id = `boot-${chip}`
      const received: string[] = []
      const sub = await mqtt.connectAsync(broker.url)
      await sub.subscribeAsync(`#`)
      sub.on('message', (topic, payload) => topic.includes(id) && received.push(`${topic} ${payload}`))
      try {
        const session = await FlashSession.connect({port: board.url})
        await session.write({parts: devicePlan({id, backendUrl: broker.url, chip})})
        await session.reset()
        await session.close()
        await waitFor('telemetry', () => received.some((m) => /21\.5/.test(m)))
        expect(loaded).toEqual(['boot-test'])
        const text = consoleText()
        expect(text).toMatch(/I \(\d+\) boot: Partition Table:/)
        expect(text).toMatch(/Project name: +boot-test, App version: 1\.0\.0/)
        expect(text).toMatch(new RegExp(`device ${id} \\(type boot-test\\), MAC ${board.mac}`))
        expect(text).toMatch(/mqtt: connected to mqtt:\/\/127\.0\.0\.1:\d+/)
        // a SYNC (the next flashing host) stops the app
        await board.resetToBootloader('test')
        expect(board.state).toBe('download')
      } finally {
        await sub.endAsync()
      }
    }, 30_000)
  }

  it('broken contents print a boot error and stay in the bootloader, never crash', async () => {
    const {board, consoleText} = await boardWithRuntime('esp32')
    const failures: string[] = []
    board.on('bootFailed', (e) => failures.push(e.message))
    const plan = devicePlan({id: 'broken', backendUrl: broker.url, chip: 'esp32'})

    // erased flash: the ROM finds no second-stage bootloader, as a real ESP32 would
    await board.boot('erased')
    await waitFor('failure 1', () => failures.length === 1)
    expect(consoleText()).toMatch(/invalid header: 0xffffffff \(no second-stage bootloader at 0x1000\)/)

    // everything but the bootloader (what `flash --erase` without one used to leave): still no boot
    board.flash.eraseCovering(0, 0x200000)
    for (const part of plan.slice(1)) board.flash.write(part.address, part.data)
    await board.boot('no bootloader')
    await waitFor('failure 2', () => failures.length === 2)
    expect(failures[1]).toMatch(/invalid header: 0xffffffff/)
    expect(consoleText()).not.toMatch(/Partition Table:/)

    // a bootloader with a bad checksum
    const badBoot = Uint8Array.from(plan[0].data)
    badBoot[40] ^= 0x01
    board.flash.eraseCovering(0, 0x200000)
    for (const part of [{...plan[0], data: badBoot}, ...plan.slice(1)]) board.flash.write(part.address, part.data)
    await board.boot('bad bootloader')
    await waitFor('failure 3', () => failures.length === 3)
    expect(failures[2]).toMatch(/bootloader at 0x1000: .*(checksum|SHA-256)/)

    // no partition table
    board.flash.eraseCovering(0, 0x200000)
    board.flash.write(plan[0].address, plan[0].data)
    await board.boot('no table')
    await waitFor('failure 4', () => failures.length === 4)
    expect(consoleText()).toMatch(/E \(\d+\) boot: No partition table found at 0x8000/)

    // table but a corrupt NVS page
    const nvs = Uint8Array.from(plan[2].data)
    // a bit of the first entry (its key), which the entry CRC covers
    nvs[64 + 10] ^= 0x01
    board.flash.eraseCovering(0, 0x200000)
    for (const part of [plan[0], plan[1], {...plan[2], data: nvs}, plan[3]]) board.flash.write(part.address, part.data)
    await board.boot('bad nvs')
    await waitFor('failure 5', () => failures.length === 5)
    expect(consoleText()).toMatch(/E \(\d+\) nvs: nvs_flash_init failed/)

    // bootloader, table and NVS but no app
    board.flash.eraseCovering(0, 0x200000)
    for (const part of plan.slice(0, 3)) board.flash.write(part.address, part.data)
    await board.boot('no app')
    await waitFor('failure 6', () => failures.length === 6)
    expect(consoleText()).toMatch(/E \(\d+\) esp_image: image at 0x10000 has invalid magic byte \(0xff\): no app flashed/)
    expect(board.state).toBe('download')
  })
})
