import {createSocket, type Socket} from 'node:dgram'
import type {Agent, OutgoingMessage, IncomingMessage} from 'coap'
import {IotctlError, ExitCode} from '../console/errors.js'

export interface CoapClientOptions {
  /** coap://host:port[/path] */
  url: string
  /** confirmable requests (retransmitted until acknowledged); default true */
  confirmable?: boolean
  /** give up on one request after this long, retransmissions included (ms) */
  timeoutMs?: number
  /** retransmissions of a confirmable request (library default 4) */
  maxRetransmit?: number
}

export interface CoapPostOptions {
  /** Uri-Path, default the URL's path */
  path?: string
  /** numeric or registered name, e.g. 'text/plain' (0) */
  contentFormat?: string | number
  signal?: AbortSignal
}

export interface CoapResponse {
  /** response code as "c.dd", e.g. "2.04" */
  code: string
  payload: Buffer
  /** how many times the request was sent again before the answer came */
  retransmissions: number
  latencyMs: number
}

/** True for a 2.xx success code. */
export const isCoapSuccess = (code: string) => code.startsWith('2.')

/**
 * A CoAP client for backends of kind `coap` (the `coap` package, loaded on first use). One UDP
 * socket serves every request; confirmable by default, and retransmissions are counted from the
 * library's send events.
 */
export class CoapClient {
  readonly url: URL
  private agent?: Agent
  private socket?: Socket
  private readonly live = new Set<(error: Error) => void>()
  private loading?: Promise<typeof import('coap')>
  private readonly options: CoapClientOptions

  constructor(options: CoapClientOptions) {
    this.options = options
    this.url = new URL(options.url)
    if (this.url.protocol !== 'coap:') throw new IotctlError(`Not a coap:// URL: ${options.url}`, {code: 'USAGE', exit: ExitCode.USAGE})
  }

  private async library(): Promise<typeof import('coap')> {
    this.loading ??= import('coap')
    const coap = await this.loading
    if (!this.agent) {
      // Our own socket: the agent then never closes it behind our back when idle (and never
      // re-creates it per burst); we close it in close().
      this.socket = createSocket(this.url.hostname.includes(':') ? 'udp6' : 'udp4')
      this.agent = new coap.Agent({socket: this.socket})
    }
    return coap
  }

  /** POST `payload`; resolves with any CoAP answer (check `code`), rejects on timeout or socket error. */
  async post(payload: string | Buffer, options: CoapPostOptions = {}): Promise<CoapResponse> {
    const coap = await this.library()
    const path = options.path ?? (this.url.pathname || '/')
    const started = performance.now()
    const timeoutMs = this.options.timeoutMs ?? 93_000
    return new Promise<CoapResponse>((resolve, reject) => {
      let retransmissions = -1
      let settled = false
      const finish = (fn: () => void) => {
        if (settled) return
        settled = true
        this.live.delete(giveUp)
        clearTimeout(timer)
        options.signal?.removeEventListener('abort', onAbort)
        fn()
      }
      const req: OutgoingMessage = coap.request({
        hostname: this.url.hostname.replace(/^\[|\]$/g, ''),
        port: this.url.port ? Number(this.url.port) : 5683,
        method: 'POST',
        pathname: path,
        confirmable: this.options.confirmable ?? true,
        retrySend: this.options.maxRetransmit,
        agent: this.agent,
        ...(options.contentFormat === undefined ? {} : {contentFormat: options.contentFormat}),
      })
      const sender = (req as unknown as {sender?: NodeJS.EventEmitter}).sender
      sender?.on('sending', () => {
        retransmissions++
      })
      const giveUp = (error: Error) => {
        try {
          this.agent?.abort(req)
        } catch {
          // already cleaned up
        }
        finish(() => reject(error))
      }
      const timer = setTimeout(() => {
        giveUp(
          new IotctlError(`CoAP POST ${this.describe(path)}: no answer within ${timeoutMs} ms (${Math.max(0, retransmissions)} retransmissions)`, {
            code: 'COAP_TIMEOUT',
            exit: ExitCode.NETWORK,
            suggestions: ['Is the CoAP listener running on that host and UDP port?'],
          }),
        )
      }, timeoutMs)
      this.live.add(giveUp)
      const onAbort = () => giveUp(options.signal!.reason as Error)
      options.signal?.addEventListener('abort', onAbort, {once: true})
      req.on('response', (res: IncomingMessage) => {
        finish(() => resolve({code: String(res.code), payload: res.payload, retransmissions: Math.max(0, retransmissions), latencyMs: performance.now() - started}))
      })
      req.on('timeout', (error: Error) => giveUp(coapNetworkError(this.describe(path), error)))
      req.on('error', (error: Error) => giveUp(coapNetworkError(this.describe(path), error)))
      req.end(payload)
    })
  }

  /** Like `post`, but an answer other than 2.xx is an IotctlError showing code and payload. */
  async request(payload: string | Buffer, options: CoapPostOptions = {}): Promise<CoapResponse> {
    const response = await this.post(payload, options)
    if (!isCoapSuccess(response.code)) throw coapStatusError(this.describe(options.path ?? this.url.pathname), response)
    return response
  }

  /** Abandon requests still waiting and close the socket. */
  async close(): Promise<void> {
    for (const giveUp of [...this.live]) giveUp(new IotctlError('CoAP client closed', {code: 'COAP_CLOSED', exit: ExitCode.NETWORK}))
    const socket = this.socket
    this.agent = undefined
    this.socket = undefined
    if (!socket) return
    await new Promise<void>((resolve) => {
      try {
        socket.close(() => resolve())
      } catch {
        resolve() // never bound: nothing was sent
      }
    })
  }

  private describe(path: string): string {
    return `coap://${this.url.host}${path.startsWith('/') ? path : `/${path}`}`
  }
}

function coapNetworkError(where: string, cause: Error): IotctlError {
  return new IotctlError(`CoAP POST ${where} failed: ${cause.message}`, {code: 'COAP_UNREACHABLE', exit: ExitCode.NETWORK, cause})
}

/** 4.01/4.03 → AUTH (9); any other non-2.xx → NETWORK (5) with code COAP_<class>_<detail>. */
export function coapStatusError(where: string, response: CoapResponse): IotctlError {
  const text = response.payload.toString('utf8').trim().slice(0, 500)
  const auth = response.code === '4.01' || response.code === '4.03'
  return new IotctlError(`CoAP POST ${where} answered ${response.code}${text ? `: ${text}` : ''}`, {
    code: `COAP_${response.code.replace('.', '_')}`,
    exit: auth ? ExitCode.AUTH : ExitCode.NETWORK,
    details: {code: response.code, payload: text},
  })
}
