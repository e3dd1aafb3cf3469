import {EventEmitter} from 'node:events'
import {createServer, type Server, type Socket} from 'node:net'

import {ExitCode, IotctlError} from '../console/errors.js'
import {ROM_BAUD} from '../esp/chips.js'
import {BootFailure, defaultBootHook, type BootConsole, type BootHook} from './boot.js'
import {emulatedChip, type EmulatedChip, type EmulatedChipName} from './chips.js'
import {FlashStore} from './flash-store.js'
import {BootloaderMachine, type CommandEvent, type FlashWrittenEvent} from './loader.js'
import {formatMac, parseMac, randomMac} from './mac.js'
import {Op, parseCommand} from './protocol.js'
import {RegisterFile} from './registers.js'
import {SlipDecoder, slipEncode} from './slip.js'
import {PacedLine} from './uart.js'

export interface VirtualBoardOptions {
  chip: EmulatedChipName | string
  /** factory MAC; a random one under the chip's usual Espressif OUI by default */
  mac?: string
  /** where the flash persists; in memory only without it */
  flashFile?: string
  /** bytes; defaults to the file's size, else 4 MB */
  flashSize?: number
  host?: string
  /** 0 picks a free port (see `board.port`) */
  port?: number
  /** pace the UART at the negotiated baud rate (115200 until CHANGE_BAUDRATE) */
  pacing?: boolean
  /** boot from flash right away instead of waiting in the bootloader */
  boot?: boolean
  /** what booting runs; without it the board only checks for a bootloader image */
  onBoot?: BootHook
  /** console bytes kept while nobody is connected, delivered to the next connection */
  consoleBacklog?: number
  /** answer another chip-detect magic (to see how hosts treat a chip they do not know) */
  magic?: number
  /** a worn flash cell: bit 0 of the byte at this offset sticks at 0 (to see verification fail) */
  faultyFlashByte?: number
  /** hide the "virtual board" marker, so hosts treat it as real silicon (simulation images are then refused) */
  poseAsReal?: boolean
}

export type BoardState = 'download' | 'app'

export interface ResetEvent {
  to: BoardState
  reason: string
}

export interface VirtualBoardEvents {
  connected: [{remote: string}]
  disconnected: [{remote: string}]
  /** a second client was turned away: the UART is in use */
  busy: [{remote: string}]
  command: [CommandEvent]
  stubStarted: []
  baud: [{baud: number}]
  flashWritten: [FlashWrittenEvent]
  reset: [ResetEvent]
  /** everything the board prints on its console */
  console: [{text: string}]
  bootFailed: [{message: string}]
}

const CONSOLE_HIGH_WATER = 64 * 1024
const FLUSH_DELAY_MS = 300
const APP_STOP_TIMEOUT_MS = 3000

/**
 * A virtual ESP board on TCP: the ROM bootloader and flasher stub protocol on its UART, flash kept in a file,
 * and a console that boots what the flash holds.
 *
 * Reset rules (a TCP line has no DTR/RTS): the board boots from flash on RUN_USER_CODE, on FLASH_END asking
 * to leave the loader, when a client disconnects after a completed flash write, or via `boot()`. A SYNC
 * arriving while the app runs resets it into download mode, as the host's auto-reset circuit would.
 */
export class VirtualBoard extends EventEmitter<VirtualBoardEvents> {
  readonly chip: EmulatedChip
  readonly mac: string
  readonly flash: FlashStore
  private readonly registers: RegisterFile
  private readonly machine: BootloaderMachine
  private readonly server: Server
  private readonly decoder: SlipDecoder
  private client?: Socket
  private rx = new PacedLine(undefined)
  private tx = new PacedLine(undefined)
  private work: Promise<void> = Promise.resolve()
  private stateValue: BoardState = 'download'
  private app?: {abort: AbortController; done: Promise<void>; generation: number}
  private generation = 0
  private backlog: Buffer[] = []
  private backlogBytes = 0
  private flushTimer?: NodeJS.Timeout
  private closed = false

