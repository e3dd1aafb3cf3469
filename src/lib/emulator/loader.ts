import type {EmulatedChip} from './chips.js'
import type {FlashStore} from './flash-store.js'
import {InflateWriter} from './inflate-writer.js'
import {
  buildResponse,
  dataChecksum,
  FLASH_SECTOR_SIZE,
  Op,
  opName,
  parseCommand,
  ROM_SYNC_VALUE,
  RomError,
  StubError,
  SYNC_PAYLOAD,
  words,
  type CommandPacket,
} from './protocol.js'
import type {RegisterFile} from './registers.js'

/** What the loader needs from the board around it. */
export interface LoaderHost {
  readonly chip: EmulatedChip
  readonly flash: FlashStore
  readonly registers: RegisterFile
  /** queue one SLIP frame (body, unescaped) on the UART */
  sendFrame(body: Uint8Array): void
  /** switch the UART rate once the frames queued so far are sent */
  changeBaud(baud: number): void
  /** leave the loader and run the app (RUN_USER_CODE, FLASH_END with reboot, ROM FLASH_END) */
  runUserCode(reason: string): void
  onCommand(info: CommandEvent): void
  onFlashWritten(info: FlashWrittenEvent): void
  onStubStarted(): void
}

export interface CommandEvent {
  op: number
  name: string
  ok: boolean
  error?: number
  stub: boolean
}

export interface FlashWrittenEvent {
  offset: number
  length: number
  compressed: boolean
}

interface WriteSession {
  compressed: boolean
  offset: number
  /** bytes this session may put on flash */
  size: number
  blocks: number
  blockSize: number
  nextSeq: number
  written: number
  inflater?: InflateWriter
  complete: boolean
}

interface MemSession {
  size: number
  blocks: number
  blockSize: number
  address: number
  nextSeq: number
  received: number
}

interface ReadSession {
  offset: number
  length: number
  packetSize: number
  maxInFlight: number
  sent: number
  acked: number
}

class CommandError extends Error {
  constructor(readonly code: number) {
    super(`error 0x${code.toString(16)}`)
  }
}

const ok = new Uint8Array(0)

/**
 * The ROM bootloader and, after MEM_END has "run" the uploaded stub, the flasher stub (esp-flashing-reference §2).
 * Frames come in one at a time (the board awaits `handle`); replies go out through the host.
 */
export class BootloaderMachine {
  mode: 'rom' | 'stub' = 'rom'
  /** the loader's idea of the flash size (SPI_SET_PARAMS); the stub keeps what the ROM was told */
  configuredFlashSize: number
  /** write sessions completed since the last `resetToRom()`/`takeCompletedWrites()` */
  private completedWrites = 0
  private write?: WriteSession
  private mem?: MemSession
  private read?: ReadSession

  constructor(private readonly host: LoaderHost) {
    this.configuredFlashSize = this.romFlashSize()
  }

  /**
   * The flash size the ROM loader assumes until a host sends SPI_SET_PARAMS (its `flashchip` struct in RAM);
   * erases and writes beyond it fail, as on a chip whose loader was never told the real size.
   */
  private romFlashSize(): number {
    return Math.min(this.host.chip.romDefaultFlashSize ?? this.host.flash.size, this.host.flash.size)
  }

  get isStub(): boolean {
    return this.mode === 'stub'
  }

  /** hardware reset: back to the ROM, any transfer in progress is dropped */
  resetToRom(): void {
    this.mode = 'rom'
    this.configuredFlashSize = this.romFlashSize()
    this.completedWrites = 0
    this.abortTransfers()
  }

  /** everything acknowledged so far inflated and on flash (a board that is shut down keeps what it took) */
  async settleTransfers(): Promise<void> {
    await this.write?.inflater?.settle()
  }

  abortTransfers(): void {
    this.write?.inflater?.abort()
    this.write = undefined
    this.mem = undefined
    this.read = undefined
  }

  /** how many writes finished since the last call (the board boots on disconnect after a completed flash) */
  takeCompletedWrites(): number {
    const n = this.completedWrites
    this.completedWrites = 0
    return n
  }

