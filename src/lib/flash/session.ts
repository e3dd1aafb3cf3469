import type {ESPLoader, Transport} from 'esptool-js'

import {ExitCode, InterruptedError, IotctlError, usageError} from '../console/errors.js'
import {ROM_BAUD, RUN_USER_CODE, VIRTUAL_BOARD_MARKER} from '../esp/chips.js'
import {openPort} from '../serial/open-port.js'
import type {WebSerialLike} from '../serial/types.js'
import {boardMd5, CompressedWriteError, md5Hex, padTo4, writeCompressed} from './compressed-write.js'
import {writeUncompressed} from './uncompressed-write.js'
import {chipMismatch, connectError, writeError} from './errors.js'
import {installEsptoolGuards} from './esptool-guards.js'
import {chipFamily, flashSizeFromId, hex} from './format.js'
import {LoaderTerminal} from './terminal.js'
import type {BoardInfo, ConnectOptions, FlashPart, ResetResult, WriteOptions, WriteResult, WrittenPart} from './types.js'

export const DEFAULT_FLASH_BAUD = 921_600
export {ROM_BAUD}
const READ_FLASH_SLOW = 0x0e
const SPI_SET_PARAMS = 0x0b
/** esptool writes 1 KB blocks through a ROM loader (16 KB through the stub) */
const ROM_FLASH_WRITE_SIZE = 0x400
const SECTOR = 0x1000
/** RTS pulses EN low then releases it; esptool-js's own HardReset never asserts RTS first (§1.6) */
const HARD_RESET_SEQUENCE = 'D0|R1|W100|R0'

/**
 * What esptool does before writing and esptool-js does not: attach the SPI flash when talking to the ROM
 * (its loader leaves flash detached), use the ROM's 1 KB write blocks, and tell the loader the flash's real
 * size with SPI_SET_PARAMS — otherwise it keeps its default and refuses writes above it (a filesystem at
 * 0x200000 on a 4 MB board).
 */
async function prepareFlash(loader: ESPLoader, flashSize: number | undefined, onWarning?: (message: string) => void): Promise<void> {
  if (!loader.IS_STUB) {
    loader.FLASH_WRITE_SIZE = ROM_FLASH_WRITE_SIZE
    if (loader.chip.CHIP_NAME !== 'ESP8266') await loader.flashSpiAttach(0)
  }
  if (flashSize === undefined) {
    onWarning?.('the flash chip did not report its size; the loader keeps its default flash size')
    return
  }
  const params = new Uint8Array(24)
  const view = new DataView(params.buffer)
  // id, total size, block 64 KB, sector 4 KB, page 256, status mask
  ;[0, flashSize, 0x10000, 0x1000, 0x100, 0xffff].forEach((value, i) => view.setUint32(i * 4, value, true))
  await loader.checkCommand('set SPI params', SPI_SET_PARAMS, params)
}

/** an iotctl virtual board fills two ROM words with "iotcvirt"; real silicon has ROM code there */
async function isVirtualBoard(loader: ESPLoader): Promise<boolean> {
  for (const [address, value] of VIRTUAL_BOARD_MARKER) if ((await loader.readReg(address)) >>> 0 !== value) return false
  return true
}

/**
 * One connection to a board's bootloader through esptool-js: connect (reset into the bootloader, detect the
 * chip, read the MAC, run the stub, raise the baud rate), write parts with MD5 verification, reset into the app.
 */
export class FlashSession {
  private releaseGuards: () => void
  private closed = false
  private aborted = false

  private constructor(
    readonly port: WebSerialLike,
    private readonly loader: ESPLoader,
    private readonly terminal: LoaderTerminal,
    readonly info: BoardInfo,
    releaseGuards: () => void,
    private readonly signal?: AbortSignal,
  ) {
    this.releaseGuards = releaseGuards
    signal?.addEventListener('abort', this.onAbort, {once: true})
  }

