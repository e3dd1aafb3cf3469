import {execFileSync, spawnSync} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {emulatedChip} from '../../../src/lib/emulator/chips.js'
import {firmwareBootHook} from '../../../src/lib/emulator/firmware-boot.js'
import {writeFatImage} from '../../../src/lib/fs/index.js'
import {encodeJob, jobTopic, statusTopic} from '../../../src/lib/ota/contract.js'
import type {DownloadServer} from '../../../src/lib/ota/download-server.js'
import {createRelease, type Release} from '../../../src/lib/ota/releases.js'
import {writePartitionTable} from '../../../src/lib/partitions/index.js'
import type {PartitionEntry} from '../../../src/lib/partitions/types.js'
import {createServer, connect as tcpConnect, type Socket} from 'node:net'
import {appImage, bootloaderImage} from '../../support/esp-image.js'
import {boardFiles, Lines, mosquittoSub, type DeviceTls} from '../../support/micropython-device.js'
import type {Mosquitto} from '../../support/mosquitto.js'
import {startOtaLab, type OtaLab} from '../../support/ota-lab.js'

const PASSPHRASE = 'micropython firmware ota'
const ORACLE = join(import.meta.dirname, '..', '..', 'support', 'oracles', 'otadata.py')
const FLASH = 0x400000
const part = (name: string, type: number, subtype: number, offset: number, size: number): PartitionEntry => ({name, type, subtype, offset, size, encrypted: false, readonly: false})
/** ESP32_GENERIC-OTA's shape: otadata and two app slots (no factory); the filesystem after the last partition */
const OTA_TABLE = [part('nvs', 1, 2, 0x9000, 0x5000), part('otadata', 1, 0, 0xe000, 0x2000), part('ota_0', 0, 0x10, 0x10000, 0x180000), part('ota_1', 0, 0x11, 0x190000, 0x180000)]
/** ESP32_GENERIC's: one factory app */
const PLAIN_TABLE = [part('nvs', 1, 2, 0x9000, 0x6000), part('phy_init', 1, 1, 0xf000, 0x1000), part('factory', 0, 0, 0x10000, 0x1f0000)]
const OTADATA = 0xe000
const OTA_1 = 0x190000

/** A MicroPython ESP32 flash: bootloader, partition table, the firmware in the first app partition, the app's FAT volume. */
function micropythonFlash(table: PartitionEntry[], files: Map<string, Uint8Array>): Uint8Array {
  const flash = new Uint8Array(FLASH).fill(0xff)
  flash.set(bootloaderImage({chip: 'esp32'}), 0x1000)
  flash.set(writePartitionTable(table), 0x8000)
  flash.set(appImage({chip: 'esp32', projectName: 'micropython', version: 'v1.27.0', idfVersion: 'v5.5.1'}), 0x10000)
  const fsAt = Math.max(...table.map((p) => p.offset + p.size))
  flash.set(writeFatImage(new Map([...files].map(([p, b]) => [p.slice(1), b])), FLASH - fsAt), fsAt)
  return flash
}

/**
 * A board as the virtual board runs it: the boot hook (its bootloader: partition table, otadata, the app
 * slot) over a flash whose writes persist, reset by the app (machine.reset goes back through it).
 */
function bootBoard(flash: Uint8Array) {
  const uart = new Lines()
  const console = uart.console()
  const reset = new AbortController()
  const hook = firmwareBootHook({chip: emulatedChip('esp32'), loadTemplate: async () => Promise.reject(new Error('not a simulation'))})
  const running = hook(flash.slice(), console, {signal: reset.signal, chip: 'esp32', mac: '24:0a:c4:00:0f:01', writeFlash: async (offset, bytes) => void flash.set(bytes, offset)})
  return {
    uart,
    stop: async () => {
      reset.abort()
      await running.catch(() => {})
    },
  }
}