  private constructor(
    private readonly options: VirtualBoardOptions,
    flash: FlashStore,
  ) {
    super()
    const chip = emulatedChip(options.chip)
    this.chip = options.magic === undefined ? chip : {...chip, magic: options.magic >>> 0}
    const mac = options.mac ? parseMac(options.mac) : randomMac(this.chip.defaultOui)
    this.mac = formatMac(mac)
    this.flash = flash
    flash.stuckBitAt = options.faultyFlashByte
    this.registers = new RegisterFile(this.chip, mac, flash.size, {virtualMarker: !options.poseAsReal})
    this.machine = new BootloaderMachine({
      chip: this.chip,
      flash,
      registers: this.registers,
      sendFrame: (body) => this.sendBytes(slipEncode(body)),
      changeBaud: (baud) => this.changeBaud(baud),
      runUserCode: (reason) => setImmediate(() => void this.boot(reason)),
      onCommand: (info) => this.onCommand(info),
      onFlashWritten: (info) => this.emit('flashWritten', info),
      onStubStarted: () => this.emit('stubStarted'),
    })
    this.decoder = new SlipDecoder({frame: (frame) => this.enqueue(frame)})
    this.server = createServer((socket) => this.onConnection(socket))
  }

  static async start(options: VirtualBoardOptions): Promise<VirtualBoard> {
    emulatedChip(options.chip)
    if (options.mac) parseMac(options.mac)
    const flash = await FlashStore.open(options.flashFile, options.flashSize)
    const board = new VirtualBoard(options, flash)
    await board.listen(options.host ?? '127.0.0.1', options.port ?? 0)
    if (options.boot) await board.boot('--boot')
    return board
  }

  get state(): BoardState {
    return this.stateValue
  }

  get host(): string {
    return (this.server.address() as {address: string}).address
  }

  get port(): number {
    return (this.server.address() as {port: number}).port
  }

  /** what to pass as --port */
  get url(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host
    return `socket://${host}:${this.port}`
  }

  get stubRunning(): boolean {
    return this.machine.isStub
  }

  get connected(): boolean {
    return this.client !== undefined
  }

  /** the UART rate in use (meaningful with pacing) */
  get baudRate(): number {
    return this.tx.baudRate ?? ROM_BAUD
  }

  /** Power-on / reset into the app: boot from what the flash holds. */
  async boot(reason = 'boot'): Promise<void> {
    if (this.closed) return
    await this.stopApp()
    this.machine.resetToRom()
    this.stateValue = 'app'
    const generation = ++this.generation
    const abort = new AbortController()
    this.emit('reset', {to: 'app', reason})
    const console: BootConsole = {write: (text) => generation === this.generation && this.print(text)}
    console.write(this.chip.romBanner('flash'))
    const hook = this.options.onBoot ?? defaultBootHook(this.chip)
    const snapshot = Uint8Array.from(this.flash.data)
    const done = (async () => {
      try {
        const writeFlash = async (offset: number, bytes: Uint8Array) => {
          if (generation !== this.generation || !this.flash.contains(offset, bytes.length)) return
          this.flash.eraseCovering(offset, bytes.length)
          this.flash.write(offset, bytes)
          await this.flash.flush()
        }
        const restart = (why: string) => {
          if (generation === this.generation) setImmediate(() => void this.boot(why))
        }
        await hook(snapshot, console, {signal: abort.signal, chip: this.chip.name, mac: this.mac, writeFlash, restart})
      } catch (error) {
        if (abort.signal.aborted || generation !== this.generation) return
        const message = error instanceof Error ? error.message : String(error)
        console.write(`${error instanceof BootFailure ? '' : `${message}\r\n`}boot failed; staying in the bootloader\r\n`)
        this.stateValue = 'download'
        this.emit('bootFailed', {message})
      }
    })()
    this.app = {abort, done, generation}
  }

  /** Reset into the ROM bootloader (what DTR/RTS do on a real board). */
  async resetToBootloader(reason = 'reset'): Promise<void> {
    await this.stopApp()
    this.generation++
    this.machine.resetToRom()
    this.stateValue = 'download'
    this.emit('reset', {to: 'download', reason})
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.stopApp()
    this.generation++
    if (this.flushTimer) clearTimeout(this.flushTimer)
    this.rx.close()
    this.tx.close()
    this.client?.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
    await this.work.catch(() => {})
    await this.machine.settleTransfers()
    this.machine.abortTransfers()
    await this.flash.close()
  }

  // ---- wiring ----