  static async connect(options: ConnectOptions): Promise<FlashSession> {
    const port = typeof options.port === 'string' ? await openPort(options.port, {onWarning: options.onWarning}) : options.port
    if (options.signal?.aborted) throw new InterruptedError()
    const release = installEsptoolGuards({onStrayRejection: (reason) => options.onWarning?.(`esptool-js: ${String(reason)}`)})
    const terminal = new LoaderTerminal(options.onLog)
    const baud = options.baud ?? DEFAULT_FLASH_BAUD
    const romBaud = options.romBaud ?? ROM_BAUD
    let transport: Transport | undefined
    const onAbort = () => void port.close().catch(() => {})
    options.signal?.addEventListener('abort', onAbort, {once: true})
    try {
      const {ESPLoader, Transport, ClassicReset, CustomReset} = await import('esptool-js')
      transport = new Transport(port as unknown as ConstructorParameters<typeof Transport>[0], false)
      const loader = new ESPLoader({
        transport,
        baudrate: baud,
        romBaudrate: romBaud,
        terminal,
        resetConstructors: {
          // once the port has shown it cannot drive DTR/RTS (a pty), skip the reset and its delays
          classicReset: (t, delay) => {
            const reset = new ClassicReset(t, delay)
            return {reset: async () => (port.signalsWork ? reset.reset() : undefined)} as unknown as InstanceType<typeof ClassicReset>
          },
          hardReset: (t) => new CustomReset(t, HARD_RESET_SEQUENCE) as unknown as InstanceType<typeof import('esptool-js').HardReset>,
        },
      })
      if (options.noStub) {
        // --no-stub: the ROM loader alone (a stub still running from an earlier session is used as it is)
        const runStub = loader.runStub.bind(loader)
        loader.runStub = async () => ((loader as unknown as {syncStubDetected: boolean}).syncStubDetected ? runStub() : loader.chip)
      }
      // a TCP line has no DTR/RTS: the board must already be in its bootloader (esptool does the same)
      const mode = port.kind === 'tcp' ? 'no_reset' : 'default_reset'
      const description = await loader.main(mode)
      const chip = loader.chip
      const info: BoardInfo = {
        chip: chipFamily(chip.CHIP_NAME),
        chipName: chip.CHIP_NAME,
        description,
        features: [],
        mac: '',
        flashId: 0,
        stub: loader.IS_STUB,
        baud: transport.baudrate,
        resetMethod: port.kind === 'serial' && port.signalsWork ? 'dtr-rts' : 'none',
        virtual: false,
      }
      if (options.expectChip && options.expectChip !== 'auto' && chipFamily(options.expectChip) !== info.chip) {
        throw chipMismatch(chipFamily(options.expectChip), info.chip, port.spec)
      }
      info.mac = (await chip.readMac(loader)).toLowerCase()
      const features = await chip.getChipFeatures(loader)
      info.features = (Array.isArray(features) ? features : String(features).split(',')).map((f) => String(f).trim()).filter(Boolean)
      info.flashId = (await loader.readFlashId()) >>> 0
      info.flashSize = flashSizeFromId(info.flashId)
      info.virtual = await isVirtualBoard(loader)
      await prepareFlash(loader, info.flashSize, options.onWarning)
      options.signal?.removeEventListener('abort', onAbort)
      return new FlashSession(port, loader, terminal, info, release, options.signal)
    } catch (error) {
      options.signal?.removeEventListener('abort', onAbort)
      await port.close().catch(() => {})
      release()
      if (options.signal?.aborted) throw new InterruptedError()
      throw connectError(error, port.spec)
    }
  }

  /** Write each part (sector-aligned, inside the flash), verifying its MD5 on the board. */
  async write(options: WriteOptions): Promise<WriteResult> {
    this.assertOpen()
    const parts = this.checkParts(options.parts)
    const compress = options.compress ?? true
    const verify = options.verify ?? true
    const started = performance.now()
    const written: WrittenPart[] = []
    if (options.eraseAll) {
      if (!this.loader.IS_STUB) throw usageError('erasing the whole chip needs the flasher stub, which this board did not run')
      await this.loader.eraseFlash()
    }
    for (const [index, part] of parts.entries()) {
      options.onPart?.({part: part.name, index, phase: 'start'})
      const partStarted = performance.now()
      let wireBytes = 0
      this.terminal.lastWriteAddress = undefined
      const onProgress = (sent: number, total: number) => {
        wireBytes = sent
        options.onProgress?.({part: part.name, index, written: sent, total})
      }
      let verified = verify
      try {
        if (compress && !this.esp8266Rom) {
          await writeCompressed(this.loader, {address: part.address, data: part.data, verify, onProgress, log: (line) => this.terminal.writeLine(line)})
        } else {
          const result = await writeUncompressed(this.loader, {
            address: part.address,
            data: part.data,
            verify,
            esp8266Rom: this.esp8266Rom,
            onProgress,
            log: (line) => this.terminal.writeLine(line),
          })
          verified = result.verified
        }
      } catch (error) {
        if (this.aborted) throw new InterruptedError()
        const offset = error instanceof CompressedWriteError ? error.offset : (this.terminal.lastWriteAddress ?? part.address)
        const cause = error instanceof CompressedWriteError ? (error.cause ?? error) : error
        throw writeError(this.port.lostReason ? new Error(`the board went away (${this.port.lostReason})`, {cause}) : cause, {
          part: part.name,
          address: part.address,
          size: part.data.length,
          offset,
        })
      }
      const seconds = (performance.now() - partStarted) / 1000
      written.push({name: part.name, address: part.address, size: part.data.length, wireBytes, seconds, md5: md5Hex(padTo4(part.data)), verified})
      options.onPart?.({part: part.name, index, phase: 'done', seconds})
    }
    return {
      parts: written,
      bytes: written.reduce((n, p) => n + p.size, 0),
      wireBytes: written.reduce((n, p) => n + p.wireBytes, 0),
      seconds: (performance.now() - started) / 1000,
    }
  }

