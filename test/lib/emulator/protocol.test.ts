import {createHash} from 'node:crypto'
import {deflateSync} from 'node:zlib'
import {afterEach, describe, expect, it} from 'vitest'

import {VirtualBoard} from '../../../src/lib/emulator/index.js'
import {checksum, RawClient, SYNC_DATA, u32} from './client.js'

const boards: VirtualBoard[] = []
const clients: RawClient[] = []
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close()
  for (const b of boards.splice(0)) await b.close()
})

async function setup(chip: string, mac = chip === 'esp8266' ? '18:fe:34:12:34:56' : '24:0a:c4:aa:bb:cc') {
  const board = await VirtualBoard.start({chip, mac})
  boards.push(board)
  const client = await RawClient.open(board.port)
  clients.push(client)
  return {board, client}
}

/** a *_DATA payload: len, seq, 0, 0, bytes */
const block = (seq: number, bytes: Uint8Array) => Buffer.concat([u32(bytes.length, seq, 0, 0), bytes])

/** upload a pretend stub and wait for OHAI */
async function startStub(client: RawClient) {
  const code = Buffer.alloc(64, 0x11)
  client.command(0x05, u32(code.length, 1, 0x1800, 0x40080000))
  await client.reply()
  client.command(0x07, block(0, code), checksum(code))
  await client.reply()
  client.command(0x06, u32(0, 0x40080004))
  const end = await client.reply()
  const ohai = await client.frame()
  return {end, ohai}
}

