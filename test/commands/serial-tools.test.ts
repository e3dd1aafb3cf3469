import type {ChildProcess} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {FlashSession} from '../../src/lib/flash/index.js'
import {buildSimulationBootloader} from '../../src/lib/image/index.js'
import {isolatedEnv, runCli, type CliEnv} from '../support/cli.js'
import {startEmulator} from '../support/emulator-process.js'
import {freePort} from '../support/net.js'
import {pathWithoutUdev, pathWithUdev} from '../support/fake-udev.js'

const children: ChildProcess[] = []
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGKILL')
      await exited
    }
  }
})

const emulate = async (ctx: CliEnv, args: string[]) => {
  const board = await startEmulator(ctx, args)
  children.push(board.child)
  return board
}

describe('iotctl ports', () => {
  it('lists the ports udev enumerates, ESP-looking first, as JSON and as a table', async () => {
    const ctx = isolatedEnv({PATH: pathWithUdev([{path: '/dev/ttyS4', vendorId: '1234', productId: '5678'}, {path: '/dev/ttyUSB0', vendorId: '10c4', productId: 'ea60'}])})
    const json = await runCli(['ports', '--json'], ctx)
    expect(json.code).toBe(0)
    const listing = json.json()
    expect(listing.available).toBe(true)
    expect(listing.ports.map((p: {path: string; likelyEsp: boolean}) => [p.path, p.likelyEsp])).toEqual([
      ['/dev/ttyUSB0', true],
      ['/dev/ttyS4', false],
    ])
    const human = await runCli(['ports'], ctx)
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/\/dev\/ttyUSB0.*10c4:ea60.*CP210x/)
  })

  it('says enumeration is unavailable without udev (exit 0) and names --port', async () => {
    const ctx = isolatedEnv({PATH: pathWithoutUdev()})
    const json = await runCli(['ports', '--json'], ctx)
    expect(json.code).toBe(0)
    expect(json.json()).toEqual({available: false, reason: expect.stringMatching(/udevadm is not installed/), ports: []})
    const human = await runCli(['ports'], ctx)
    expect(human.code).toBe(0)
    expect(human.stderr).toMatch(/--port/)
  })

  it('a --port that does not exist is "not found" (exit 3) and lists the ports that do', async () => {
    const ctx = isolatedEnv({PATH: pathWithUdev([{path: '/dev/ttyUSB0', vendorId: '10c4', productId: 'ea60'}])})
    expect((await runCli(['init', ctx.home], ctx)).code).toBe(0)
    const flash = await runCli(['flash', '--type', 'temp', '--port', '/dev/ttyUSB9', '--json'], ctx)
    expect(flash.code).toBe(3)
    expect(flash.json().error).toMatchObject({code: 'PORT_NOT_FOUND', message: expect.stringMatching(/\/dev\/ttyUSB9 does not exist/), suggestions: expect.arrayContaining(['--port /dev/ttyUSB0'])})
    const monitor = await runCli(['monitor', '--port', '/dev/ttyUSB9', '--timeout', '2s'], ctx)
    expect(monitor.code).toBe(3)
    expect(monitor.stderr).toMatch(/--port \/dev\/ttyUSB0/)
  })
})

describe('iotctl emulate + monitor', () => {
  it('serves a board that flashes over socket://, keeps its flash in a file, and boots it again after a restart', async () => {
    const ctx = isolatedEnv()
    const board = await emulate(ctx, ['--chip', 'esp8266', '--mac', '18:fe:34:00:00:42', '--flash-size', '1MB'])
    expect(board.mac).toBe('18:fe:34:00:00:42')
    expect(board.flashFile).toMatch(/boards\/18fe34000042\.bin$/)

    const session = await FlashSession.connect({port: board.url})
    expect(session.info).toMatchObject({chip: 'esp8266', mac: '18:fe:34:00:00:42', flashSize: 1024 * 1024})
    const bootloader = buildSimulationBootloader({chip: 'esp8266', flashSize: '1MB'})
    await session.write({parts: [{name: 'bootloader', address: 0, data: bootloader}]})
    expect(await session.reset()).toBe('run-user-code')
    await session.close()
    await board.waitFor('flashWritten', (e) => e.offset === 0 && e.length === bootloader.length)
    await board.waitFor('reset', (e) => e.to === 'app' && e.reason === 'RUN_USER_CODE')
    await board.waitFor('console', (e) => /rst cause:2, boot mode:\(3,6\)/.test(e.text))
    expect(await board.stop()).toBe(130)
    expect(board.events.at(-1)).toMatchObject({event: 'stopped', time: expect.any(String)})
    expect(readFileSync(board.flashFile).subarray(0, bootloader.length).equals(Buffer.from(bootloader))).toBe(true)

    // same flash, booted at start: the monitor sees the boot log and exits 0 on --until
    const again = await emulate(ctx, ['--chip', 'esp8266', '--mac', '18:fe:34:00:00:42', '--boot'])
    expect(again.flashFile).toBe(board.flashFile)
    const log = join(ctx.home, 'console.log')
    const watched = await runCli(['monitor', '--port', again.url, '--until', 'No partition table', '--timeout', '10s', '--timestamps', '--log', log], ctx)
    expect(watched.code).toBe(0)
    expect(watched.stdout).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] .*rst cause:2/m)
    expect(watched.stdout).toMatch(/2nd stage bootloader at 0x0/)
    expect(readFileSync(log, 'utf8')).toMatch(/E \(\d+\) boot: No partition table found at 0x8000/)
  }, 60_000)

  it('monitor --until exits 7 on timeout and streams NDJSON with --json', async () => {
    const ctx = isolatedEnv()
    const board = await emulate(ctx, ['--chip', 'esp32', '--boot'])
    await board.waitFor('bootFailed')
    const result = await runCli(['monitor', '--port', board.url, '--until', 'MQTT connected', '--timeout', '1s', '--json'], ctx)
    expect(result.code).toBe(7)
    const lines = result.ndjson()
    expect(lines[0]).toMatchObject({event: 'open', time: expect.any(String), port: board.url, baud: 115200})
    expect(lines.filter((l) => l.event === 'line').map((l) => l.text)).toContain('boot failed; staying in the bootloader')
    expect(lines.at(-2)).toMatchObject({event: 'summary', reason: 'timeout'})
    expect(lines.at(-1).error).toMatchObject({code: 'MONITOR_TIMEOUT', exit: 7})
    // one shape for every stream: "event" first, then "time"
    for (const line of lines.slice(0, -1)) expect(Object.keys(line).slice(0, 2)).toEqual(['event', 'time'])
  })

  it('monitor refuses a bad --until and an unreachable port with distinct exits', async () => {
    const ctx = isolatedEnv()
    const bad = await runCli(['monitor', '--port', 'socket://127.0.0.1:1', '--until', '(['], ctx)
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--until is not a regular expression/)
    const gone = await runCli(['monitor', '--port', `socket://127.0.0.1:${await freePort()}`, '--timeout', '2s'], ctx)
    expect(gone.code).toBe(10)
    expect(gone.stderr).toMatch(/cannot connect/)
  })

  it('emulate refuses a bad --listen and an unknown --mac', async () => {
    const ctx = isolatedEnv()
    expect((await runCli(['emulate', '--listen', 'nowhere'], ctx)).code).toBe(2)
    const mac = await runCli(['emulate', '--mac', 'zz:zz'], ctx)
    expect(mac.code).toBe(2)
    expect(mac.stderr).toMatch(/not a MAC address/)
  })
})
