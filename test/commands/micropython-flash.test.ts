import {execFileSync, execFile} from 'node:child_process'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {afterEach, beforeAll, describe, expect, it} from 'vitest'

import {readFatImage} from '../../src/lib/fs/index.js'
import {isolatedEnv, runCli, secureFleetEnv, type CliEnv} from '../support/cli.js'
import {startEmulator, type EmulatorProcess} from '../support/emulator-process.js'
import {PLACEHOLDER_APP, standInRuntimeImage} from '../support/micropython-image.js'

const run = promisify(execFile)
/** Espressif's esptool against a virtual board over socket:// (no DTR/RTS there: no reset before) */
const esptool = (port: number, chip: string, args: string[]) =>
  run('python3', ['-m', 'esptool', '--chip', chip, '--port', `socket://127.0.0.1:${port}`, '--baud', '115200', '--before', 'no-reset', '--after', 'no-reset', ...args], {maxBuffer: 16 * 1024 * 1024})

/**
 * A MicroPython bundle end to end: `iotctl flash --runtime-image` writes the firmware and the filesystem
 * to a virtual board in one verified session; esptool reads them back and mtools/fsck.fat check the
 * filesystem. `firmware build` writes the same plan, which esptool itself flashes.
 */
describe('MicroPython bundle → virtual board, checked by esptool, fsck.fat and mtools', () => {
  let ctx: CliEnv
  const boards: EmulatorProcess[] = []
  const files = {esp32: '', esp8266: ''}

  beforeAll(async () => {
    const appDir = join(isolatedEnv().home, 'app')
    for (const [path, text] of Object.entries(PLACEHOLDER_APP)) {
      mkdirSync(join(appDir, path, '..'), {recursive: true})
      writeFileSync(join(appDir, path), text)
    }
    ctx = await secureFleetEnv({IOTCTL_CA_PASSPHRASE: 'micropython e2e', IOTCTL_DEVICE_APP_DIR: appDir}, 'CN=MicroPython E2E CA')
    for (const chip of ['esp32', 'esp8266'] as const) {
      files[chip] = join(ctx.home, `${chip}-micropython.bin`)
      writeFileSync(files[chip], standInRuntimeImage(chip))
    }
  })
  afterEach(async () => {
    for (const board of boards.splice(0)) await board.kill()
  })

  it('iotctl flash writes firmware at 0x1000 and the filesystem at 0x200000, verified; esptool reads back the same bytes', {timeout: 120_000}, async () => {
    const board = await startEmulator(ctx, ['--chip', 'esp32', '--mac', '24:0a:c4:e2:e0:11'])
    boards.push(board)
    const result = await runCli(['flash', '--type', 'temp', '--port', board.url, '--runtime-image', files.esp32, '--set', 'wifi.ssid=farm', '--set', 'wifi.password=pw-never-printed', '--json'], ctx)
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout + result.stderr).not.toContain('pw-never-printed')
    const summary = result.json()
    expect(summary).toMatchObject({device: '24:0a:c4:e2:e0:11', type: 'temp', virtual: true, simulation: false, app: {origin: files.esp32, version: 'v1.27.0'}, reset: 'run-user-code'})
    expect(summary.parts.map((p: {name: string; offset: number; verified: boolean}) => [p.name, p.offset, p.verified])).toEqual([
      ['runtime', 0x1000, true],
      ['fs', 0x200000, true],
    ])

    // the virtual board boots the bundle: MicroPython (the real interpreter) runs main.py from our FAT image
    const deadline = Date.now() + 60_000
    while (!board.console().includes('iotctl placeholder app') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    expect(board.console()).toContain('iotctl placeholder app')

    // esptool resets the running board into download mode (SYNC) and reads back the firmware and the
    // used start of the filesystem (its boot sector, FATs, folders and files: the rest is zero-filled)
    const runtime = readFileSync(files.esp32)
    const dumpedRuntime = join(ctx.home, 'runtime-dump.bin')
    const dumpedFs = join(ctx.home, 'fs-dump.bin')
    const FS_READ = 0x20000
    await esptool(board.port, 'esp32', ['read-flash', '0x1000', String(runtime.length), dumpedRuntime])
    await esptool(board.port, 'esp32', ['read-flash', '0x200000', String(FS_READ), dumpedFs])
    expect(Buffer.compare(readFileSync(dumpedRuntime), runtime)).toBe(0)
    const fsBytes = new Uint8Array(0x200000)
    fsBytes.set(readFileSync(dumpedFs))
    const fsImage = join(ctx.home, 'fs.img')
    writeFileSync(fsImage, fsBytes)
    const fsck = execFileSync('fsck.fat', ['-n', '-v', fsImage], {encoding: 'utf8'})
    expect(fsck).toMatch(/4096 bytes per logical sector/)
    const listing = execFileSync('mdir', ['-/', '-b', '-i', fsImage, '::'], {encoding: 'utf8', env: {...process.env, MTOOLS_SKIP_CHECK: '1'}})
    for (const name of ['main.py', 'boot.py', 'config.json', 'iotctl/app.py', 'certs/device.der', 'certs/device.key.der', 'certs/ca.der']) expect(listing).toContain(`::/${name}`)
    const config = JSON.parse(execFileSync('mtype', ['-i', fsImage, '::/config.json'], {encoding: 'utf8', env: {...process.env, MTOOLS_SKIP_CHECK: '1'}}))
    expect(config).toMatchObject({id: '24:0a:c4:e2:e0:11', type: 'temp', chip: 'esp32', scheme: 'iotctl', wifi: {ssid: 'farm'}, mqtt: {host: '127.0.0.1', port: 8883, tls: true}})
    expect(readFatImage(fsBytes).get('main.py')).toEqual(new TextEncoder().encode(PLACEHOLDER_APP['main.py']))

    const shown = (await runCli(['devices', 'show', '24:0a:c4:e2:e0:11', '--json'], ctx)).json()
    expect(shown.flashes[0]).toMatchObject({result: 'ok', template: 'temp', appVersion: 'v1.27.0'})
  })

  it('firmware build writes the ESP8266 bundle; esptool write-flash puts it on a board at 0x0 and 0x100000', async () => {
    expect((await runCli(['devices', 'add', 'temp-8266', '--type', 'temp', '--chip', 'esp8266'], ctx)).code).toBe(0)
    const out = join(ctx.home, 'plan-8266')
    const built = await runCli(['firmware', 'build', '--device', 'temp-8266', '--runtime-image', files.esp8266, '--set', 'wifi.ssid=farm', '--set', 'wifi.password=pw', '--out', out, '--json'], ctx)
    expect(built.code, built.stderr).toBe(0)
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'))
    expect(manifest.parts.map((p: {name: string; offset: number}) => [p.name, p.offset])).toEqual([
      ['runtime', 0],
      ['fs', 0x100000],
    ])
    // firmware inspect lists the filesystem and hides the Wi-Fi password
    const inspected = await runCli(['firmware', 'inspect', out, '--json'], ctx)
    expect(inspected.code, inspected.stderr).toBe(0)
    const report = inspected.json()
    expect(report.fs).toMatchObject({offset: 0x100000, config: {id: 'temp-8266', chip: 'esp8266', wifi: {ssid: 'farm', password: '********'}}})
    expect(report.fs.files.map((f: {path: string}) => f.path)).toContain('certs/device.key.der')
    // the certificate issued for an ESP8266 bundle is RSA-2048 (axTLS)
    const key = join(ctx.home, 'key.der')
    writeFileSync(key, readFatImage(new Uint8Array(readFileSync(join(out, 'fs.bin')))).get('certs/device.key.der')!)
    expect(execFileSync('openssl', ['rsa', '-inform', 'DER', '-in', key, '-noout', '-text'], {encoding: 'utf8'})).toMatch(/Private-Key: \(2048 bit/)

    const board = await startEmulator(ctx, ['--chip', 'esp8266', '--mac', '18:fe:34:e2:e0:12'])
    boards.push(board)
    const args = manifest.parts.flatMap((p: {offset: number; path: string}) => [`0x${p.offset.toString(16)}`, join(out, p.path)])
    const {stdout} = await esptool(board.port, 'esp8266', ['write-flash', '--flash-size', 'keep', ...args])
    expect(stdout).toMatch(/Hash of data verified/)
    const flash = new Uint8Array(readFileSync(board.flashFile))
    const fs = readFileSync(join(out, 'fs.bin'))
    expect(Buffer.compare(flash.subarray(0x100000, 0x100000 + fs.length), fs)).toBe(0)
    expect(readFatImage(flash.subarray(0x100000, 0x100000 + fs.length)).has('config.json')).toBe(true)
  })
})

describe('iotctl flash --files-only → MicroPython REPL behind a pty', () => {
  it('writes the app, config.json and certificates over the raw REPL (raw-paste), verified, then soft-resets', {timeout: 120_000}, async () => {
    const {startMicroPythonRepl, serveRepl, pasteBoard} = await import('../support/micropython-repl.js')
    const {startPtyBridge} = await import('../support/pty-bridge.js')
    const appDir = join(isolatedEnv().home, 'app')
    for (const [path, text] of Object.entries(PLACEHOLDER_APP)) {
      mkdirSync(join(appDir, path, '..'), {recursive: true})
      writeFileSync(join(appDir, path), text)
    }
    const ctx = await secureFleetEnv({IOTCTL_CA_PASSPHRASE: 'files only e2e', IOTCTL_DEVICE_APP_DIR: appDir}, 'CN=Files Only CA')
    expect((await runCli(['devices', 'add', 'temp-9', '--type', 'temp', '--chip', 'esp32'], ctx)).code).toBe(0)

    const repl = await startMicroPythonRepl()
    const stats: {requests: number; windowsGranted: number; overflow: boolean}[] = []
    const server = await serveRepl(repl, () => {
      const board = pasteBoard(repl, {increment: 128, supported: true})
      stats.push(board.stats)
      return board.link
    })
    const pty = await startPtyBridge(server.port)
    try {
      const result = await runCli(['flash', '--files-only', '--device', 'temp-9', '--port', pty.path, '--set', 'wifi.ssid=farm', '--set', 'wifi.password=pw-files-only', '--json'], ctx, {timeoutMs: 100_000})
      expect(result.code, result.stderr).toBe(0)
      expect(result.stdout + result.stderr).not.toContain('pw-files-only')
      const summary = result.json()
      expect(summary).toMatchObject({device: 'temp-9', type: 'temp', chip: 'esp32', platform: 'webassembly', certificateIssued: true, mode: 'paste', softReset: true})
      expect(summary.files.map((f: {path: string}) => f.path).sort()).toEqual(['boot.py', 'certs/ca.der', 'certs/device.der', 'certs/device.key.der', 'config.json', 'iotctl/__init__.py', 'iotctl/app.py', 'main.py'])
      // the files as the interpreter's own filesystem holds them
      const config = JSON.parse(new TextDecoder().decode(repl.mp.FS.readFile('/config.json')))
      expect(config).toMatchObject({id: 'temp-9', chip: 'esp32', wifi: {ssid: 'farm', password: 'pw-files-only'}, tls: {cert: 'certs/device.der'}})
      expect(new TextDecoder().decode(repl.mp.FS.readFile('/main.py'))).toBe(PLACEHOLDER_APP['main.py'])
      expect(repl.softReboots).toBe(1)
      expect(stats.some((s) => s.requests > 0 && !s.overflow)).toBe(true)
      const shown = (await runCli(['devices', 'show', 'temp-9', '--json'], ctx)).json()
      expect(shown.flashes[0]).toMatchObject({result: 'ok', template: 'temp'})
    } finally {
      await pty.stop()
      await server.close()
    }
  })
})