  async handle(frame: Buffer): Promise<void> {
    if (this.read && frame.length === 4) {
      this.onReadAck(frame.readUInt32LE(0))
      return
    }
    this.read = undefined
    const packet = parseCommand(frame)
    if (!packet) {
      // a malformed command: say so if it looks like one, otherwise ignore the noise
      if (frame.length >= 2 && frame[0] === 0x00) this.replyError(frame[1], this.isStub ? StubError.BAD_DATA_LEN : RomError.INVALID_MESSAGE)
      return
    }
    try {
      await this.dispatch(packet)
    } catch (error) {
      const code =
        error instanceof CommandError ? error.code : this.isStub ? StubError.INVALID_COMMAND : RomError.FAILED_TO_ACT
      this.replyError(packet.op, code)
    }
  }

  private async dispatch(packet: CommandPacket): Promise<void> {
    const {op, data} = packet
    switch (op) {
      case Op.SYNC:
        return this.sync(data)
      case Op.READ_REG:
        this.need(data, 4)
        return this.reply(op, this.host.registers.read(data.readUInt32LE(0)))
      case Op.WRITE_REG:
        return this.writeReg(data)
      case Op.MEM_BEGIN:
        return this.memBegin(data)
      case Op.MEM_DATA:
        return this.memData(packet)
      case Op.MEM_END:
        return this.memEnd(data)
      case Op.FLASH_BEGIN:
        return this.flashBegin(data, false)
      case Op.FLASH_DEFL_BEGIN:
        if (!this.isStub && !this.host.chip.romHasDeflate) return this.unsupported()
        return this.flashBegin(data, true)
      case Op.FLASH_DATA:
      case Op.FLASH_DEFL_DATA:
        if (op === Op.FLASH_DEFL_DATA && !this.isStub && !this.host.chip.romHasDeflate) return this.unsupported()
        return this.flashData(packet)
      case Op.FLASH_END:
      case Op.FLASH_DEFL_END:
        if (op === Op.FLASH_DEFL_END && !this.isStub && !this.host.chip.romHasDeflate) return this.unsupported()
        return this.flashEnd(op, data)
      case Op.SPI_FLASH_MD5:
        if (!this.isStub && !this.host.chip.romHasMd5) return this.unsupported()
        return this.md5(data)
      case Op.SPI_ATTACH:
        return this.reply(op, 0)
      case Op.SPI_SET_PARAMS:
        return this.setParams(data)
      case Op.CHANGE_BAUDRATE: {
        this.need(data, 8)
        const baud = data.readUInt32LE(0)
        if (baud < 300 || baud > 5_000_000) throw new CommandError(this.isStub ? StubError.BAD_DATA_LEN : RomError.INVALID_MESSAGE)
        this.reply(op, 0)
        this.host.changeBaud(baud)
        return
      }
      case Op.GET_SECURITY_INFO:
        return this.securityInfo()
      case Op.READ_FLASH_SLOW:
        if (this.isStub) return this.notImplemented(op)
        return this.readFlashSlow(data)
      case Op.ERASE_FLASH:
        if (!this.isStub) return this.unsupported()
        this.host.flash.eraseCovering(0, this.host.flash.size)
        await this.host.flash.flush()
        return this.reply(op, 0)
      case Op.ERASE_REGION:
        if (!this.isStub) return this.unsupported()
        return this.eraseRegion(data)
      case Op.READ_FLASH:
        if (!this.isStub) return this.unsupported()
        return this.readFlash(data)
      case Op.RUN_USER_CODE:
        if (!this.isStub) return this.unsupported()
        // no reply, as the stub does
        this.host.onCommand({op, name: opName(op), ok: true, stub: true})
        this.host.runUserCode('RUN_USER_CODE')
        return
      default:
        return this.isStub ? this.notImplemented(op) : this.unsupported()
    }
  }

  // ---- replies ----

  private statusBytes(error?: number): Uint8Array {
    const status = new Uint8Array(this.isStub ? 2 : this.host.chip.romStatusBytes)
    if (error !== undefined) {
      status[0] = 1
      status[1] = error
    }
    return status
  }

  private reply(op: number, value: number, payload: Uint8Array = ok): void {
    this.host.sendFrame(buildResponse(op, value, payload, this.statusBytes()))
    this.host.onCommand({op, name: opName(op), ok: true, stub: this.isStub})
  }

