import {afterEach, describe, expect, it} from 'vitest'

import {VirtualBoard, type ResetEvent} from '../../../src/lib/emulator/index.js'
import {FlashSession} from '../../../src/lib/flash/index.js'
import {randomBytes} from 'node:crypto'

import {blockTimeoutMs, lineMs} from '../../../src/lib/flash/block-timeouts.js'
import {flashAt, testImage, testParts} from './helpers.js'

const boards: VirtualBoard[] = []
afterEach(async () => {
  for (const b of boards.splice(0)) await b.close()
})

const cases = [
  {chip: 'esp32', mac: '24:0a:c4:01:02:03', description: /^ESP32-D0WDQ6/},
  {chip: 'esp8266', mac: '18:fe:34:0a:0b:0c', description: /^ESP8266EX/},
] as const

describe('flashing a virtual board over socket://', () => {
  for (const {chip, mac, description} of cases) {
    for (const compress of [true, false]) {
      it(`${chip}, ${compress ? 'compressed' : 'uncompressed'}: detects, writes, verifies MD5, reads back, boots`, async () => {
        const board = await VirtualBoard.start({chip, mac})
        boards.push(board)
        const resets: ResetEvent[] = []
        board.on('reset', (e) => resets.push(e))
        const log: string[] = []
        const session = await FlashSession.connect({port: board.url, onLog: (l) => log.push(l)})
        try {
          expect(session.info).toMatchObject({chip, mac, stub: true, baud: 921600, resetMethod: 'none', flashSize: 4 * 1024 * 1024, flashId: 0x1640ef, virtual: true})
          expect(session.info.description).toMatch(description)
          const parts = testParts(board)
          const progress: number[] = []
          const result = await session.write({parts, compress, onProgress: (p) => p.part === 'app' && progress.push(p.written)})
          expect(result.parts.map((p) => [p.name, p.address, p.size, p.verified])).toEqual(parts.map((p) => [p.name, p.address, p.data.length, true]))
          expect(result.bytes).toBe(parts.reduce((n, p) => n + p.data.length, 0))
          expect(progress.at(-1)).toBe(result.parts[1].wireBytes)
          expect(log.filter((l) => /Hash of data verified/.test(l))).toHaveLength(2)
          for (const part of parts) expect(flashAt(board, part.address, part.data.length).equals(Buffer.from(part.data))).toBe(true)
          const back = await session.readFlash(0x10000, parts[1].data.length)
          expect(Buffer.from(back).equals(Buffer.from(parts[1].data))).toBe(true)
          expect(await session.md5(0x10000, parts[1].data.length)).toBe(result.parts[1].md5)
          expect(await session.reset()).toBe('run-user-code')
        } finally {
          await session.close()
        }
        while (resets.length === 0) await new Promise((r) => setTimeout(r, 10))
        expect(resets[0]).toEqual({to: 'app', reason: 'RUN_USER_CODE'})
      })
    }
  }

  it('connects again to a board whose stub is still running (no reset over TCP)', async () => {
    const board = await VirtualBoard.start({chip: 'esp32'})
    boards.push(board)
    const first = await FlashSession.connect({port: board.url})
    await first.close()
    expect(board.stubRunning).toBe(true)
    const log: string[] = []
    const second = await FlashSession.connect({port: board.url, onLog: (l) => log.push(l)})
    expect(log.join('\n')).toMatch(/Stub is already running/)
    expect(second.info.mac).toBe(board.mac)
    await second.close()
  })
})

