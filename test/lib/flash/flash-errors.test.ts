import {mkdtempSync, readFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {IotctlError} from '../../../src/lib/console/errors.js'
import {parseFlashSize, VirtualBoard} from '../../../src/lib/emulator/index.js'
import {FlashSession} from '../../../src/lib/flash/index.js'
import {testImage, testParts} from './helpers.js'

const boards: VirtualBoard[] = []
const sessions: FlashSession[] = []
afterEach(async () => {
  for (const s of sessions.splice(0)) await s.close()
  for (const b of boards.splice(0)) await b.close()
})

async function start(options: Parameters<typeof VirtualBoard.start>[0]) {
  const board = await VirtualBoard.start(options)
  boards.push(board)
  return board
}

async function connect(board: VirtualBoard, expectChip?: string) {
  const session = await FlashSession.connect({port: board.url, expectChip})
  sessions.push(session)
  return session
}

describe('flash failures', () => {
  it('a board killed mid-write names the part and the offset; a rerun on the same flash completes', async () => {
    const flashFile = join(mkdtempSync(join(tmpdir(), 'iotctl-kill-')), 'board.bin')
    const board = await start({chip: 'esp32', flashFile})
    const app = testImage(256 * 1024, 5)
    let blocks = 0
    let closing: Promise<void> | undefined
    board.on('command', (c) => {
      if (c.op === 0x11 && ++blocks === 4) closing = board.close()
    })
    const session = await connect(board)
    const error = await session.write({parts: [{name: 'app', address: 0x10000, data: app}]}).catch((e) => e)
    expect(error).toBeInstanceOf(IotctlError)
    expect(error).toMatchObject({code: 'FLASH_WRITE_FAILED', exit: 10})
    const {offset} = error.details
    expect(offset).toBeGreaterThan(0x10000)
    expect(offset).toBeLessThan(0x10000 + app.length)
    expect(error.message).toContain(`part "app" (0x10000, ${app.length} bytes)`)
    expect(error.message).toContain(`failed at 0x${offset.toString(16)}`)
    expect(error.message).toMatch(/the board went away \(socket:\/\/127.0.0.1:\d+ closed the connection\)/)
    // what reached the board before it died is in its flash file, as on a real board (once its
    // last writes are flushed: the session sees the socket close before the file is written)
    await closing
    const partial = readFileSync(flashFile)
    expect(partial.subarray(0x10000, 0x10000 + 0x4000).equals(Buffer.from(app.subarray(0, 0x4000)))).toBe(true)
    expect(partial.subarray(0x10000, 0x10000 + app.length).equals(Buffer.from(app))).toBe(false)

    const again = await start({chip: 'esp32', flashFile})
    const rerun = await connect(again)
    const result = await rerun.write({parts: [{name: 'app', address: 0x10000, data: app}]})
    expect(result.parts[0].verified).toBe(true)
  })

  it('a flash that does not keep what was written fails verification (VERIFY) naming the part', async () => {
    const board = await start({chip: 'esp32', faultyFlashByte: 0x10000 + 1234})
    const session = await connect(board)
    const app = testImage(32 * 1024, 9)
    app[1234] |= 0x01
    for (const compress of [true, false]) {
      const error = await session.write({parts: [{name: 'app', address: 0x10000, data: app}], compress}).catch((e) => e)
      expect(error).toMatchObject({code: 'FLASH_VERIFY_FAILED', exit: 6})
      expect(error.message).toContain(`verifying part "app" (0x10000, ${app.length} bytes) failed`)
    }
    // without verification the write "succeeds", as it would on the real board
    expect((await session.write({parts: [{name: 'app', address: 0x10000, data: app}], verify: false})).parts[0].verified).toBe(false)
  })

  it('an unknown chip magic is a clear DEVICE error', async () => {
    const board = await start({chip: 'esp32', magic: 0xdeadbeef})
    const error = await FlashSession.connect({port: board.url}).catch((e) => e)
    expect(error).toBeInstanceOf(IotctlError)
    expect(error).toMatchObject({code: 'UNKNOWN_CHIP', exit: 10})
    expect(error.message).toMatch(/chip iotctl does not know \(chip magic 0xdeadbeef\)/)
  })

  it('another chip than --chip asks for is refused', async () => {
    const board = await start({chip: 'esp8266'})
    const error = await FlashSession.connect({port: board.url, expectChip: 'esp32'}).catch((e) => e)
    expect(error).toMatchObject({code: 'CHIP_MISMATCH', exit: 10, message: expect.stringMatching(/is an esp8266, not an esp32/)})
  })

  it('nothing answering is BOARD_NOT_RESPONDING', async () => {
    // a TCP peer that swallows everything, like a board running its app with no way to reset it
    const silent = createServer((s) => s.on('data', () => {}))
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()))
    const port = (silent.address() as {port: number}).port
    const error = await FlashSession.connect({port: `socket://127.0.0.1:${port}`}).catch((e) => e)
    silent.close()
    expect(error).toMatchObject({code: 'BOARD_NOT_RESPONDING', exit: 10, message: expect.stringContaining(`socket://127.0.0.1:${port}`)})
    expect(error.suggestions.join(' ')).toMatch(/BOOT/)
  }, 30_000)

  it('parts that do not fit the flash, overlap or are not sector-aligned are refused before anything is written', async () => {
    const board = await start({chip: 'esp8266', flashSize: parseFlashSize('1MB')})
    const ops: number[] = []
    board.on('command', (c) => ops.push(c.op))
    const session = await connect(board)
    ops.length = 0
    const big = session.write({parts: [{name: 'app', address: 0xf0000, data: new Uint8Array(0x20000)}]})
    await expect(big).rejects.toMatchObject({code: 'PART_EXCEEDS_FLASH', message: expect.stringMatching(/does not fit the board's 1 MB flash/)})
    await expect(
      session.write({
        parts: [
          {name: 'a', address: 0x10000, data: new Uint8Array(0x2000)},
          {name: 'b', address: 0x11000, data: new Uint8Array(0x1000)},
        ],
      }),
    ).rejects.toThrow(/"a" and "b" overlap at 0x11000/)
    await expect(session.write({parts: [{name: 'x', address: 0x10010, data: new Uint8Array(4)}]})).rejects.toThrow(/sector boundary/)
    expect(ops).toEqual([])
    // and a good plan still goes through on the same session
    expect((await session.write({parts: testParts(board, 4096)})).parts).toHaveLength(2)
  })
})
