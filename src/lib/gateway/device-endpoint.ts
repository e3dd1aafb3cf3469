import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import {IotctlError, ExitCode} from '../console/errors.js'
import {parseReading, type Reading} from './reading.js'

/** Sensor readings are under 200 bytes; anything far larger is not a reading. */
const MAX_READING_BYTES = 4096

export interface DeviceEndpointOptions {
  host: string
  port: number
  onReading: (reading: Reading) => void
  onMalformed: (reason: string) => void
  /** true while the gateway cannot take more (spool writes far behind): answer 503 */
  busy?: () => boolean
}

function answer(res: ServerResponse, status: number, text = ''): void {
  res.writeHead(status, {'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text)})
  res.end(text)
}

/**
 * The gateway's sensor-facing side: `POST /device` with one JSON reading, answered 200 at once
 * (before the reading is batched or spooled, as the ESP gateway does). Malformed bodies get 400.
 */
export class DeviceEndpoint {
  private server?: Server

  constructor(private readonly options: DeviceEndpointOptions) {}

  async listen(): Promise<{host: string; port: number}> {
    const server = createServer({keepAliveTimeout: 30_000}, (req, res) => this.handle(req, res))
    this.server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        reject(
          error.code === 'EADDRINUSE'
            ? new IotctlError(`Something already listens on ${this.options.host}:${this.options.port}`, {code: 'ADDRESS_IN_USE', exit: ExitCode.CONFLICT, suggestions: ['Pick another --listen port']})
            : error,
        )
      })
      server.listen(this.options.port, this.options.host, () => resolve())
    })
    const address = server.address() as AddressInfo
    return {host: address.address, port: address.port}
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0]
    if (path !== '/device') return answer(res, 404, 'not found\n')
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST')
      return answer(res, 405, 'POST only\n')
    }
    const chunks: Buffer[] = []
    let size = 0
    let tooLarge = false
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_READING_BYTES) tooLarge = true
      else chunks.push(chunk)
    })
    req.on('end', () => {
      if (tooLarge) {
        this.options.onMalformed(`body larger than ${MAX_READING_BYTES} bytes`)
        return answer(res, 413, 'reading too large\n')
      }
      const parsed = parseReading(Buffer.concat(chunks).toString('utf8'))
      if (!parsed.ok) {
        this.options.onMalformed(parsed.reason)
        return answer(res, 400, parsed.reason + '\n')
      }
      if (this.options.busy?.()) {
        res.setHeader('retry-after', '1')
        return answer(res, 503, 'gateway busy: the spool is behind\n')
      }
      answer(res, 200)
      this.options.onReading(parsed.reading)
    })
  }

  /** Stop accepting; open keep-alive connections are closed. */
  async close(): Promise<void> {
    const server = this.server
    if (!server) return
    this.server = undefined
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeIdleConnections()
      setTimeout(() => server.closeAllConnections(), 1000).unref()
    })
  }
}
