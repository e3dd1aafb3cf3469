import {connect, type Socket} from 'node:net'

import {ExitCode, IotctlError} from '../console/errors.js'
import type {SerialOpenOptions, SerialPortInfoNumbers, SerialSignals, WebSerialLike} from './types.js'
import {chunkReadable, chunkWritable, deviceLostError, type ChunkReadable} from './web-streams.js'

export interface SocketAddress {
  host: string
  port: number
}

export const SOCKET_PREFIX = 'socket://'

export function isSocketSpec(spec: string): boolean {
  return spec.toLowerCase().startsWith(SOCKET_PREFIX)
}

/** `socket://HOST:PORT` (the esptool / QEMU / pyserial spelling) → host and port. */
export function parseSocketSpec(spec: string): SocketAddress {
  let url: URL
  try {
    url = new URL(spec)
  } catch {
    throw badSpec(spec)
  }
  const port = Number(url.port)
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  if (url.protocol !== 'socket:' || !host || !Number.isInteger(port) || port < 1 || port > 65_535) throw badSpec(spec)
  return {host, port}
}

function badSpec(spec: string) {
  return new IotctlError(`"${spec}" is not a socket port; expected socket://HOST:PORT`, {
    code: 'USAGE',
    exit: ExitCode.USAGE,
    suggestions: ['Example: --port socket://127.0.0.1:3333'],
  })
}

export interface TcpSerialPortOptions {
  connectTimeoutMs?: number
}

/**
 * A serial line carried over TCP, as esptool's socket:// and QEMU's `-serial tcp:` use.
 * There are no modem lines (signals are no-ops) and no baud rate (setBaudRate is a no-op).
 */
export class TcpSerialPort implements WebSerialLike {
  readonly kind = 'tcp' as const
  readonly signalsWork = false
  readable: ReadableStream<Uint8Array> | null = null
  writable: WritableStream<Uint8Array> | null = null
  lostReason?: string
  readonly address: SocketAddress
  private socket?: Socket
  private reader?: ChunkReadable

  constructor(
    readonly spec: string,
    private readonly options: TcpSerialPortOptions = {},
  ) {
    this.address = parseSocketSpec(spec)
  }

  get isOpen(): boolean {
    return this.socket !== undefined && !this.socket.destroyed
  }

  getInfo(): SerialPortInfoNumbers {
    return {}
  }

  async open(_options: SerialOpenOptions): Promise<void> {
    if (this.isOpen) throw new Error(`${this.spec} is already open`)
    const socket = await this.connectSocket()
    this.socket = socket
    this.lostReason = undefined
    const lost = (reason: string) => {
      this.lostReason ??= reason
      return deviceLostError(reason)
    }
    this.reader = chunkReadable((sink) => {
      const onData = (chunk: Buffer) => sink.data(chunk)
      const onEnd = () => sink.error(lost(`${this.spec} closed the connection`))
      const onError = (error: Error) => sink.error(lost(`${this.spec}: ${error.message}`))
      socket.on('data', onData)
      socket.on('end', onEnd)
      socket.on('close', onEnd)
      socket.on('error', onError)
      return () => {
        socket.removeListener('data', onData)
        socket.removeListener('end', onEnd)
        socket.removeListener('close', onEnd)
        socket.removeListener('error', onError)
      }
    })
    this.readable = this.reader.stream
    this.writable = chunkWritable(
      (chunk) =>
        new Promise<void>((resolve, reject) => {
          if (socket.destroyed || !socket.writable) {
            reject(lost(`${this.spec} closed the connection`))
            return
          }
          socket.write(chunk, (error) => (error ? reject(lost(`${this.spec}: ${error.message}`)) : resolve()))
        }),
    )
  }

  private connectSocket(): Promise<Socket> {
    const {host, port} = this.address
    const timeoutMs = this.options.connectTimeoutMs ?? 5000
    return new Promise((resolve, reject) => {
      const socket = connect({host, port})
      socket.setNoDelay(true)
      const timer = setTimeout(() => {
        socket.destroy()
        reject(
          new IotctlError(`no answer from ${this.spec} within ${timeoutMs} ms`, {code: 'PORT_TIMEOUT', exit: ExitCode.DEVICE}),
        )
      }, timeoutMs)
      socket.once('connect', () => {
        clearTimeout(timer)
        socket.removeAllListeners('error')
        // errors after connect surface through the streams
        socket.on('error', () => {})
        resolve(socket)
      })
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer)
        reject(
          new IotctlError(`cannot connect to ${this.spec}: ${error.code ?? error.message}`, {
            code: 'PORT_UNREACHABLE',
            exit: ExitCode.DEVICE,
            cause: error,
            suggestions: ['Is the virtual board running? Start one with: iotctl emulate --chip esp32'],
          }),
        )
      })
    })
  }

  async close(): Promise<void> {
    const socket = this.socket
    this.reader?.end()
    this.reader = undefined
    this.readable = null
    this.writable = null
    this.socket = undefined
    if (!socket || socket.destroyed) return
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve())
      socket.end()
      // a peer that never closes its side must not hold us up
      setTimeout(() => socket.destroy(), 200).unref()
    })
  }

  async setSignals(_signals: SerialSignals): Promise<void> {}

  async setBaudRate(_baudRate: number): Promise<void> {}
}
