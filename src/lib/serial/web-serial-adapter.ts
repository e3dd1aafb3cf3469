import type {SerialOpenOptions, SerialPortInfoNumbers, SerialSignals, WebSerialLike} from './types.js'
import {chunkReadable, chunkWritable, deviceLostError, type ChunkReadable} from './web-streams.js'

type Callback = (error?: Error | null) => void

/** The part of a `serialport` SerialPortStream the adapter uses (also satisfied by SerialPortMock). */
export interface SerialPortHandle {
  readonly isOpen: boolean
  open(callback: Callback): void
  close(callback: Callback): void
  write(data: Uint8Array, callback?: Callback): boolean
  drain(callback: Callback): void
  set(options: {dtr?: boolean; rts?: boolean; brk?: boolean}, callback: Callback): void
  update(options: {baudRate: number}, callback: Callback): void
  on(event: string, listener: (...args: any[]) => void): unknown
  removeListener(event: string, listener: (...args: any[]) => void): unknown
}

export interface PortFactoryOptions {
  path: string
  baudRate: number
  dataBits: 7 | 8
  stopBits: 1 | 2
  parity: 'none' | 'even' | 'odd'
  rtscts: boolean
}

export type PortFactory = (options: PortFactoryOptions) => Promise<SerialPortHandle>

export interface WebSerialAdapterOptions {
  /** USB ids from port discovery; `{}` for ptys and unknown ports */
  info?: SerialPortInfoNumbers
  /** called once when the port cannot drive DTR/RTS (a pty answers ENOTTY) */
  onWarning?: (message: string) => void
  /** how to construct the underlying port; defaults to the `serialport` package (tests pass SerialPortMock) */
  createPort?: PortFactory
}

/** Modem-line ioctls a pty (or some USB drivers) does not implement. */
const UNSUPPORTED_IOCTL = /ENOTTY|Inappropriate ioctl|EINVAL|Invalid argument|not supported/i

const defaultFactory: PortFactory = async (options) => {
  const {SerialPort} = await import('serialport')
  return new SerialPort({...options, autoOpen: false}) as unknown as SerialPortHandle
}

const call = (fn: (cb: Callback) => void) =>
  new Promise<void>((resolve, reject) => fn((error) => (error ? reject(error) : resolve())))

/**
 * One open period of a port: calls made in it settle when their callback comes, or fail as soon as the port
 * closes or errors. serialport queues writes and drains on a closed port until it opens again, so without
 * this a board lost mid-write leaves a promise that never settles (Node then exits 13, silently).
 */
class PortLife {
  private failure?: Error
  private readonly pending = new Set<(error: Error) => void>()

  call(fn: (cb: Callback) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.failure) return reject(this.failure)
      this.pending.add(reject)
      fn((error) => {
        this.pending.delete(reject)
        if (error) reject(error)
        else resolve()
      })
    })
  }

  fail(error: Error): void {
    this.failure ??= error
    for (const reject of this.pending) reject(this.failure)
    this.pending.clear()
  }
}

/**
 * Gives esptool-js the Web Serial `SerialPort` it expects, on top of the `serialport` package.
 * serialport's set() resets every flag it is not given, so DTR and RTS are tracked here and always sent together.
 */
export class WebSerialAdapter implements WebSerialLike {
  readonly kind = 'serial' as const
  readable: ReadableStream<Uint8Array> | null = null
  writable: WritableStream<Uint8Array> | null = null
  /** every signal state sent to the port, in order (useful for diagnostics and tests) */
  readonly signalLog: Array<{dtr: boolean; rts: boolean}> = []
  lostReason?: string
  private port?: SerialPortHandle
  private reader?: ChunkReadable
  private life?: PortLife
  // a tty raises DTR and RTS on open
  private dtr = true
  private rts = true
  private brk = false
  private signalsFailed = false
  private readonly createPort: PortFactory

  constructor(
    readonly spec: string,
    private readonly options: WebSerialAdapterOptions = {},
  ) {
    this.createPort = options.createPort ?? defaultFactory
  }