describe('what a real loader needs before and while writing', () => {
  it('tells the loader the real flash size (SPI_SET_PARAMS), so writes above its 2 MB default land', async () => {
    const board = await VirtualBoard.start({chip: 'esp32', flashSize: 8 * 1024 * 1024})
    boards.push(board)
    const commands: string[] = []
    board.on('command', (e) => commands.push(e.name))
    const session = await FlashSession.connect({port: board.url})
    try {
      expect(session.info.flashSize).toBe(8 * 1024 * 1024)
      const fs = testImage(0x8000, 5)
      const result = await session.write({parts: [{name: 'fs', address: 0x600000, data: fs}]})
      expect(result.parts[0].verified).toBe(true)
      expect(flashAt(board, 0x600000, fs.length).equals(Buffer.from(fs))).toBe(true)
    } finally {
      await session.close()
    }
    // after the stub started, before the first write
    const setParams = commands.indexOf('SPI_SET_PARAMS')
    expect(setParams).toBeGreaterThan(commands.indexOf('MEM_END'))
    expect(setParams).toBeLessThan(commands.indexOf('FLASH_DEFL_BEGIN'))
  })

  for (const chip of ['esp32', 'esp8266'] as const) {
    it(`--no-stub (${chip}): the ROM loader alone, ${chip === 'esp8266' ? 'uncompressed 1 KB blocks, no MD5 in ROM' : 'compressed, MD5 verified'}`, async () => {
      const board = await VirtualBoard.start({chip})
      boards.push(board)
      const commands: Array<{name: string; stub: boolean}> = []
      board.on('command', (e) => commands.push({name: e.name, stub: e.stub}))
      const session = await FlashSession.connect({port: board.url, noStub: true})
      try {
        expect(session.info.stub).toBe(false)
        const parts = testParts(board, 20 * 1024)
        const result = await session.write({parts})
        for (const part of parts) expect(flashAt(board, part.address, part.data.length).equals(Buffer.from(part.data))).toBe(true)
        expect(result.parts.every((p) => p.verified)).toBe(chip === 'esp32')
        expect(Buffer.from(await session.readHead(0x10000, 16)).equals(Buffer.from(parts[1].data.subarray(0, 16)))).toBe(true)
      } finally {
        await session.close()
      }
      expect(commands.some((c) => c.name === 'MEM_BEGIN' || c.stub)).toBe(false)
      if (chip === 'esp8266') {
        expect(commands.some((c) => c.name.startsWith('FLASH_DEFL'))).toBe(false)
        // 20 KB app in 1 KB blocks, bootloader 12 KB
        expect(commands.filter((c) => c.name === 'FLASH_DATA')).toHaveLength(20 + 12)
      } else {
        expect(commands.filter((c) => c.name === 'SPI_ATTACH')).toHaveLength(1)
        expect(commands.some((c) => c.name === 'FLASH_DEFL_DATA')).toBe(true)
      }
    })
  }

  it("sends each block once at a low baud rate: its timeout covers the line time (16 KB at 38400 baud = 4.3 s, past esptool-js's flat 3 s)", async () => {
    const board = await VirtualBoard.start({chip: 'esp32', pacing: true})
    boards.push(board)
    let blocks = 0
    board.on('command', (e) => e.name === 'FLASH_DEFL_DATA' && blocks++)
    const session = await FlashSession.connect({port: board.url, baud: 38_400})
    try {
      expect(board.baudRate).toBe(38_400)
      // random bytes do not compress: one full 16 KB block and a short one
      const data = new Uint8Array(randomBytes(17 * 1024))
      const result = await session.write({parts: [{name: 'app', address: 0x10000, data}]})
      expect(result.parts[0].verified).toBe(true)
      // a timeout shorter than the line time makes the host resend a block it is still sending: twice the wire time
      expect(blocks).toBe(Math.ceil(result.parts[0].wireBytes / 0x4000))
      expect(blocks).toBe(2)
    } finally {
      await session.close()
    }
  }, 60_000)
})

describe('per-block timeouts', () => {
  it('scale with the block size and the baud rate, as esptool budgets them', () => {
    // esptool: 40 s per MB written (stub: plus the erases it runs ahead), at least 3 s; plus the line time
    expect(blockTimeoutMs({stub: false, flashBytes: 0x400, wireBytes: 0x400, baud: 921_600})).toBeCloseTo(3000 + 12, 0)
    expect(blockTimeoutMs({stub: false, flashBytes: 0x4000, wireBytes: 0x4000, baud: 115_200})).toBeGreaterThan(3000 + 1400)
    expect(blockTimeoutMs({stub: false, flashBytes: 0x4000, wireBytes: 0x4000, baud: 9600})).toBeGreaterThan(3000 + 17_000)
    expect(blockTimeoutMs({stub: true, flashBytes: 0x10000, wireBytes: 0x4000, baud: 921_600})).toBeCloseTo(((0x10000 + 3 * 0x10000) * 40) / 1000 + lineMs(0x4000 + 16, 921_600), 0)
  })
})