  private replyError(op: number, error: number): void {
    this.host.sendFrame(buildResponse(op, 0, ok, this.statusBytes(error)))
    this.host.onCommand({op, name: opName(op), ok: false, error, stub: this.isStub})
  }

  /**
   * What the ROM does with a command it lacks (GET_SECURITY_INFO on ESP8266/ESP32): a reply whose opcode differs
   * from the request and whose status is "invalid message", repeated 8 times (esp-flashing-reference §2.6).
   */
  private unsupported(): void {
    const frame = buildResponse(0x00, 0, ok, this.statusBytes(RomError.INVALID_MESSAGE))
    for (let i = 0; i < 8; i++) this.host.sendFrame(frame)
    this.host.onCommand({op: 0, name: 'UNSUPPORTED', ok: false, error: RomError.INVALID_MESSAGE, stub: this.isStub})
  }

  private notImplemented(op: number): void {
    this.replyError(op, StubError.CMD_NOT_IMPLEMENTED)
  }

  private need(data: Buffer, bytes: number): void {
    if (data.length < bytes) throw new CommandError(this.isStub ? StubError.BAD_DATA_LEN : RomError.INVALID_MESSAGE)
  }

  // ---- commands ----

  private sync(data: Buffer): void {
    if (!data.subarray(0, SYNC_PAYLOAD.length).equals(SYNC_PAYLOAD)) throw new CommandError(this.isStub ? StubError.BAD_DATA_LEN : RomError.INVALID_MESSAGE)
    // ROM and stub both answer 8 times; the stub's value 0 tells a host the stub is already running
    const value = this.isStub ? 0 : ROM_SYNC_VALUE
    const frame = buildResponse(Op.SYNC, value, ok, this.statusBytes())
    for (let i = 0; i < 8; i++) this.host.sendFrame(frame)
    this.host.onCommand({op: Op.SYNC, name: 'SYNC', ok: true, stub: this.isStub})
  }

  private writeReg(data: Buffer): void {
    if (data.length === 0 || data.length % 16 !== 0) throw new CommandError(this.isStub ? StubError.BAD_DATA_LEN : RomError.INVALID_MESSAGE)
    for (let i = 0; i < data.length; i += 16) {
      const [address, value, mask] = words(data.subarray(i), 3)
      this.host.registers.write(address, value, mask)
    }
    this.reply(Op.WRITE_REG, 0)
  }

  private memBegin(data: Buffer): void {
    this.need(data, 16)
    const [size, blocks, blockSize, address] = words(data, 4)
    this.mem = {size, blocks, blockSize, address, nextSeq: 0, received: 0}
    this.reply(Op.MEM_BEGIN, 0)
  }

  private memData(packet: CommandPacket): void {
    const block = this.dataBlock(packet)
    const mem = this.mem
    if (!mem) throw new CommandError(this.isStub ? StubError.NOT_IN_FLASH_MODE : RomError.FAILED_TO_ACT)
    if (block.seq !== mem.nextSeq) throw new CommandError(this.isStub ? StubError.BAD_BLOCKSIZE : RomError.INVALID_MESSAGE)
    if (mem.received + block.bytes.length > mem.size + mem.blockSize) {
      throw new CommandError(this.isStub ? StubError.TOO_MUCH_DATA : RomError.INVALID_MESSAGE)
    }
    mem.nextSeq++
    mem.received += block.bytes.length
    this.reply(Op.MEM_DATA, 0)
  }

  private memEnd(data: Buffer): void {
    this.need(data, 8)
    const [noEntry, entry] = words(data, 2)
    this.reply(Op.MEM_END, 0)
    this.mem = undefined
    if (noEntry === 0 && entry !== 0 && !this.isStub) {
      // the uploaded stub starts and greets the host with a bare "OHAI" frame
      this.mode = 'stub'
      this.host.sendFrame(Buffer.from('OHAI', 'ascii'))
      this.host.onStubStarted()
    }
  }

  /** SPI_SET_PARAMS: id, total size, block, sector, page size, status mask */
  private setParams(data: Buffer): void {
    this.need(data, 24)
    const [, totalSize] = words(data, 2)
    if (totalSize === 0 || totalSize % FLASH_SECTOR_SIZE !== 0) throw new CommandError(this.isStub ? StubError.BAD_DATA_LEN : RomError.INVALID_MESSAGE)
    this.configuredFlashSize = totalSize
    this.reply(Op.SPI_SET_PARAMS, 0)
  }