  get signalsWork(): boolean {
    return !this.signalsFailed
  }

  get isOpen(): boolean {
    return this.port?.isOpen ?? false
  }

  getInfo(): SerialPortInfoNumbers {
    return {...this.options.info}
  }

  async open(options: SerialOpenOptions): Promise<void> {
    if (this.port?.isOpen) throw new Error(`${this.spec} is already open`)
    const port = await this.createPort({
      path: this.spec,
      baudRate: options.baudRate,
      dataBits: options.dataBits ?? 8,
      stopBits: options.stopBits ?? 1,
      parity: options.parity ?? 'none',
      rtscts: options.flowControl === 'hardware',
    })
    await call((cb) => port.open(cb))
    const life = new PortLife()
    this.port = port
    this.life = life
    this.lostReason = undefined
    this.dtr = true
    this.rts = true
    this.brk = false
    this.reader = chunkReadable((sink) => {
      const lose = (error: Error) => {
        this.lostReason ??= `${this.spec}: ${error.message}`
        life.fail(deviceLostError(error.message))
        sink.error(deviceLostError(error.message))
      }
      const onData = (chunk: Buffer) => sink.data(chunk)
      // a port closed under us (our close() ends the reader first) leaves serialport's queued writes, drains
      // and reads waiting for an 'open' that never comes: every one of them must fail instead
      const onClose = (error?: Error | null) => {
        if (error) return lose(error)
        life.fail(new Error(`${this.spec} was closed`))
        sink.end()
      }
      // EOF: the far end hung up (a pty whose master closed)
      const onEnd = () => lose(new Error('the port reached end of file (the far end hung up)'))
      port.on('data', onData)
      port.on('close', onClose)
      port.on('error', lose)
      port.on('end', onEnd)
      return () => {
        port.removeListener('data', onData)
        port.removeListener('close', onClose)
        port.removeListener('error', lose)
        port.removeListener('end', onEnd)
      }
    })
    this.readable = this.reader.stream
    this.writable = chunkWritable(async (chunk) => {
      await life.call((cb) => port.write(chunk, cb))
      await life.call((cb) => port.drain(cb))
    })
  }

  async close(): Promise<void> {
    const port = this.port
    this.reader?.end()
    this.life?.fail(new Error(`${this.spec} was closed`))
    this.life = undefined
    this.reader = undefined
    this.readable = null
    this.writable = null
    this.port = undefined
    if (port?.isOpen) await call((cb) => port.close(cb))
  }

  private callPort(fn: (cb: Callback) => void): Promise<void> {
    return this.life ? this.life.call(fn) : call(fn)
  }

  async setSignals(signals: SerialSignals): Promise<void> {
    if (signals.dataTerminalReady !== undefined) this.dtr = signals.dataTerminalReady
    if (signals.requestToSend !== undefined) this.rts = signals.requestToSend
    if (signals.break !== undefined) this.brk = signals.break
    const port = this.port
    if (!port) throw new Error(`${this.spec} is not open`)
    this.signalLog.push({dtr: this.dtr, rts: this.rts})
    if (this.signalsFailed) return
    try {
      await this.callPort((cb) => port.set({dtr: this.dtr, rts: this.rts, brk: this.brk}, cb))
    } catch (error) {
      const message = (error instanceof Error ? error.message : String(error)).replace(/^Error: /, '')
      if (!UNSUPPORTED_IOCTL.test(message)) throw error
      this.signalsFailed = true
      this.options.onWarning?.(
        `${this.spec} cannot set DTR/RTS (${message}); the board was not reset by the port. ` +
          'Boards without auto-reset need BOOT held while pressing RESET.',
      )
    }
  }

  async setBaudRate(baudRate: number): Promise<void> {
    const port = this.port
    if (!port) throw new Error(`${this.spec} is not open`)
    await this.callPort((cb) => port.update({baudRate}, cb))
  }
}
