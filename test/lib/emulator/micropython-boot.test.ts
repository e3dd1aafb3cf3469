import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BootFailure} from '../../../src/lib/emulator/boot.js'
import {runMicroPythonBundle} from '../../../src/lib/emulator/micropython-boot.js'
import {deviceAppFiles} from '../../../src/lib/micropython/index.js'
import {startMosquitto, type Mosquitto} from '../../support/mosquitto.js'
import {Lines} from '../../support/micropython-device.js'

const FS_OFFSET = 0x200000
const FLASH = 0x400000

/** A FAT volume as MicroPython mounts it (4096-byte sectors), made and read by Debian's dosfstools and mtools. */
function fatImage(files: Map<string, Uint8Array>): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'iotctl-mpy-fat-'))
  const image = join(dir, 'fs.img')
  execFileSync('mkfs.fat', ['-S', '4096', '-s', '1', '-C', image, String((FLASH - FS_OFFSET) / 1024)], {stdio: 'ignore'})
  const tree = join(dir, 'tree')
  for (const [path, bytes] of files) {
    mkdirSync(dirname(join(tree, path)), {recursive: true})
    writeFileSync(join(tree, path), bytes)
  }
  for (const name of readdirSync(tree)) execFileSync('mcopy', ['-s', '-i', image, join(tree, name), '::'])
  return readFileSync(image)
}

function mtoolsReader(bytes: Uint8Array): Map<string, Uint8Array> {
  const dir = mkdtempSync(join(tmpdir(), 'iotctl-mpy-read-'))
  writeFileSync(join(dir, 'fs.img'), bytes)
  const out = join(dir, 'out')
  mkdirSync(out)
  execFileSync('mcopy', ['-s', '-n', '-i', join(dir, 'fs.img'), '::*', out])
  const files = new Map<string, Uint8Array>()
  const walk = (path: string, prefix: string) => {
    for (const name of readdirSync(path)) {
      const full = join(path, name)
      if (statSync(full).isDirectory()) walk(full, `${prefix}${name}/`)
      else files.set(`${prefix}${name}`, readFileSync(full))
    }
  }
  walk(out, '')
  return files
}

describe('the virtual board runs a flashed MicroPython bundle from its filesystem', () => {
  let broker: Mosquitto
  beforeAll(async () => {
    broker = await startMosquitto()
  })
  afterAll(async () => broker?.stop())

  it('reads the FAT volume at the vfs offset and runs boot.py and main.py until the board is reset', async () => {
    const files = new Map([...deviceAppFiles()].map(([path, bytes]) => [path.slice(1), bytes]))
    const config = {
      version: 1, id: 'fat-1', type: 'temp', chip: 'esp32', scheme: 'iotctl',
      mqtt: {host: '127.0.0.1', port: broker.port, tls: false, serverName: '127.0.0.1', clientId: 'fat-1', username: null, password: null, keepalive: 60},
      topics: {telemetry: 'iotctl/temp/fat-1/telemetry', status: 'iotctl/temp/fat-1/status', command: 'iotctl/temp/fat-1/cmd', response: 'iotctl/temp/fat-1/resp'},
      interval: 1, fields: ['temperature', 'humidity'], sensors: [{driver: 'dht22', pins: {data: 4}, fields: {temperature: 'temperature', humidity: 'humidity'}}],
      ntp: 'pool.ntp.org', watchdogMs: 30000, log: true,
    }
    files.set('config.json', Buffer.from(JSON.stringify(config)))
    const flash = new Uint8Array(FLASH).fill(0xff)
    flash.set(fatImage(files), FS_OFFSET)

    const uart = new Lines()
    const console = uart.console()
    const reset = new AbortController()
    const running = runMicroPythonBundle(flash, FS_OFFSET, console, {signal: reset.signal, chip: 'esp32', mac: '24:0a:c4:00:00:01'}, mtoolsReader)
    await uart.waitFor(/^iotctl: device fat-1 type temp scheme iotctl/)
    await uart.waitFor(/^iotctl: telemetry 1$/)
    reset.abort()
    await running
  })

  it('refuses a region that holds no FAT volume, as MicroPython would reformat it', async () => {
    const flash = new Uint8Array(FLASH).fill(0xff)
    const run = runMicroPythonBundle(flash, FS_OFFSET, {write: () => {}}, {signal: new AbortController().signal, chip: 'esp32', mac: '24:0a:c4:00:00:01'}, mtoolsReader)
    await expect(run).rejects.toThrow(BootFailure)
    await expect(run).rejects.toThrow(/no FAT filesystem at 0x200000/)
  })
})