describe('virtual board: ROM bootloader', () => {
  it('answers SYNC eight times with the ROM marker and 4 status bytes (ESP32)', async () => {
    const {client} = await setup('esp32')
    client.command(0x08, SYNC_DATA)
    for (let i = 0; i < 8; i++) {
      const r = await client.reply()
      expect(r.op).toBe(0x08)
      expect(r.value).toBe(0x20120707)
      expect([...r.data]).toEqual([0, 0, 0, 0])
    }
  })

  it('uses 2 status bytes on the ESP8266 ROM', async () => {
    const {client} = await setup('esp8266')
    client.command(0x0a, u32(0x40001000))
    const r = await client.reply()
    expect(r.value).toBe(0xfff0c101)
    expect([...r.data]).toEqual([0, 0])
  })

  it('reads the chip magic and the eFuse MAC words derived from --mac (ESP32)', async () => {
    const {client} = await setup('esp32', '24:0a:c4:aa:bb:cc')
    const read = async (addr: number) => {
      client.command(0x0a, u32(addr))
      return (await client.reply()).value
    }
    expect(await read(0x40001000)).toBe(0x00f01d83)
    expect(await read(0x3ff5a004)).toBe(0xc4aabbcc)
    expect((await read(0x3ff5a008)) & 0xffff).toBe(0x240a)
    expect(await read(0x12345678)).toBe(0)
  })

  it('encodes an ESP8266 MAC the way the ROM stores it', async () => {
    const {client} = await setup('esp8266', 'ac:d0:74:01:02:03')
    const read = async (addr: number) => {
      client.command(0x0a, u32(addr))
      return (await client.reply()).value
    }
    // OUI AC:D0:74 is "number 1" in word 1, the low bytes spread over words 0 and 1
    expect(await read(0x3ff00054)).toBe(0x00010102)
    expect(await read(0x3ff00050)).toBe(0x03000000)
    expect(await read(0x3ff0005c)).toBe(0)
  })

  it('answers GET_SECURITY_INFO on an ESP32 ROM as an unsupported command, 8 times', async () => {
    const {client} = await setup('esp32')
    client.command(0x14)
    for (let i = 0; i < 8; i++) {
      const r = await client.reply()
      expect(r.op).not.toBe(0x14)
      expect([...r.data.subarray(0, 2)]).toEqual([1, 5])
    }
  })

  it('runs RDID through the SPI user-command registers', async () => {
    const {client} = await setup('esp32')
    const base = 0x3ff42000
    const writeReg = async (addr: number, value: number) => {
      client.command(0x09, u32(addr, value, 0xffffffff, 0))
      expect((await client.reply()).data[0]).toBe(0)
    }
    await writeReg(base + 0x24, (7 << 28) | 0x9f)
    await writeReg(base, 1 << 18)
    client.command(0x0a, u32(base))
    expect((await client.reply()).value & (1 << 18)).toBe(0)
    client.command(0x0a, u32(base + 0x80))
    expect((await client.reply()).value).toBe(0x1640ef)
  })

  it('rejects a data block with a bad checksum (ROM error 0x07) and stays up', async () => {
    const {client} = await setup('esp32')
    client.command(0x02, u32(0x1000, 1, 0x400, 0x10000, 0))
    expect((await client.reply()).data[0]).toBe(0)
    const bytes = Buffer.alloc(0x400, 0x42)
    client.command(0x03, block(0, bytes), checksum(bytes) ^ 0xff)
    const r = await client.reply()
    expect([...r.data.subarray(0, 2)]).toEqual([1, 0x07])
    client.command(0x0a, u32(0x40001000))
    expect((await client.reply()).value).toBe(0x00f01d83)
  })

  it('answers a malformed command with "invalid message" and ignores line noise', async () => {
    const {client} = await setup('esp32')
    // size field says 9 bytes, 1 follows
    client.sendFrame(Buffer.from([0x00, 0x0a, 9, 0, 0, 0, 0, 0, 1]))
    const r = await client.reply()
    expect([...r.data.subarray(0, 2)]).toEqual([1, 5])
    client.socket.write(Buffer.from('random noise \xff\x00'))
    client.sendFrame(Buffer.from([0x55]))
    client.command(0x0a, u32(0x40001000))
    expect((await client.reply()).value).toBe(0x00f01d83)
  })

  it('refuses erases and writes beyond the flash size the loader was told (SPI_SET_PARAMS), as a real loader does', async () => {
    const {board, client} = await setup('esp32')
    expect(board.flash.size).toBe(4 * 1024 * 1024)
    // untold, the loader keeps its 2 MB default: a filesystem at 0x200000 is refused (ROM error 0x08)
    client.command(0x02, u32(0x1000, 1, 0x400, 0x200000))
    expect([...(await client.reply()).data.subarray(0, 2)]).toEqual([1, 0x08])
    client.command(0x02, u32(0x1000, 1, 0x400, 0x1ff000))
    expect((await client.reply()).data[0]).toBe(0)
    // told the real size (id, total, block, sector, page, status mask), it accepts the same write
    client.command(0x0b, u32(0, 4 * 1024 * 1024, 0x10000, 0x1000, 0x100, 0xffff))
    expect((await client.reply()).data[0]).toBe(0)
    client.command(0x02, u32(0x1000, 1, 0x400, 0x200000))
    expect((await client.reply()).data[0]).toBe(0)
    // the stub keeps what the ROM was told; nothing beyond the chip itself, ever
    await startStub(client)
    client.command(0xd1, u32(0x3ff000, 0x1000))
    expect((await client.reply()).data[0]).toBe(0)
    client.command(0x0b, u32(0, 8 * 1024 * 1024, 0x10000, 0x1000, 0x100, 0xffff))
    await client.reply()
    client.command(0xd1, u32(0x400000, 0x1000))
    expect([...(await client.reply()).data.subarray(0, 2)]).toEqual([1, 0xc4])
  })

  it('writes raw blocks in ROM mode and reports MD5 as 32 hex characters', async () => {
    const {board, client} = await setup('esp32')
    const image = Buffer.from(Array.from({length: 0x800}, (_, i) => i & 0xff))
    client.command(0x0d, u32(0, 0))
    expect((await client.reply()).data[0]).toBe(0)
    client.command(0x02, u32(image.length, 2, 0x400, 0x20000, 0))
    await client.reply()
    for (let seq = 0; seq < 2; seq++) {
      const chunk = image.subarray(seq * 0x400, (seq + 1) * 0x400)
      client.command(0x03, block(seq, chunk), checksum(chunk))
      expect((await client.reply()).data[0]).toBe(0)
    }
    client.command(0x13, u32(0x20000, image.length, 0, 0))
    const r = await client.reply()
    expect(r.data.subarray(0, 32).toString('ascii')).toBe(createHash('md5').update(image).digest('hex'))
    expect([...r.data.subarray(32)]).toEqual([0, 0, 0, 0])
    expect(Buffer.from(board.flash.data.subarray(0x20000, 0x20800)).equals(image)).toBe(true)
  })

  it('refuses compressed writes and MD5 on the ESP8266 ROM, which lacks them', async () => {
    const {client} = await setup('esp8266')
    client.command(0x10, u32(0x1000, 1, 0x4000, 0))
    const r = await client.reply()
    expect(r.op).not.toBe(0x10)
    expect([...r.data]).toEqual([1, 5])
  })
})

