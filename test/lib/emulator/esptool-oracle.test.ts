import {randomBytes} from 'node:crypto'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {VirtualBoard} from '../../../src/lib/emulator/index.js'
import {buildSimulationBootloader} from '../../../src/lib/image/index.js'
import {esptool} from '../../support/esptool.js'

const boards: VirtualBoard[] = []
afterEach(async () => {
  for (const b of boards.splice(0)) await b.close()
})

const cases = [
  {chip: 'esp32', mac: '24:0a:c4:12:34:56', bootloader: 0x1000},
  {chip: 'esp8266', mac: '18:fe:34:ab:cd:ef', bootloader: 0x0},
] as const

/**
 * Espressif's esptool flashing the virtual board over socket:// — the emulator (ROM, stub protocol, flash
 * size limit) checked by a host we did not write.
 */
describe('esptool against the virtual board', () => {
  for (const {chip, mac, bootloader} of cases) {
    for (const stub of [true, false]) {
      it(`${chip}${stub ? '' : ' --no-stub'}: read-mac, write-flash (also above 2 MB), verify-flash`, async () => {
        const board = await VirtualBoard.start({chip, mac})
        boards.push(board)
        const port = `socket://127.0.0.1:${board.port}`
        const common = ['--chip', chip, '--port', port, '--baud', '115200', '--before', 'no-reset', '--after', 'no-reset', ...(stub ? [] : ['--no-stub'])]
        const macOut = await esptool([...common, 'read-mac'])
        expect(macOut.stdout).toMatch(new RegExp(`MAC: +${mac}`, "i"))

        const dir = mkdtempSync(join(tmpdir(), 'iotctl-esptool-'))
        const boot = buildSimulationBootloader({chip, flashSize: '4MB'})
        const app = new Uint8Array(randomBytes(40 * 1024))
        const fs = new Uint8Array(randomBytes(8 * 1024))
        writeFileSync(join(dir, 'boot.bin'), boot)
        writeFileSync(join(dir, 'app.bin'), app)
        writeFileSync(join(dir, 'fs.bin'), fs)
        const files = [`0x${bootloader.toString(16)}`, join(dir, 'boot.bin'), '0x10000', join(dir, 'app.bin'), '0x300000', join(dir, 'fs.bin')]
        // --flash-size keep: the bootloader header stays as built, esptool still tells the loader the real size
        await esptool([...common, 'write-flash', '--flash-size', 'keep', ...files])
        const at = (offset: number, length: number) => Buffer.from(board.flash.data.subarray(offset, offset + length))
        expect(at(bootloader, boot.length).equals(Buffer.from(boot))).toBe(true)
        expect(at(0x10000, app.length).equals(Buffer.from(app))).toBe(true)
        expect(at(0x300000, fs.length).equals(Buffer.from(fs))).toBe(true)

        if (chip === 'esp8266' && !stub) {
          // ESP8266's ROM has no SPI_FLASH_MD5: esptool says so, and so does the virtual ROM
          const refused = await esptool([...common, 'verify-flash', ...files]).catch((e: Error) => e)
          expect(String(refused)).toMatch(/ESP8266 ROM does not support function flash_md5sum/)
          return
        }
        const verify = await esptool([...common, 'verify-flash', ...files])
        expect(verify.stdout.match(/Verification successful \(digest matched\)/g)).toHaveLength(3)
        board.flash.write(0x10000 + 100, Uint8Array.from([0]))
        const bad = await esptool([...common, 'verify-flash', '0x10000', join(dir, 'app.bin')]).catch((e: Error) => e)
        expect(bad).toBeInstanceOf(Error)
        expect(String(bad)).toMatch(/Verification failed|does not match|differ/i)
      }, 120_000)
    }
  }
})
