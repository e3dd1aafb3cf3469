import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import {runCli, type CliEnv} from '../support/cli.js'
import {startCli} from '../support/cli-process.js'
import {startEmulator, type EmulatorProcess} from '../support/emulator-process.js'
import type {Mosquitto} from '../support/mosquitto.js'
import {startPtyBridge, type PtyBridge} from '../support/pty-bridge.js'
import {bootloaderImage} from '../support/esp-image.js'
import {startMtlsFleet} from '../support/mtls-fleet.js'

const PASSPHRASE = 'flash e2e passphrase'

/**
 * From unboxing to telemetry: a fleet CA, a Mosquitto that requires client certificates (its server certificate
 * issued by iotctl), two virtual boards, `iotctl flash --type temp` without --device, and `iotctl tail` seeing both.
 */
describe('iotctl flash → virtual boards → telemetry over mutual TLS', () => {
  let ctx: CliEnv
  let broker: Mosquitto
  const boards: EmulatorProcess[] = []
  const bridges: PtyBridge[] = []

  beforeAll(async () => {
    ;({ctx, broker} = await startMtlsFleet({env: {IOTCTL_CA_PASSPHRASE: PASSPHRASE}, caSubject: 'CN=Flash E2E CA', backend: 'secure', client: {id: 'watcher', type: 'temp', backend: 'watch'}}))
  })
  afterEach(async () => {
    for (const bridge of bridges.splice(0)) await bridge.stop()
    for (const board of boards.splice(0)) await board.kill()
  })
  afterAll(async () => broker?.stop())

  const emulate = async (args: string[]) => {
    const board = await startEmulator(ctx, args)
    boards.push(board)
    return board
  }

  it('flashes an ESP32 over socket:// and an ESP8266 through a pty, ids from MACs; tail sees both over mTLS', async () => {
    const esp32 = await emulate(['--chip', 'esp32', '--mac', '24:0a:c4:e2:e0:01'])
    const esp8266 = await emulate(['--chip', 'esp8266', '--mac', '18:fe:34:e2:e0:02'])
    const pty = await startPtyBridge(esp8266.port)
    bridges.push(pty)

    const tail = startCli(['tail', '--backend', 'watch', '--json', '--count', '2', '--timeout', '60s'], ctx)
    await tail.waitForStderr(/Subscribed to|Watching/)
    const [overTcp, overPty] = await Promise.all([
      runCli(['flash', '--type', 'temp', '--port', esp32.url, '--json'], ctx),
      runCli(['flash', '--type', 'temp', '--port', pty.path, '--json'], ctx),
    ])
    expect(overTcp.code, overTcp.stderr).toBe(0)
    expect(overPty.code, overPty.stderr).toBe(0)
    const a = overTcp.json()
    const b = overPty.json()
    expect(a).toMatchObject({device: '24:0a:c4:e2:e0:01', type: 'temp', chip: 'esp32', mac: '24:0a:c4:e2:e0:01', registered: true, certificateIssued: true, virtual: true, simulation: true, reset: 'run-user-code', dryRun: false})
    expect(b).toMatchObject({device: '18:fe:34:e2:e0:02', chip: 'esp8266', registered: true, certificateIssued: true})
    expect(a.parts.map((p: {name: string}) => p.name)).toEqual(['bootloader', 'partition-table', 'nvs', 'app'])
    expect(a.parts.every((p: {verified: boolean}) => p.verified)).toBe(true)
    expect(a.bytes).toBe(a.parts.reduce((n: number, p: {size: number}) => n + p.size, 0))
    expect(a.throughput).toBeGreaterThan(0)
    expect(overPty.stderr).toMatch(/cannot set DTR\/RTS/)

    expect(await tail.exited).toBe(0)
    const seen = new Set(tail.ndjson().filter((m) => m.kind === 'telemetry').map((m) => m.device))
    expect(seen).toEqual(new Set(['24:0a:c4:e2:e0:01', '18:fe:34:e2:e0:02']))
    expect(esp32.console()).toMatch(/mqtt: connected to mqtts:\/\/127\.0\.0\.1:\d+ as 24:0a:c4:e2:e0:01/)

    const listed = (await runCli(['devices', 'list', '--json'], ctx)).json()
    const record = listed.find((d: {id: string}) => d.id === '24:0a:c4:e2:e0:01')
    expect(record).toMatchObject({type: 'temp', chip: 'esp32', mac: '24:0a:c4:e2:e0:01'})
    expect(record.cert).toBeDefined()
    const shown = (await runCli(['devices', 'show', '24:0a:c4:e2:e0:01', '--json'], ctx)).json()
    expect(shown.flashes[0]).toMatchObject({result: 'ok', template: 'temp', port: esp32.url})
  }, 120_000)

  it('a board killed mid-write: the error names the part and offset, the registry records it, a rerun completes', async () => {
    const mac = '24:0a:c4:e2:e0:03'
    const board = await emulate(['--chip', 'esp32', '--mac', mac, '--pace'])
    const flashing = runCli(['flash', '--type', 'temp', '--port', board.url, '--baud', '115200', '--json'], ctx)
    // power goes as soon as the first part is on the board
    await board.waitFor('flashWritten')
    await board.kill()
    const failed = await flashing
    expect(failed.code).toBe(10)
    const error = failed.json().error
    expect(error.code).toBe('FLASH_WRITE_FAILED')
    // the first part reached the board, but its end or its MD5 check could not be confirmed, or a later part broke off
    expect(error.message).toMatch(/^writing part "(bootloader|partition-table|nvs|app)" \(0x[0-9a-f]+, \d+ bytes\) failed at 0x[0-9a-f]+: the board went away/)
    expect(error.details).toMatchObject({part: expect.stringMatching(/^(bootloader|partition-table|nvs|app)$/), offset: expect.any(Number)})
    expect(error.message).toContain(`failed at 0x${error.details.offset.toString(16)}`)
    const history = (await runCli(['devices', 'show', mac, '--json'], ctx)).json().flashes
    expect(history[0]).toMatchObject({result: 'failed', error: expect.stringMatching(/went away/)})

    const again = await emulate(['--chip', 'esp32', '--mac', mac, '--flash-file', board.flashFile])
    const rerun = await runCli(['flash', '--port', again.url, '--json'], ctx)
    expect(rerun.code, rerun.stderr).toBe(0)
    expect(rerun.json()).toMatchObject({device: mac, registered: false, certificateIssued: false})
    const after = (await runCli(['devices', 'show', mac, '--json'], ctx)).json().flashes
    expect(after.map((f: {result: string}) => f.result).slice(0, 2)).toEqual(['ok', 'failed'])
  }, 60_000)

  it('a board behind a pty killed mid-write: exit 10 naming the port and part, the port closed, nothing recorded as flashed', async () => {
    const mac = '24:0a:c4:e2:e0:1a'
    const board = await emulate(['--chip', 'esp32', '--mac', mac, '--pace'])
    const pty = await startPtyBridge(board.port)
    bridges.push(pty)
    const flashing = runCli(['flash', '--type', 'temp', '--port', pty.path, '--baud', '115200', '--json'], ctx)
    // the far end of the pty dies while the parts are being written: socat exits and the pty hangs up
    await board.waitFor('flashWritten')
    await board.kill()
    const failed = await flashing
    // before the fix a read on the dead pty never settled and Node exited 13 (unsettled top-level await), silently
    expect(failed.code, failed.stderr).toBe(10)
    const error = failed.json().error
    expect(error.code).toBe('FLASH_WRITE_FAILED')
    expect(error.message).toMatch(/^writing part "(bootloader|partition-table|nvs|app)" \(0x[0-9a-f]+, \d+ bytes\) failed at 0x[0-9a-f]+: the board went away/)
    expect(error.message).toContain(pty.path)
    expect(error.details).toMatchObject({part: expect.stringMatching(/^(bootloader|partition-table|nvs|app)$/), offset: expect.any(Number)})
    const history = (await runCli(['devices', 'show', mac, '--json'], ctx)).json().flashes
    expect(history.map((f: {result: string}) => f.result)).toEqual(['failed'])
  }, 60_000)

  it('an app image larger than its partition is refused before anything is written', async () => {
    const board = await emulate(['--chip', 'esp32', '--mac', '24:0a:c4:e2:e0:04'])
    const big = join(ctx.home, 'big.bin')
    writeFileSync(big, esp32Image(1536 * 1024))
    const result = await runCli(['flash', '--type', 'temp', '--port', board.url, '--app', big, '--json'], ctx)
    expect(result.code).toBe(2)
    expect(result.json().error).toMatchObject({code: 'APP_PARTITION_TOO_SMALL', message: expect.stringMatching(/does not fit app partition "factory"/)})
    expect(board.events.some((e) => e.event === 'flashWritten')).toBe(false)
    expect(readFileSync(board.flashFile).every((byte) => byte === 0xff)).toBe(true)
  }, 60_000)

  it('several --port values flash in parallel, each registered by its MAC; --dry-run writes nothing', async () => {
    const one = await emulate(['--chip', 'esp32', '--mac', '24:0a:c4:e2:e0:11'])
    const two = await emulate(['--chip', 'esp8266', '--mac', '18:fe:34:e2:e0:12'])
    const dry = await runCli(['flash', '--type', 'temp', '--port', one.url, '--dry-run', '--json'], ctx)
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.json()).toMatchObject({device: '24:0a:c4:e2:e0:11', dryRun: true, registered: false, wireBytes: 0})
    expect(one.events.some((e) => e.event === 'flashWritten')).toBe(false)
    expect((await runCli(['devices', 'list', '--json'], ctx)).json().some((d: {id: string}) => d.id === '24:0a:c4:e2:e0:11')).toBe(false)

    const noType = await runCli(['flash', '--port', two.url], ctx)
    expect(noType.code).toBe(2)
    expect(noType.stderr).toMatch(/not registered: name its type/)

    const both = await runCli(['flash', '--type', 'temp', '--port', one.url, '--port', two.url, '--json'], ctx)
    expect(both.code, both.stderr).toBe(0)
    const result = both.json()
    expect(result.failed).toEqual([])
    expect(result.boards.map((b: {device: string}) => b.device).sort()).toEqual(['18:fe:34:e2:e0:12', '24:0a:c4:e2:e0:11'])
    expect(result.throughput).toBeGreaterThan(0)
  }, 60_000)

  it('an unknown chip, and a simulation image for a real board, are refused before anything is written or registered', async () => {
    const unknown = await emulate(['--chip', 'esp32', '--chip-magic', 'deadbeef'])
    const result = await runCli(['flash', '--type', 'temp', '--port', unknown.url], ctx)
    expect(result.code).toBe(10)
    expect(result.stderr).toMatch(/is a chip iotctl does not know \(chip magic 0xdeadbeef\)/)

    const real = await emulate(['--chip', 'esp32', '--pose-as-real'])
    // a real board gets MicroPython; offline and without --runtime-image the error names URL, hash and flag
    const offline = await runCli(['flash', '--type', 'temp', '--port', real.url, '--json'], {...ctx, env: {...ctx.env, IOTCTL_OFFLINE: '1'}})
    expect(offline.code).toBe(5)
    expect(offline.json().error).toMatchObject({code: 'RUNTIME_IMAGE_UNAVAILABLE', details: {flag: '--runtime-image', sha256: 'aa4be80ec695911ba0f13f7558e559ce540f90efbf40c23b853ca49162136b9f'}})
    expect(offline.json().error.message).toContain('https://micropython.org/resources/firmware/ESP32_GENERIC-20251209-v1.27.0.bin')
    // forced to the simulation image, a real board is refused
    const refused = await runCli(['flash', '--type', 'temp', '--runtime', 'simulation', '--port', real.url, '--json'], ctx)
    expect(refused.code).toBe(2)
    expect(refused.json().error).toMatchObject({code: 'SIMULATION_IMAGE_ON_REAL_BOARD', message: expect.stringMatching(/only a virtual board runs/)})
    expect(real.events.some((e) => e.event === 'flashWritten')).toBe(false)
    const listed = (await runCli(['devices', 'list', '--json'], ctx)).json()
    expect(listed.some((d: {mac?: string}) => d.mac === real.mac)).toBe(false)
  }, 60_000)

  it('a blank board, or --erase, needs a bootloader in the plan: refused before anything is written; with --bootloader it boots', async () => {
    const board = await emulate(['--chip', 'esp32', '--mac', '24:0a:c4:e2:e0:21'])
    const app = join(ctx.home, 'native.bin')
    writeFileSync(app, esp32Image(200 * 1024))
    const wifi = ['--set', 'wifi.ssid=farm', '--set', 'wifi.password=pw-12345']
    const blank = await runCli(['flash', '--type', 'temp', '--port', board.url, '--app', app, ...wifi, '--json'], ctx)
    expect(blank.code).toBe(2)
    expect(blank.json().error).toMatchObject({code: 'BOOTLOADER_REQUIRED', message: expect.stringMatching(/no second-stage bootloader at 0x1000 .*Nothing was written/)})
    expect(blank.json().error.suggestions.join(' ')).toMatch(/--bootloader/)
    expect(board.events.some((e) => e.event === 'flashWritten')).toBe(false)
    expect(readFileSync(board.flashFile).every((byte) => byte === 0xff)).toBe(true)
    expect((await runCli(['devices', 'show', board.mac], ctx)).code).toBe(3)

    const bootloader = join(ctx.home, 'bootloader.bin')
    writeFileSync(bootloader, bootloaderImage({chip: 'esp32'}))
    const flashed = await runCli(['flash', '--type', 'temp', '--port', board.url, '--app', app, '--bootloader', bootloader, ...wifi, '--json'], ctx)
    expect(flashed.code, flashed.stderr).toBe(0)
    expect(flashed.json().parts.map((p: {name: string; offset: number}) => [p.name, p.offset])[0]).toEqual(['bootloader', 0x1000])
    await board.waitFor('console', (e) => /2nd stage bootloader at 0x1000/.test(String(e.text)))

    // the board has a bootloader now, but --erase wipes it and this plan brings none
    const erase = await runCli(['flash', '--device', board.mac, '--port', board.url, '--app', app, '--erase', ...wifi, '--json'], ctx)
    expect(erase.code).toBe(2)
    expect(erase.json().error).toMatchObject({code: 'BOOTLOADER_REQUIRED', message: expect.stringMatching(/--erase wipes the second-stage bootloader/)})
    const erased = await runCli(['flash', '--device', board.mac, '--port', board.url, '--app', app, '--bootloader', bootloader, '--erase', ...wifi, '--json'], ctx)
    expect(erased.code, erased.stderr).toBe(0)
  }, 90_000)

  it('--no-stub flashes through the ROM loader alone', async () => {
    const board = await emulate(['--chip', 'esp8266', '--mac', '18:fe:34:e2:e0:31'])
    const erase = await runCli(['flash', '--type', 'temp', '--port', board.url, '--no-stub', '--erase', '--json'], ctx)
    expect(erase.code).toBe(2)
    expect(erase.json().error.message).toMatch(/--erase needs the flasher stub/)
    const result = await runCli(['flash', '--type', 'temp', '--port', board.url, '--no-stub', '--json'], ctx)
    expect(result.code, result.stderr).toBe(0)
    // ESP8266's ROM has no MD5: written, not verified
    expect(result.json().parts.map((p: {name: string; verified: boolean}) => [p.name, p.verified])).toEqual([
      ['bootloader', false],
      ['partition-table', false],
      ['nvs', false],
      ['app', false],
    ])
    expect(board.events.some((e) => e.event === 'stubStarted')).toBe(false)
  }, 60_000)

  it('a simulation-only type (phone) goes onto a virtual ESP8266, laid out for that board', async () => {
    const board = await emulate(['--chip', 'esp8266'])
    const result = await runCli(['flash', '--type', 'phone', '--port', board.url, '--json'], ctx)
    expect(result.code, result.stdout + result.stderr).toBe(0)
    expect(result.json()).toMatchObject({device: board.mac, type: 'phone', chip: 'esp8266', simulation: true, registered: true})
    const device = (await runCli(['devices', 'show', board.mac, '--json'], ctx)).json()
    expect(device).toMatchObject({type: 'phone', chip: 'sim', mac: board.mac})
  }, 60_000)
})

/** a valid ESP32 app image of about `size` bytes: extended header, one DROM segment, checksum */
function esp32Image(size: number): Uint8Array {
  const dataLength = size - 24 - 8 - 16
  const image = new Uint8Array(24 + 8 + dataLength + 16)
  const view = new DataView(image.buffer)
  image[0] = 0xe9
  image[1] = 1
  image[2] = 2 // dio
  image[3] = 0x20 // 4MB, 40m
  view.setUint32(4, 0x400d0018, true)
  image[8] = 0xee // wp pin: none
  view.setUint16(12, 0, true) // chip id 0 = ESP32
  view.setUint32(24, 0x3f400020, true)
  view.setUint32(28, dataLength, true)
  let checksum = 0xef
  for (let i = 0; i < dataLength; i++) {
    const byte = (i * 7) & 0xff
    image[32 + i] = byte
    checksum ^= byte
  }
  let end = 32 + dataLength
  while (end % 16 !== 15) end++
  image[end] = checksum
  return image.subarray(0, end + 1)
}