  /** erases and writes must lie inside the chip and inside the size the loader was told */
  private checkWritable(offset: number, length: number): void {
    if (!this.host.flash.contains(offset, length) || offset + length > this.configuredFlashSize) {
      throw new CommandError(this.isStub ? StubError.FAILED_SPI_OP : RomError.FLASH_WRITE_ERROR)
    }
  }

  private flashBegin(data: Buffer, compressed: boolean): void {
    this.need(data, 16)
    const [eraseSize, blocks, blockSize, offset] = words(data, 4)
    const flash = this.host.flash
    this.checkWritable(offset, Math.min(eraseSize, flash.size))
    if (blockSize === 0 && blocks > 0) throw new CommandError(this.isStub ? StubError.BAD_BLOCKSIZE : RomError.INVALID_MESSAGE)
    this.write?.inflater?.abort()
    // the stub writes exactly eraseSize bytes (trimming the 0xFF padding); the ROM writes whole blocks
    const size = compressed || this.isStub ? eraseSize : blocks * blockSize
    // ESP8266's ROM erases more than asked (hosts compensate by asking less): cover every block it will write
    const eraseLength = !this.isStub && this.host.chip.name === 'esp8266' && !compressed ? Math.max(eraseSize, size) : eraseSize
    flash.eraseCovering(offset, Math.min(eraseLength, flash.size - offset))
    const session: WriteSession = {compressed, offset, size, blocks, blockSize, nextSeq: 0, written: 0, complete: blocks === 0}
    if (compressed) {
      session.inflater = new InflateWriter(size, (produced, bytes) => {
        flash.write(offset + produced, bytes)
        session.written = produced + bytes.length
      })
    }
    this.write = session
    this.reply(compressed ? Op.FLASH_DEFL_BEGIN : Op.FLASH_BEGIN, 0)
  }

  private async flashData(packet: CommandPacket): Promise<void> {
    const compressed = packet.op === Op.FLASH_DEFL_DATA
    const block = this.dataBlock(packet)
    const session = this.write
    if (!session || session.compressed !== compressed) throw new CommandError(this.isStub ? StubError.NOT_IN_FLASH_MODE : RomError.FAILED_TO_ACT)
    if (block.seq === session.nextSeq - 1) {
      // a retry of a block whose reply the host lost: already written
      this.reply(packet.op, 0)
      return
    }
    if (block.seq !== session.nextSeq || session.complete) {
      throw new CommandError(this.isStub ? StubError.TOO_MUCH_DATA : RomError.INVALID_MESSAGE)
    }
    session.nextSeq++
    if (compressed) {
      const inflater = session.inflater!
      inflater.push(block.bytes)
      if (session.nextSeq >= session.blocks) await inflater.finish()
      else if (!this.isStub) await inflater.settle()
      if (inflater.error) {
        const tooMuch = inflater.error.kind === 'too-much'
        throw new CommandError(this.isStub ? (tooMuch ? StubError.TOO_MUCH_DATA : StubError.INFLATE_ERROR) : RomError.DEFLATE_ERROR)
      }
    } else {
      const room = session.size - session.written
      const bytes = this.isStub ? block.bytes.subarray(0, Math.max(room, 0)) : block.bytes
      this.host.flash.write(session.offset + session.written, bytes)
      session.written += bytes.length
    }
    if (session.nextSeq >= session.blocks) await this.completeWrite(session)
    this.reply(packet.op, 0)
  }

  private async completeWrite(session: WriteSession): Promise<void> {
    if (session.complete) return
    session.complete = true
    this.completedWrites++
    await this.host.flash.flush()
    this.host.onFlashWritten({offset: session.offset, length: session.written, compressed: session.compressed})
  }

  private async flashEnd(op: number, data: Buffer): Promise<void> {
    const reboot = data.length >= 4 && data.readUInt32LE(0) === 0
    const session = this.write
    if (session?.inflater) await session.inflater.settle()
    await this.host.flash.flush()
    if (this.isStub) {
      if (!session) throw new CommandError(StubError.NOT_IN_FLASH_MODE)
      if (!session.complete) throw new CommandError(StubError.NOT_ENOUGH_DATA)
    }
    this.write = undefined
    this.reply(op, 0)
    // the ROM leaves download mode on FLASH_END ("run user code" or reboot); the stub only when asked to reboot
    if (!this.isStub || reboot) this.host.runUserCode(reboot ? 'FLASH_END (reboot)' : 'FLASH_END (run user code)')
  }