  private listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          new IotctlError(`cannot listen on ${host}:${port}: ${error.code ?? error.message}`, {
            code: 'LISTEN_FAILED',
            exit: ExitCode.NETWORK,
            cause: error,
            suggestions: ['Pick another address with --listen 127.0.0.1:0'],
          }),
        ),
      )
      this.server.listen(port, host, () => {
        this.server.removeAllListeners('error')
        this.server.on('error', () => {})
        resolve()
      })
    })
  }

  private onConnection(socket: Socket): void {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`
    socket.on('error', () => {})
    if (this.client || this.closed) {
      // one UART, one user: like a tty that is already open
      this.emit('busy', {remote})
      socket.end('virtual board: its UART is in use by another connection\r\n')
      setTimeout(() => socket.destroy(), 100).unref()
      return
    }
    socket.setNoDelay(true)
    this.client = socket
    const baud = this.options.pacing ? ROM_BAUD : undefined
    this.rx = new PacedLine(baud)
    this.tx = new PacedLine(baud)
    this.decoder.reset()
    socket.on('data', (chunk: Buffer) => this.rx.send(chunk.length, () => this.decoder.push(chunk)))
    socket.on('close', () => this.onDisconnect(socket, remote))
    this.emit('connected', {remote})
    for (const chunk of this.backlog.splice(0)) this.sendBytes(chunk)
    this.backlogBytes = 0
  }

  private onDisconnect(socket: Socket, remote: string): void {
    if (this.client !== socket) return
    this.client = undefined
    this.rx.close()
    this.tx.close()
    this.decoder.reset()
    this.emit('disconnected', {remote})
    this.work = this.work.then(async () => {
      this.machine.abortTransfers()
      await this.flash.flush()
      // the host's "hard reset" after flashing, which TCP cannot carry
      if (this.machine.takeCompletedWrites() > 0 && this.stateValue === 'download' && !this.closed) {
        await this.boot('host disconnected after flashing')
      }
    })
  }

  private enqueue(frame: Buffer): void {
    this.work = this.work
      .then(() => this.onFrame(frame))
      .catch(() => {
        // a frame must never take the board down; the loader already answered what it could
      })
  }

  private async onFrame(frame: Buffer): Promise<void> {
    if (this.closed) return
    if (this.stateValue === 'app') {
      // the running app does not speak SLIP; a SYNC means the host reset the board into download mode
      if (parseCommand(frame)?.op !== Op.SYNC) return
      await this.resetToBootloader('host SYNC')
    }
    await this.machine.handle(frame)
  }

  private onCommand(info: CommandEvent): void {
    this.emit('command', info)
    if ((info.op === Op.FLASH_DATA || info.op === Op.FLASH_DEFL_DATA) && !this.flushTimer) {
      // keep the file close to the flash, so a killed emulator leaves what a killed board would
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined
        void this.flash.flush().catch(() => {})
      }, FLUSH_DELAY_MS)
    }
  }

  private changeBaud(baud: number): void {
    if (this.options.pacing) {
      this.rx.setBaud(baud)
      this.tx.setBaud(baud)
    }
    this.emit('baud', {baud})
  }

  private sendBytes(bytes: Buffer): void {
    const socket = this.client
    if (!socket) return
    this.tx.send(bytes.length, () => {
      if (!socket.destroyed) socket.write(bytes)
    })
  }

  private print(text: string): void {
    if (this.closed) return
    this.emit('console', {text})
    const bytes = Buffer.from(text, 'utf8')
    const socket = this.client
    if (socket) {
      // a UART does not wait for its reader: output is dropped while the other end is not draining
      if (socket.writableLength < CONSOLE_HIGH_WATER) this.sendBytes(bytes)
      return
    }
    const limit = this.options.consoleBacklog ?? CONSOLE_HIGH_WATER
    this.backlog.push(bytes)
    this.backlogBytes += bytes.length
    while (this.backlogBytes > limit && this.backlog.length > 1) this.backlogBytes -= this.backlog.shift()!.length
  }

  private async stopApp(): Promise<void> {
    const app = this.app
    if (!app) return
    this.app = undefined
    app.abort.abort()
    let timer: NodeJS.Timeout | undefined
    await Promise.race([app.done, new Promise<void>((resolve) => (timer = setTimeout(resolve, APP_STOP_TIMEOUT_MS)))])
    clearTimeout(timer)
  }
}
