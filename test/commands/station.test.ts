import {mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import {isolatedEnv, runCli, type CliEnv} from '../support/cli.js'
import {startCli} from '../support/cli-process.js'
import {startEmulator, type EmulatorProcess} from '../support/emulator-process.js'
import {appImage, bootloaderImage} from '../support/esp-image.js'
import {plugIn, type LinePort} from '../support/line-port.js'
import {runInTty} from '../support/tty.js'
import {startMosquitto, type Mosquitto} from '../support/mosquitto.js'

/**
 * A production line of real parts: virtual boards (iotctl emulate) behind real ptys (socat) in a line
 * directory the station watches, a real Mosquitto as the backend the boards must reach (the boot assertion),
 * the workspace's traveler records checked by `records verify`.
 */
describe('iotctl station + records', () => {
  let ctx: CliEnv
  let broker: Mosquitto
  const boards: EmulatorProcess[] = []
  const ports: LinePort[] = []

  beforeAll(async () => {
    ctx = isolatedEnv({IOTCTL_CA_PASSPHRASE: 'station test passphrase'})
    const root = join(ctx.home, 'fleet')
    mkdirSync(root)
    expect((await runCli(['init', root], ctx)).code).toBe(0)
    ctx.cwd = root
    expect((await runCli(['certs', 'init', '--subject', 'CN=Station CA'], ctx)).code).toBe(0)
    broker = await startMosquitto()
    expect((await runCli(['backends', 'add', 'prod', '--kind', 'mqtt', '--url', `mqtt://127.0.0.1:${broker.port}`], ctx)).code).toBe(0)
    const init = await runCli(['station', 'init', 'line-1', '--type', 'temp', '--backend', 'prod', '--chip', 'esp32', '--until', 'mqtt: connected', '--boot-timeout', '45s', '--json'], ctx)
    expect(init.code, init.stderr).toBe(0)
    expect(init.json()).toMatchObject({name: 'line-1', chip: 'esp32', minFlashSize: 4 * 1024 * 1024, boot: {until: 'mqtt: connected', timeoutSeconds: 45}, stationKey: {algorithm: 'ec-p256'}})
  })
  afterEach(async () => {
    for (const port of ports.splice(0)) await port.unplug()
    for (const board of boards.splice(0)) await board.kill()
  })
  afterAll(async () => broker?.stop())

  const within = <T>(promise: Promise<T>, ms: number, what: () => string) =>
    Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(what())), ms).unref())])
  const lineDir = () => mkdtempSync(join(tmpdir(), 'iotctl-line-'))
  const emulate = async (args: string[]) => {
    const board = await startEmulator(ctx, args)
    boards.push(board)
    return board
  }
  const plug = async (dir: string, name: string, board: EmulatorProcess) => {
    const port = await plugIn(dir, name, board.port)
    ports.push(port)
    return port
  }

  it('eight boards at once: six pass, one unplugged mid-write and one that never boots fail; eight records, the chain verifies, then edits and deletions are caught', async () => {
    const dir = lineDir()
    const macs = Array.from({length: 8}, (_, i) => `24:0a:c4:16:00:0${i + 1}`)
    const emulators = await Promise.all(macs.map((mac, i) => emulate(['--chip', 'esp32', '--mac', mac, ...(i === 6 ? ['--power-cut-after', '1'] : []), ...(i === 7 ? ['--hang-on-boot'] : [])])))
    await Promise.all(emulators.map((board, i) => plug(dir, `ttyLINE${i + 1}`, board)))

    const station = startCli(['station', 'run', 'line-1', '--ports', join(dir, '*'), '--poll', '200', '--boards', '8', '--operator', 'alice', '--json'], ctx)
    // the seventh board loses power as soon as its first part is on it (and its pty goes with it)
    const code = await within(station.exited, 150_000, () => `station run did not end:\n${station.stdout()}\n${station.stderr()}`)
    expect(code, station.stderr()).toBe(10)
    const events = station.ndjson()
    const summary = events.find((e) => e.event === 'summary')
    const failures = () => events.filter((e) => e.event === 'failed').map((e) => JSON.stringify(e)).join('\n') + station.stderr()
    expect(summary, failures()).toMatchObject({station: 'line-1', boards: 8, passed: 6, failed: 2})
    const failed = events.filter((e) => e.event === 'failed')
    const byPort = Object.fromEntries(failed.map((e) => [e.port, e]))
    expect(byPort[join(dir, 'ttyLINE7')]).toMatchObject({reason: 'FLASH_WRITE_FAILED', mac: macs[6], message: expect.stringMatching(/went away/)})
    expect(byPort[join(dir, 'ttyLINE8')]).toMatchObject({reason: 'BOOT_ASSERTION_TIMEOUT', mac: macs[7], message: expect.stringMatching(/did not print \/mqtt: connected\//)})
    expect(summary.failedByReason).toEqual({FLASH_WRITE_FAILED: 1, BOOT_ASSERTION_TIMEOUT: 1})
    expect(events.filter((e) => e.event === 'passed').map((e) => e.mac).sort()).toEqual(macs.slice(0, 6))
    expect(events.some((e) => e.event === 'stage' && e.stage === 'booting')).toBe(true)

    const list = await runCli(['records', 'list', '--station', 'line-1', '--json'], ctx)
    expect(list.code, list.stderr).toBe(0)
    const records = list.json()
    expect(records).toHaveLength(8)
    expect(records.map((r: {seq: number}) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    const passedRecord = records.find((r: {board?: {mac: string}}) => r.board?.mac === macs[0])
    expect(passedRecord).toMatchObject({
      result: 'pass',
      operator: 'alice',
      port: join(dir, 'ttyLINE1'),
      board: {mac: macs[0], chip: 'esp32', description: expect.stringMatching(/ESP32/), flashId: expect.stringMatching(/^0x[0-9a-f]{6}$/), flashSize: 4 * 1024 * 1024, virtual: true},
      device: {id: macs[0], type: 'temp'},
      certificate: {serial: expect.stringMatching(/^[0-9A-F]+$/)},
      boot: {assertion: 'mqtt: connected', outcome: 'matched', match: expect.stringMatching(/mqtt: connected to mqtt:\/\/127\.0\.0\.1/)},
      nvsSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    })
    expect(passedRecord.parts.map((p: {name: string}) => p.name)).toEqual(['bootloader', 'partition-table', 'nvs', 'app'])
    expect(passedRecord.parts.every((p: {written: boolean; md5?: string}) => p.written && p.md5)).toBe(true)
    // the NVS hash is of the bytes on the board: the emulator's flash file holds them at the recorded offset
    const nvs = passedRecord.parts.find((p: {name: string}) => p.name === 'nvs')
    const flash = readFileSync(emulators[0].flashFile)
    const {createHash} = await import('node:crypto')
    expect(createHash('sha256').update(flash.subarray(nvs.offset, nvs.offset + nvs.size)).digest('hex')).toBe(nvs.sha256)
    const hung = records.find((r: {board?: {mac: string}}) => r.board?.mac === macs[7])
    expect(hung).toMatchObject({result: 'fail', reason: 'BOOT_ASSERTION_TIMEOUT', boot: {outcome: 'timeout'}})
    expect(hung.boot.excerpt.join('\n')).toMatch(/rst:0x1/)
    // a failed board is never good in the registry
    const device = (await runCli(['devices', 'show', macs[7], '--json'], ctx)).json()
    expect(device.flashes[0]).toMatchObject({result: 'failed', error: expect.stringMatching(/did not print/)})

    const verified = await runCli(['records', 'verify', '--json'], ctx)
    expect(verified.code, verified.stdout + verified.stderr).toBe(0)
    expect(verified.json()).toMatchObject({ok: true, records: 8, stations: [{station: 'line-1', records: 8, ok: true, head: {seq: 8}}]})

    const csv = await runCli(['records', 'export', '--csv', '--result', 'fail'], ctx)
    expect(csv.code, csv.stderr).toBe(0)
    const rows = csv.stdout.trim().split('\r\n')
    expect(rows).toHaveLength(3)
    expect(rows[0]).toMatch(/^id,station,seq,result,reason/)

    // tampering: one record edited on disk, then (restored) one removed
    const file = join(ctx.cwd, 'registry', 'travelers.jsonl')
    const original = readFileSync(file, 'utf8')
    const lines = original.trimEnd().split('\n')
    writeFileSync(file, lines.map((l, i) => (i === 2 ? l.replace('"operator":"alice"', '"operator":"mallory"') : l)).join('\n') + '\n')
    const edited = await runCli(['records', 'verify', '--json'], ctx)
    expect(edited.code).toBe(6)
    expect(edited.json().error.details.problems).toEqual([expect.objectContaining({kind: 'edited', station: 'line-1', seq: 3, line: 3})])

    writeFileSync(file, lines.filter((_, i) => i !== 4).join('\n') + '\n')
    const removed = await runCli(['records', 'verify', '--json'], ctx)
    expect(removed.code).toBe(6)
    expect(removed.json().error.details.problems).toEqual([expect.objectContaining({kind: 'missing', seq: 6, message: expect.stringMatching(/line-1#5 is missing/)})])
    writeFileSync(file, original)
    expect((await runCli(['records', 'verify'], ctx)).code).toBe(0)
  }, 240_000)

  it('a recipe whose image changed after station init is refused before any board is touched', async () => {
    const app = join(ctx.home, 'app.bin')
    writeFileSync(app, appImage({chip: 'esp32', version: '1.0.0'}))
    const init = await runCli(['station', 'init', 'line-2', '--type', 'temp', '--backend', 'prod', '--chip', 'esp32', '--app', app, '--until', 'mqtt: connected', '--json'], ctx)
    expect(init.code, init.stderr).toBe(0)
    writeFileSync(app, appImage({chip: 'esp32', version: '1.0.1'}))
    const dir = lineDir()
    const board = await emulate(['--chip', 'esp32'])
    await plug(dir, 'ttyLINE1', board)
    const run = await runCli(['station', 'run', 'line-2', '--ports', join(dir, '*'), '--json'], ctx)
    expect(run.code).toBe(6)
    expect(run.json().error).toMatchObject({code: 'RECIPE_IMAGE_CHANGED', message: expect.stringMatching(/app image changed since the recipe was made/)})
    expect(board.events.some((e) => e.event === 'stubStarted' || e.event === 'flashWritten')).toBe(false)
    // a recipe edited by hand is refused too
    const recipeFile = join(ctx.cwd, 'stations', 'line-2', 'recipe.json')
    writeFileSync(recipeFile, readFileSync(recipeFile, 'utf8').replace('"timeoutSeconds": 30', '"timeoutSeconds": 3'))
    const edited = await runCli(['station', 'run', 'line-2', '--ports', join(dir, '*'), '--json'], ctx)
    expect(edited.code).toBe(6)
    expect(edited.json().error.code).toBe('RECIPE_TAMPERED')
  }, 60_000)

  it('hot-plug: boards attached while the station runs are flashed; a wrong chip and too little flash are refused; a reworked board links to its first record; Ctrl-C ends the shift with 130 and a summary', async () => {
    const dir = lineDir()
    const station = startCli(['station', 'run', 'line-1', '--ports', join(dir, '*'), '--poll', '100', '--operator', 'bob', '--json'], ctx)
    await station.waitForStdout(/"event":"watching"/, 30_000)
    const events = () => station.ndjson()
    const waitEvent = async (match: (e: any) => boolean, what: string) => {
      const deadline = Date.now() + 120_000
      while (!events().some(match)) {
        if (Date.now() > deadline) throw new Error(`no ${what}: ${station.stdout()}\n${station.stderr()}`)
        await new Promise((r) => setTimeout(r, 50))
      }
      return events().find(match)
    }

    const good = await emulate(['--chip', 'esp32', '--mac', '24:0a:c4:16:01:01'])
    const first = await plug(dir, 'ttyA', good)
    const wrongChip = await emulate(['--chip', 'esp8266', '--mac', '18:fe:34:16:01:02'])
    await plug(dir, 'ttyB', wrongChip)
    const small = await emulate(['--chip', 'esp32', '--mac', '24:0a:c4:16:01:03', '--flash-size', '2MB'])
    await plug(dir, 'ttyC', small)
    const passed = await waitEvent((e) => e.event === 'passed' && e.mac === '24:0a:c4:16:01:01', 'pass of the hot-plugged board')
    expect(passed).toMatchObject({port: first.path, rework: false})
    expect(await waitEvent((e) => e.event === 'failed' && e.port === join(dir, 'ttyB'), 'refusal of the ESP8266')).toMatchObject({reason: 'WRONG_CHIP', mac: '18:fe:34:16:01:02'})
    expect(await waitEvent((e) => e.event === 'failed' && e.port === join(dir, 'ttyC'), 'refusal of the 2 MB board')).toMatchObject({reason: 'FLASH_TOO_SMALL'})
    expect(wrongChip.events.some((e) => e.event === 'flashWritten')).toBe(false)
    expect(small.events.some((e) => e.event === 'flashWritten')).toBe(false)

    // rework: the same board unplugged, then plugged in again on another port
    await first.unplug()
    await waitEvent((e) => e.event === 'detached' && e.port === first.path, 'detach')
    await plug(dir, 'ttyD', good)
    const again = await waitEvent((e) => e.event === 'passed' && e.port === join(dir, 'ttyD'), 'pass of the reworked board')
    expect(again).toMatchObject({mac: '24:0a:c4:16:01:01', rework: true})

    station.child.kill('SIGINT')
    expect(await station.exited).toBe(130)
    const summary = events().find((e) => e.event === 'summary')
    expect(summary).toMatchObject({boards: 4, passed: 2, failed: 2, failedByReason: {WRONG_CHIP: 1, FLASH_TOO_SMALL: 1}})
    expect(summary.boardsPerHour).toBeGreaterThan(0)

    const history = (await runCli(['records', 'show', '24:0a:c4:16:01:01', '--json'], ctx)).json()
    expect(history).toHaveLength(2)
    expect(history[1]).toMatchObject({result: 'pass', operator: 'bob', reworkOf: history[0].id})
    expect((await runCli(['records', 'verify'], ctx)).code).toBe(0)
  }, 240_000)

  it('on a terminal: one live line per port, redrawn in place, and the shift summary', async () => {
    const dir = lineDir()
    const one = await emulate(['--chip', 'esp32'])
    const two = await emulate(['--chip', 'esp32'])
    await plug(dir, 'ttyT1', one)
    await plug(dir, 'ttyT2', two)
    const {output, code} = await runInTty(['station', 'run', 'line-1', '--ports', join(dir, '*'), '--poll', '100', '--boards', '2'], ctx, {timeoutMs: 120_000})
    expect(code, output).toBe(0)
    // the block of port lines is redrawn with cursor-up + clear-below
    expect(output).toMatch(/\u001B\[2A\u001B\[J/)
    for (const [port, board] of [['ttyT1', one], ['ttyT2', two]] as const) {
      expect(output).toMatch(new RegExp(`${join(dir, port)}\\s+writing (partition-table|nvs|app) \\d+%`))
      expect(output).toMatch(new RegExp(`${join(dir, port)}\\s+✔ passed ${board.mac} → line-1#\\d+`))
    }
    expect(output).toMatch(/Shift at station line-1: 2 boards in [\d.]+ s — 2 passed, 0 failed/)
    expect(output).toMatch(/boards\/hour/)
  }, 180_000)

  it('an app image that changes mid-shift: the next board is refused before anything is written', async () => {
    const app = join(ctx.home, 'line-3-app.bin')
    writeFileSync(app, appImage({chip: 'esp32', version: '2.0.0'}))
    const bootloader = join(ctx.home, 'line-3-bootloader.bin')
    writeFileSync(bootloader, bootloaderImage({chip: 'esp32'}))
    const init = await runCli(['station', 'init', 'line-3', '--type', 'temp', '--backend', 'prod', '--chip', 'esp32', '--app', app, '--bootloader', bootloader, '--until', 'mqtt: connected', '--boot-timeout', '45s'], ctx)
    expect(init.code, init.stderr).toBe(0)
    const dir = lineDir()
    // a real app needs Wi-Fi settings, settled before the first board
    const noWifi = await runCli(['station', 'run', 'line-3', '--ports', join(dir, '*'), '--json'], ctx)
    expect(noWifi.code).toBe(2)
    expect(noWifi.json().error).toMatchObject({code: 'SETTINGS_REQUIRED'})
    const station = startCli(['station', 'run', 'line-3', '--ports', join(dir, '*'), '--poll', '100', '--json'], {...ctx, env: {...ctx.env, IOTCTL_WIFI_SSID: 'factory', IOTCTL_WIFI_PASSWORD: 'factory-pass'}})
    await station.waitForStdout(/"event":"watching"/, 30_000)
    const first = await emulate(['--chip', 'esp32'])
    await plug(dir, 'ttyA', first)
    await station.waitForStdout(/"event":"passed"/, 120_000)
    writeFileSync(app, appImage({chip: 'esp32', version: '2.0.1'}))
    const second = await emulate(['--chip', 'esp32'])
    await plug(dir, 'ttyB', second)
    await station.waitForStdout(/"event":"failed"/, 60_000)
    station.child.kill('SIGINT')
    expect(await station.exited).toBe(130)
    const failed = station.ndjson().find((e) => e.event === 'failed')
    expect(failed).toMatchObject({port: join(dir, 'ttyB'), reason: 'IMAGE_CHANGED', message: expect.stringMatching(/changed since station line-3 was set up/)})
    expect(second.events.some((e) => e.event === 'stubStarted' || e.event === 'flashWritten')).toBe(false)
    const passed = (await runCli(['records', 'list', '--station', 'line-3', '--result', 'pass', '--json'], ctx)).json()
    expect(passed).toHaveLength(1)
    expect(passed[0].app.version).toBe('2.0.0')
  }, 240_000)
})
