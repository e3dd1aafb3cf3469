import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {runCli, type CliEnv} from '../support/cli.js'
import {startEmulator, type EmulatorProcess} from '../support/emulator-process.js'
import {standInRuntimeImage} from '../support/micropython-image.js'
import type {Mosquitto} from '../support/mosquitto.js'
import {startMtlsFleet} from '../support/mtls-fleet.js'

const PASSPHRASE = 'micropython headline e2e'

/**
 * The headline path with every part real: `iotctl flash --type temp` writes the MicroPython bundle (a
 * stand-in runtime image, our device app, config.json and the device's certificate) to a virtual board;
 * the board boots it and runs OUR app from the flashed FAT volume in the real MicroPython interpreter,
 * which connects with its own certificate to a Mosquitto that requires client certificates; `iotctl
 * tail` sees its telemetry and `iotctl send … ping` gets the app's answer.
 */
describe('flash → emulate → tail: the shipped MicroPython device app on a virtual board, mutual TLS', () => {
  let broker: Mosquitto
  let ctx: CliEnv
  const images = {esp32: '', esp8266: ''}
  const boards: EmulatorProcess[] = []

  beforeAll(async () => {
    // tail and send authenticate as a registered device of their own
    ;({ctx, broker} = await startMtlsFleet({env: {IOTCTL_CA_PASSPHRASE: PASSPHRASE}, caSubject: 'CN=MicroPython Fleet CA', backend: 'secure', client: {id: 'watcher', type: 'temp', backend: 'watch'}}))
    for (const chip of ['esp32', 'esp8266'] as const) {
      images[chip] = join(ctx.home, `${chip}-micropython.bin`)
      writeFileSync(images[chip], standInRuntimeImage(chip))
    }
  })
  afterEach(async () => {
    for (const board of boards.splice(0)) await board.kill()
  })
  afterAll(async () => broker?.stop())

  it('ESP32: flash --type temp --runtime-image, the board runs our app, tail sees telemetry, send ping is answered', {timeout: 180_000}, async () => {
    const id = '24:0a:c4:e2:e1:01'
    const board = await startEmulator(ctx, ['--chip', 'esp32', '--mac', id])
    boards.push(board)
    const flashed = await runCli(['flash', '--type', 'temp', '--port', board.url, '--runtime-image', images.esp32, '--set', 'wifi.ssid=farm', '--set', 'wifi.password=pw-never-printed', '--json'], ctx, {timeoutMs: 120_000})
    expect(flashed.code, flashed.stderr).toBe(0)
    expect(flashed.json()).toMatchObject({device: id, type: 'temp', simulation: false, app: {version: 'v1.27.0'}})

    // the board's console, as a user would wait for it
    const online = await runCli(['monitor', '--port', board.url, '--until', 'iotctl: online', '--timeout', '90s'], ctx, {timeoutMs: 120_000})
    expect(online.code, `${online.stderr}\n${board.console()}`).toBe(0)
    expect(board.console()).toMatch(/MicroPython v1\.27\.0: running the filesystem at 0x200000/)

    const tail = await runCli(['tail', '--backend', 'watch', '--count', '1', '--json', '--timeout', '60s', '--device', id], ctx, {timeoutMs: 90_000})
    expect(tail.code, tail.stderr).toBe(0)
    const messages = tail.stdout.trim().split('\n').map((l) => JSON.parse(l))
    // the retained online status (the app's, with its last will behind it), then fresh telemetry
    expect(messages.find((m) => m.kind === 'status')).toMatchObject({device: id, status: 'online', retain: true})
    const telemetry = messages.find((m) => m.kind === 'telemetry')
    expect(telemetry, tail.stdout).toMatchObject({device: id})
    expect(typeof telemetry.fields.temperature).toBe('number')
    expect(typeof telemetry.fields.humidity).toBe('number')

    const ping = await runCli(['send', id, 'ping', '--backend', 'watch', '--timeout', '30s', '--json'], ctx, {timeoutMs: 60_000})
    expect(ping.code, `${ping.stderr}\n${board.console()}`).toBe(0)
    expect(ping.json()).toMatchObject({ok: true})
    expect(broker.log()).toContain(`u'${id}'`) // Mosquitto saw the board's own certificate
  })

  it('ESP8266: the filesystem at the port\'s fixed 1 MiB offset, no partition table; the same app runs with an RSA-2048 certificate', {timeout: 180_000}, async () => {
    const id = '18:fe:34:e2:e1:02'
    const board = await startEmulator(ctx, ['--chip', 'esp8266', '--mac', id])
    boards.push(board)
    const flashed = await runCli(['flash', '--type', 'temp', '--port', board.url, '--runtime-image', images.esp8266, '--set', 'wifi.ssid=farm', '--set', 'wifi.password=pw', '--json'], ctx, {timeoutMs: 120_000})
    expect(flashed.code, flashed.stderr).toBe(0)
    expect(flashed.json().parts.map((p: {name: string; offset: number}) => [p.name, p.offset])).toEqual([
      ['runtime', 0],
      ['fs', 0x100000],
    ])
    const online = await runCli(['monitor', '--port', board.url, '--until', 'iotctl: online', '--timeout', '90s'], ctx, {timeoutMs: 120_000})
    expect(online.code, `${online.stderr}\n${board.console()}`).toBe(0)
    expect(board.console()).toMatch(/a FAT volume at 0x100000: MicroPython \(ESP8266_GENERIC layout\)/)
    const tail = await runCli(['tail', '--backend', 'watch', '--count', '1', '--json', '--timeout', '60s', '--device', id], ctx, {timeoutMs: 90_000})
    expect(tail.code, tail.stderr).toBe(0)
    const telemetry = tail.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((m) => m.kind === 'telemetry')
    expect(telemetry, tail.stdout).toMatchObject({device: id})
    expect(typeof telemetry.fields.temperature).toBe('number')
    expect(broker.log()).toContain(`u'${id}'`)
  })
})