  private async md5(data: Buffer): Promise<void> {
    this.need(data, 8)
    const [address, size] = words(data, 2)
    await this.write?.inflater?.settle()
    if (!this.host.flash.contains(address, size)) throw new CommandError(this.isStub ? StubError.BAD_DATA_LEN : RomError.FLASH_READ_ERROR)
    const digest = this.host.flash.md5(address, size)
    // the ROM answers in hex text, the stub in raw bytes
    this.reply(Op.SPI_FLASH_MD5, 0, this.isStub ? digest : Buffer.from(digest.toString('hex'), 'ascii'))
  }

  private securityInfo(): void {
    const info = this.host.chip.securityInfo
    if (!info) return this.unsupported()
    const payload = Buffer.alloc(info.length)
    if (info.length >= 20) payload.writeUInt32LE(info.chipId, 12)
    this.reply(Op.GET_SECURITY_INFO, 0, payload)
  }

  private readFlashSlow(data: Buffer): void {
    this.need(data, 8)
    const [address, size] = words(data, 2)
    if (size > 64 || !this.host.flash.contains(address, size)) throw new CommandError(RomError.READ_LENGTH_ERROR)
    const payload = Buffer.alloc(64)
    this.host.flash.read(address, size).copy(payload)
    this.reply(Op.READ_FLASH_SLOW, 0, payload)
  }

  private eraseRegion(data: Buffer): void {
    this.need(data, 8)
    const [offset, size] = words(data, 2)
    if (offset % FLASH_SECTOR_SIZE !== 0 || size % FLASH_SECTOR_SIZE !== 0) throw new CommandError(StubError.BAD_DATA_LEN)
    this.checkWritable(offset, size)
    this.host.flash.eraseCovering(offset, size)
    this.reply(Op.ERASE_REGION, 0)
  }

  private async readFlash(data: Buffer): Promise<void> {
    this.need(data, 16)
    const [offset, length, packetSize, maxInFlight] = words(data, 4)
    await this.write?.inflater?.settle()
    if (!this.host.flash.contains(offset, length) || packetSize === 0 || packetSize > 0x10000) throw new CommandError(StubError.BAD_DATA_LEN)
    this.reply(Op.READ_FLASH, 0)
    this.read = {offset, length, packetSize, maxInFlight: Math.max(1, maxInFlight), sent: 0, acked: 0}
    this.pumpRead()
  }

  /** send data packets while the host's acknowledgements keep the window open */
  private pumpRead(): void {
    const read = this.read
    if (!read) return
    while (read.sent < read.length && read.sent - read.acked < read.maxInFlight * read.packetSize) {
      const n = Math.min(read.packetSize, read.length - read.sent)
      this.host.sendFrame(this.host.flash.read(read.offset + read.sent, n))
      read.sent += n
    }
  }

  private onReadAck(total: number): void {
    const read = this.read!
    read.acked = Math.max(read.acked, Math.min(total, read.sent))
    if (read.acked >= read.length) {
      // the stub ends a read with the MD5 of everything it sent
      this.host.sendFrame(this.host.flash.md5(read.offset, read.length))
      this.read = undefined
      return
    }
    this.pumpRead()
  }

  /** a *_DATA payload: len, seq, 0, 0, bytes — with length and checksum checked */
  private dataBlock(packet: CommandPacket): {seq: number; bytes: Buffer} {
    this.need(packet.data, 16)
    const [length, seq] = words(packet.data, 2)
    const bytes = packet.data.subarray(16)
    if (bytes.length !== length) throw new CommandError(this.isStub ? StubError.BAD_DATA_LEN : RomError.INVALID_MESSAGE)
    if (dataChecksum(bytes) !== (packet.checksum & 0xff)) throw new CommandError(this.isStub ? StubError.BAD_DATA_CHECKSUM : RomError.INVALID_CRC)
    return {seq, bytes}
  }
}
