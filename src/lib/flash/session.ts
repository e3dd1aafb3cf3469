import type {ESPLoader, Transport} from 'esptool-js'

import {ExitCode, InterruptedError, IotctlError, usageError} from '../console/errors.js'
import {ROM_BAUD, RUN_USER_CODE, VIRTUAL_BOARD_MARKER} from '../esp/chips.js'
import {openPort} from '../serial/open-port.js'
import type {WebSerialLike} from '../serial/types.js'
import {CompressedWriteError, md5Hex, padTo4, writeCompressed} from './compressed-write.js'
import {chipMismatch, connectError, writeError} from './errors.js'
import {installEsptoolGuards} from './esptool-guards.js'
import {chipFamily, flashSizeFromId, hex} from './format.js'
import {LoaderTerminal} from './terminal.js'
import type {BoardInfo, ConnectOptions, FlashPart, ResetResult, WriteOptions, WriteResult, WrittenPart} from './types.js'

export const DEFAULT_FLASH_BAUD = 921_600
export {ROM_BAUD}
const SECTOR = 0x1000
/** RTS pulses EN low then releases it; esptool-js's own HardReset never asserts RTS first (§1.6) */
const HARD_RESET_SEQUENCE = 'D0|R1|W100|R0'

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
      try {
        if (compress) {
          await writeCompressed(this.loader, {address: part.address, data: part.data, verify, onProgress, log: (line) => this.terminal.writeLine(line)})
        } else {
          await this.loader.writeFlash({
            fileArray: [{data: part.data, address: part.address}],
            flashMode: 'keep',
            flashFreq: 'keep',
            flashSize: 'keep',
            eraseAll: false,
            compress: false,
            reportProgress: (_file, sent, total) => onProgress(sent, total),
            ...(verify ? {calculateMD5Hash: md5Hex} : {}),
          })
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
      written.push({name: part.name, address: part.address, size: part.data.length, wireBytes, seconds, md5: md5Hex(padTo4(part.data)), verified: verify})
      options.onPart?.({part: part.name, index, phase: 'done', seconds})
    }
    return {
      parts: written,
      bytes: written.reduce((n, p) => n + p.size, 0),
      wireBytes: written.reduce((n, p) => n + p.wireBytes, 0),
      seconds: (performance.now() - started) / 1000,
    }
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

  /** The board's MD5 of a flash region, lowercase hex. */
  async md5(address: number, size: number): Promise<string> {
    this.assertOpen()
    return (await this.loader.flashMd5sum(address, size)).toLowerCase()
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
