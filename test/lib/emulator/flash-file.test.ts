import {mkdtempSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {IotctlError} from '../../../src/lib/console/errors.js'
import {FlashStore, parseFlashSize, VirtualBoard} from '../../../src/lib/emulator/index.js'

const dir = () => mkdtempSync(join(tmpdir(), 'iotctl-flash-'))

describe('virtual board flash file', () => {
  it('creates a file of the flash size filled with 0xFF', async () => {
    const file = join(dir(), 'sub', 'board.bin')
    const board = await VirtualBoard.start({chip: 'esp8266', flashFile: file, flashSize: parseFlashSize('1MB')})
    await board.close()
    const bytes = readFileSync(file)
    expect(bytes.length).toBe(1024 * 1024)
    expect(bytes.every((b) => b === 0xff)).toBe(true)
  })

  it('keeps writes across restarts and takes the size from an existing file', async () => {
    const file = join(dir(), 'board.bin')
    const store = await FlashStore.open(file, 512 * 1024)
    store.eraseCovering(0x2000, 0x1000)
    store.write(0x2000, Buffer.from('persisted'))
    await store.close()
    const board = await VirtualBoard.start({chip: 'esp32', flashFile: file})
    expect(board.flash.size).toBe(512 * 1024)
    expect(Buffer.from(board.flash.data.subarray(0x2000, 0x2009)).toString()).toBe('persisted')
    await board.close()
  })

  it('writes like NOR flash: bits only clear until erased', async () => {
    const store = await FlashStore.open(undefined, 256 * 1024)
    store.write(0, Uint8Array.of(0xf0))
    store.write(0, Uint8Array.of(0x3c))
    expect(store.data[0]).toBe(0x30)
    store.eraseCovering(0, 1)
    expect(store.data[0]).toBe(0xff)
  })

  it('refuses a file whose size disagrees with --flash-size, or that is no flash size', async () => {
    const file = join(dir(), 'odd.bin')
    writeFileSync(file, Buffer.alloc(1000))
    await expect(FlashStore.open(file)).rejects.toMatchObject({code: 'FLASH_FILE_CORRUPT'})
    const good = join(dir(), 'good.bin')
    writeFileSync(good, Buffer.alloc(256 * 1024, 0xff))
    await expect(FlashStore.open(good, 4 * 1024 * 1024)).rejects.toBeInstanceOf(IotctlError)
    expect(statSync(good).size).toBe(256 * 1024)
  })

  it('parses flash sizes', () => {
    expect(parseFlashSize('4MB')).toBe(4 * 1024 * 1024)
    expect(parseFlashSize('512KB')).toBe(512 * 1024)
    expect(() => parseFlashSize('3MB')).toThrow(/not a flash size/)
  })
})