describe('virtual board: flasher stub', () => {
  it('greets with OHAI after MEM_END, then uses 2 status bytes and SYNC value 0', async () => {
    const {board, client} = await setup('esp32')
    const {end, ohai} = await startStub(client)
    expect([...end.data]).toEqual([0, 0, 0, 0])
    expect(ohai.toString('ascii')).toBe('OHAI')
    expect(board.stubRunning).toBe(true)
    client.command(0x08, SYNC_DATA)
    for (let i = 0; i < 8; i++) {
      const r = await client.reply()
      expect(r.value).toBe(0)
      expect([...r.data]).toEqual([0, 0])
    }
  })

  it('inflates FLASH_DEFL_DATA split across blocks and returns MD5 as 16 raw bytes', async () => {
    const {board, client} = await setup('esp32')
    await startStub(client)
    const image = Buffer.from(Array.from({length: 50_000}, (_, i) => (i * 7) ^ (i >> 8)))
    const compressed = deflateSync(image, {level: 9})
    const size = 1000
    const blocks = Math.ceil(compressed.length / size)
    client.command(0x10, u32(image.length, blocks, size, 0x30000))
    expect((await client.reply()).data[0]).toBe(0)
    for (let seq = 0; seq < blocks; seq++) {
      const chunk = compressed.subarray(seq * size, (seq + 1) * size)
      client.command(0x11, block(seq, chunk), checksum(chunk))
      expect([...(await client.reply()).data]).toEqual([0, 0])
    }
    client.command(0x12, u32(1))
    expect([...(await client.reply()).data]).toEqual([0, 0])
    client.command(0x13, u32(0x30000, image.length, 0, 0))
    const r = await client.reply()
    expect(r.data.subarray(0, 16).equals(createHash('md5').update(image).digest())).toBe(true)
    expect(Buffer.from(board.flash.data.subarray(0x30000, 0x30000 + image.length)).equals(image)).toBe(true)
    // the sector tail past the image was erased
    expect(board.flash.data[0x30000 + image.length]).toBe(0xff)
  })

  it('reports a corrupt zlib stream as an inflate error (0xC7)', async () => {
    const {client} = await setup('esp32')
    await startStub(client)
    const garbage = Buffer.alloc(64, 0x33)
    client.command(0x10, u32(4096, 1, 0x4000, 0x10000))
    await client.reply()
    client.command(0x11, block(0, garbage), checksum(garbage))
    expect([...(await client.reply()).data]).toEqual([1, 0xc7])
  })

  it('streams READ_FLASH packets against the host acknowledgements, then the MD5', async () => {
    const {board, client} = await setup('esp32')
    await startStub(client)
    board.flash.data.fill(0x5a, 0x1000, 0x3000)
    client.command(0xd2, u32(0x1000, 0x2000, 0x1000, 1))
    expect([...(await client.reply()).data]).toEqual([0, 0])
    const first = await client.frame()
    expect(first.length).toBe(0x1000)
    // window of 1: nothing more until acknowledged
    await expect(client.frame(300)).rejects.toThrow(/no frame/)
    client.sendFrame(u32(0x1000))
    const second = await client.frame()
    client.sendFrame(u32(0x2000))
    const digest = await client.frame()
    expect(Buffer.concat([first, second]).equals(Buffer.alloc(0x2000, 0x5a))).toBe(true)
    expect(digest.equals(createHash('md5').update(Buffer.alloc(0x2000, 0x5a)).digest())).toBe(true)
  })

  it('erases a region and the whole chip', async () => {
    const {board, client} = await setup('esp32')
    await startStub(client)
    board.flash.data.fill(0, 0, 0x3000)
    client.command(0xd1, u32(0x1000, 0x1000))
    expect([...(await client.reply()).data]).toEqual([0, 0])
    expect(board.flash.data[0x0fff]).toBe(0)
    expect(board.flash.data[0x1000]).toBe(0xff)
    expect(board.flash.data[0x2000]).toBe(0)
    client.command(0xd1, u32(0x1001, 0x1000))
    expect([...(await client.reply()).data]).toEqual([1, 0xc0])
    client.command(0xd0)
    expect([...(await client.reply()).data]).toEqual([0, 0])
    expect(board.flash.data.every((b) => b === 0xff)).toBe(true)
  })

  it('switches the UART pace on CHANGE_BAUDRATE', async () => {
    const board = await VirtualBoard.start({chip: 'esp32', pacing: true})
    boards.push(board)
    const client = await RawClient.open(board.port)
    clients.push(client)
    expect(board.baudRate).toBe(115200)
    await startStub(client)
    client.command(0x0f, u32(460800, 115200))
    expect([...(await client.reply()).data]).toEqual([0, 0])
    expect(board.baudRate).toBe(460800)
  })
})