  /** ESP8266's ROM has neither compressed writes nor MD5; every stub and later ROM has both */
  private get esp8266Rom(): boolean {
    return !this.loader.IS_STUB && this.info.chip === 'esp8266'
  }

  /** Read flash back (needs the stub). */
  async readFlash(address: number, size: number): Promise<Uint8Array> {
    this.assertOpen()
    if (!this.loader.IS_STUB) throw usageError('reading flash back needs the flasher stub, which this board did not run')
    try {
      return await this.loader.readFlash(address, size)
    } catch (error) {
      throw new IotctlError(`reading ${size} bytes at ${hex(address)} failed: ${error instanceof Error ? error.message : error}`, {
        code: 'FLASH_READ_FAILED',
        exit: ExitCode.DEVICE,
        cause: error,
      })
    }
  }

  /**
   * The first bytes (at most 64) of a flash region: READ_FLASH through the stub, READ_FLASH_SLOW from the ROM
   * (which every ROM loader answers, ESP8266's included).
   */
  async readHead(address: number, length = 16): Promise<Uint8Array> {
    this.assertOpen()
    if (length > 64) throw new Error('readHead reads at most 64 bytes')
    if (this.loader.IS_STUB) return (await this.loader.readFlash(address, length)).subarray(0, length)
    const request = new Uint8Array(8)
    new DataView(request.buffer).setUint32(0, address, true)
    new DataView(request.buffer).setUint32(4, length, true)
    const data = (await this.loader.checkCommand('read flash (slow)', READ_FLASH_SLOW, request, 0, 64)) as Uint8Array
    return data.subarray(0, length)
  }

  /** Whether the board's flash holds an image header (0xE9) at `address`: false on an erased or blank board. */
  async hasImageAt(address: number): Promise<boolean> {
    return (await this.readHead(address, 4))[0] === 0xe9
  }

  /** The board's MD5 of a flash region, lowercase hex. */
  async md5(address: number, size: number): Promise<string> {
    this.assertOpen()
    return boardMd5(this.loader, address, size)
  }

  /**
   * Leave the bootloader and run the app: an RTS pulse where the port has modem lines; otherwise (TCP, pty)
   * the loader is asked to run user code (the stub's RUN_USER_CODE, or the ROM's FLASH_END), which also
   * boots a virtual board.
   */
  async reset(): Promise<ResetResult> {
    this.assertOpen()
    if (this.port.kind === 'serial' && this.port.signalsWork) {
      await this.loader.after('hard_reset', false)
      if (this.port.signalsWork) return 'dtr-rts'
    }
    if (this.loader.IS_STUB) await this.loader.command(RUN_USER_CODE, new Uint8Array(0), 0, false)
    else await this.loader.softReset(false)
    return 'run-user-code'
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.signal?.removeEventListener('abort', this.onAbort)
    try {
      await this.port.close()
    } finally {
      this.releaseGuards()
    }
  }

  private readonly onAbort = () => {
    this.aborted = true
    void this.port.close().catch(() => {})
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('flash session is closed')
    if (this.aborted) throw new InterruptedError()
  }

  private checkParts(parts: FlashPart[]): FlashPart[] {
    if (parts.length === 0) throw usageError('nothing to write: the flash plan has no parts')
    const sorted = [...parts].sort((a, b) => a.address - b.address)
    const flashSize = this.info.flashSize
    for (const [i, part] of sorted.entries()) {
      if (!(part.data instanceof Uint8Array)) throw usageError(`part "${part.name}" has no bytes`)
      if (!Number.isInteger(part.address) || part.address < 0 || part.address % SECTOR !== 0) {
        throw usageError(`part "${part.name}" starts at ${hex(part.address)}, which is not on a 4 KB flash sector boundary`)
      }
      const end = part.address + part.data.length
      if (flashSize !== undefined && end > flashSize) {
        throw new IotctlError(
          `part "${part.name}" (${hex(part.address)}–${hex(end)}) does not fit the board's ${flashSize / 1024 / 1024} MB flash`,
          {code: 'PART_EXCEEDS_FLASH', exit: ExitCode.USAGE, suggestions: ['Build the image for this board\'s flash size']},
        )
      }
      const next = sorted[i + 1]
      if (next && end > next.address) {
        throw usageError(`parts "${part.name}" and "${next.name}" overlap at ${hex(next.address)}`)
      }
    }
    return parts
  }
}