describe('MicroPython firmware OTA through esp32.Partition (ESP32)', () => {
  let broker: Mosquitto
  let server: DownloadServer
  let device: DeviceTls
  let watcher: string[]
  let root: string

  let lab: OtaLab

  beforeAll(async () => {
    lab = await startOtaLab('mpy-fw', 'fw-1', PASSPHRASE)
    ;({root, broker, server, device, watcher} = lab)
  }, 60_000)

  afterAll(async () => {
    await lab?.stop()
  })

  const filesFor = (id: string, options: {port?: number; gateMs?: number} = {}) =>
    boardFiles(
      {
        version: 1, id, type: 'temp', chip: 'esp32', scheme: 'iotctl',
        mqtt: {host: '127.0.0.1', port: options.port ?? broker.port, tls: true, serverName: 'localhost', clientId: id, username: null, password: null, keepalive: 30},
        tls: {cert: 'certs/device.der', key: 'certs/device.key.der', ca: 'certs/ca.der'},
        topics: {telemetry: `iotctl/temp/${id}/telemetry`, status: `iotctl/temp/${id}/status`, command: `iotctl/temp/${id}/cmd`, response: `iotctl/temp/${id}/resp`},
        interval: 2, fields: ['temperature', 'humidity'], sensors: [{driver: 'sht31', pins: {sda: 21, scl: 22}, fields: {temperature: 'temperature', humidity: 'humidity'}}],
        watchdogMs: 30_000, otaGateMs: options.gateMs ?? 30_000, log: true,
      },
      device,
    )
  const sub = (topic: string) => mosquittoSub(['-h', '127.0.0.1', '-p', String(broker.port), ...watcher, '-t', topic])
  const publishJob = (id: string, release: Release, jobId: string, base = server.url) => {
    const job = encodeJob({...release.signed, jobId, operation: 'update', url: new URL(release.manifest.url, base).href, ts: Date.now()})
    const result = spawnSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.port), ...watcher, '-t', jobTopic(id), '-q', '1', '-r', '-m', job], {encoding: 'utf8'})
    expect(result.status, result.stderr).toBe(0)
  }
  const statusOf = (line: string) => JSON.parse(line.slice(line.indexOf(' ') + 1))
  const oracle = (otadata: Uint8Array) => {
    const file = join(root, `otadata-${Date.now()}.bin`)
    writeFileSync(file, otadata)
    return JSON.parse(execFileSync('python3', [ORACLE, 'read', file, '2'], {encoding: 'utf8'}))
  }
  const firmware = (version: string, size: number) => appImage({chip: 'esp32', projectName: 'micropython', version, idfVersion: 'v5.5.1', size})

  it('writes the idle slot (a broken download resumed), sets otadata as ESP-IDF does, boots the new slot and confirms it; a wrong SHA-256 leaves otadata alone', {timeout: 240_000}, async () => {
    const image = firmware('v1.27.1', 150_000)
    const first = await createRelease(root, {type: 'temp', version: '1.1.0', image, source: 'fw 1.1.0', chip: 'esp32', passphrase: PASSPHRASE})
    expect(first.manifest).toMatchObject({kind: 'esp-app', chip: 'esp32', project: 'micropython'})
    const flash = micropythonFlash(OTA_TABLE, filesFor('fw-1'))
    const statuses = sub(statusTopic('fw-1'))
    const board = bootBoard(flash)
    try {
      await board.uart.waitFor(/^iotctl: online$/, 60_000)
      expect(statusOf(await statuses.lines.waitFor(/"idle"/))).toMatchObject({state: 'idle', version: '1.0.0'})
      expect(board.uart.all.some((l) => /Loaded app from partition at offset 0x10000$/.test(l))).toBe(true)

      // the first download breaks after ~60 KB (a proxy cuts the TCP connection): the app resumes with Range
      let cut = true
      const cutter = createServer((socket) => {
        const upstream = tcpConnect(server.port, '127.0.0.1')
        let sent = 0
        socket.pipe(upstream)
        upstream.on('data', (chunk: Buffer) => {
          sent += chunk.length
          socket.write(chunk)
          if (cut && sent > 60_000) {
            cut = false
            socket.destroy()
            upstream.destroy()
          }
        })
        socket.on('error', () => upstream.destroy())
        upstream.on('error', () => socket.destroy())
        socket.on('close', () => upstream.destroy())
      })
      await new Promise<void>((resolve) => cutter.listen(0, '127.0.0.1', resolve))
      const ranged = server.stats.ranged
      publishJob('fw-1', first, 'f1/update', `https://127.0.0.1:${(cutter.address() as {port: number}).port}/`)
      const done = statusOf(await statuses.lines.waitFor(/"f1\/update".*"succeeded"|"succeeded".*"f1\/update"/, 120_000))
      expect(done).toMatchObject({jobId: 'f1/update', state: 'succeeded', version: '1.1.0', previousVersion: '1.0.0', sequence: first.manifest.sequence})
      const seen = statuses.lines.all.filter((l) => l.includes('f1/update')).map((l) => statusOf(l))
      expect(seen.map((s) => s.state)).toEqual(expect.arrayContaining(['downloading', 'verifying', 'installing', 'rebooting', 'succeeded']))
      expect(seen.find((s) => s.state === 'rebooting').slot).toBe('ota_1')
      expect(cut).toBe(false)
      expect(seen.find((s) => s.state === 'rebooting').resumedAt).toBeGreaterThan(0)
      expect(server.stats.ranged).toBe(ranged + 1)
      cutter.close()
      // the virtual bootloader booted the new slot (its descriptor says the new firmware)
      expect(board.uart.all.some((l) => /Loaded app from partition at offset 0x190000$/.test(l))).toBe(true)
      expect(board.uart.all.some((l) => /App version: v1\.27\.1$/.test(l))).toBe(true)
      // the slot holds the release's bytes; the rest of the written block is erased flash
      expect(Buffer.compare(flash.subarray(OTA_1, OTA_1 + image.length), image)).toBe(0)
      expect(flash.subarray(OTA_1 + image.length, OTA_1 + Math.ceil(image.length / 4096) * 4096).every((b) => b === 0xff)).toBe(true)
      // otadata as ESP-IDF's bootloader reads it: a CRC-correct entry naming ota_1, confirmed valid
      const read = oracle(flash.subarray(OTADATA, OTADATA + 0x2000))
      expect(read.boot_slot).toBe(1)
      const active = read.entries[read.active]
      expect(active).toMatchObject({crc_ok: true, state: 2})

      // a tampered image: refused after the download; otadata untouched, ota_1 still boots
      const second = await createRelease(root, {type: 'temp', version: '1.2.0', image: firmware('v1.27.2', 60_000), source: 'fw 1.2.0', chip: 'esp32', passphrase: PASSPHRASE})
      const tampered = Buffer.from(readFileSync(second.imageFile))
      tampered[tampered.length - 5000] ^= 0xff
      writeFileSync(second.imageFile, tampered)
      const otadataBefore = flash.slice(OTADATA, OTADATA + 0x2000)
      publishJob('fw-1', second, 'f2/update')
      const refused = statusOf(await statuses.lines.waitFor(/"f2\/update".*"failed"|"failed".*"f2\/update"/, 60_000))
      expect(refused).toMatchObject({state: 'failed', version: '1.1.0', error: expect.stringMatching(/SHA-256/)})
      expect(Buffer.compare(flash.subarray(OTADATA, OTADATA + 0x2000), otadataBefore)).toBe(0)
      expect(statuses.lines.all.some((l) => l.includes('f2/update') && l.includes('"rebooting"'))).toBe(false)
    } finally {
      statuses.stop()
      await board.stop()
    }
  })

  it('a layout without OTA slots fails the job with a clear error', {timeout: 120_000}, async () => {
    const release = await createRelease(root, {type: 'temp', version: '2.0.0', image: firmware('v1.28.0', 20_000), source: 'fw 2.0.0', chip: 'esp32', passphrase: PASSPHRASE})
    const flash = micropythonFlash(PLAIN_TABLE, filesFor('fw-2'))
    const before = flash.slice()
    const statuses = sub(statusTopic('fw-2'))
    const board = bootBoard(flash)
    try {
      await board.uart.waitFor(/^iotctl: online$/, 60_000)
      publishJob('fw-2', release, 'f3/update')
      const failed = statusOf(await statuses.lines.waitFor(/"f3\/update".*"failed"|"failed".*"f3\/update"/, 60_000))
      expect(failed).toMatchObject({state: 'failed', version: '1.0.0', error: 'this firmware layout has no OTA slots; flash the ESP32_GENERIC-OTA build'})
      // nothing outside the filesystem changed
      const fsAt = 0x200000
      expect(Buffer.compare(flash.subarray(0, fsAt), before.subarray(0, fsAt))).toBe(0)
    } finally {
      statuses.stop()
      await board.stop()
    }
  })

  it('new firmware that never reaches the backend: the gate resets, the bootloader rolls back to the old slot, rolled-back is reported', {timeout: 180_000}, async () => {
    // the board reaches the broker through a proxy that can refuse new connections (the session it has stays)
    let refuse = false
    const sockets = new Set<Socket>()
    const proxy = createServer((socket) => {
      if (refuse) return void socket.destroy()
      const upstream = tcpConnect(broker.port, '127.0.0.1')
      sockets.add(socket).add(upstream)
      socket.pipe(upstream).pipe(socket)
      socket.on('error', () => upstream.destroy())
      upstream.on('error', () => socket.destroy())
    })
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
    const release = await createRelease(root, {type: 'temp', version: '2.1.0', image: firmware('v1.28.1', 30_000), source: 'fw 2.1.0', chip: 'esp32', passphrase: PASSPHRASE})
    const flash = micropythonFlash(OTA_TABLE, filesFor('fw-3', {port: (proxy.address() as {port: number}).port, gateMs: 4000}))
    const statuses = sub(statusTopic('fw-3'))
    const board = bootBoard(flash)
    try {
      await board.uart.waitFor(/^iotctl: online$/, 60_000)
      refuse = true
      publishJob('fw-3', release, 'f4/update')
      await board.uart.waitFor(/^iotctl: ota rebooting f4\/update/, 60_000)
      await board.uart.waitFor(/App version: v1\.28\.1$/, 30_000)
      // the gate fires, the state is reverted, the reset finds ota_1 still pending-verify
      await board.uart.waitFor(/^iotctl: ota: reverted to 1\.0\.0/, 30_000)
      await board.uart.waitFor(/ota_1 is still pending verification .*rolling back/, 30_000)
      const read = oracle(flash.subarray(OTADATA, OTADATA + 0x2000))
      expect(read.entries.map((e: {state: number}) => e.state)).toContain(4) // ESP_OTA_IMG_ABORTED
      // no valid entry left: ESP-IDF's bootloader boots ota_0 (this table has no factory app)
      expect(read.active).toBe(-1)
      refuse = false
      const back = statusOf(await statuses.lines.waitFor(/"f4\/update".*"rolled-back"|"rolled-back".*"f4\/update"/, 60_000))
      expect(back).toMatchObject({state: 'rolled-back', version: '1.0.0', previousVersion: '2.1.0', error: expect.stringMatching(/did not reach the backend/)})
      expect(board.uart.all.filter((l) => /Loaded app from partition at offset 0x10000$/.test(l)).length).toBe(2)
    } finally {
      statuses.stop()
      await board.stop()
      for (const s of sockets) s.destroy()
      proxy.close()
    }
  })
})
