import {ExitCode, IotctlError} from '../console/errors.js'
import type {ChannelHandler, ChannelOptions, ChannelState, DeviceChannel, OutboundMessage, SendOutcome, Transport, TransportFactory} from './transport.js'
import {CoapClient, coapStatusError, isCoapSuccess} from '../coap/client.js'
import {IdleFlush} from './idle-flush.js'
import {findScheme} from '../schemes/index.js'
import {encodeSense} from '../schemes/sense-codec.js'

/**
 * Requests in flight across the fleet (one UDP socket); beyond it channels report not writable.
 * Measured on loopback: 1,024 in flight overran the listener (retransmissions, p99 in seconds);
 * 128 kept the same rate with no retransmissions (bench/coap-simulate.mjs).
 */
const FLEET_IN_FLIGHT = 128
const SENSE_PAYLOAD = /^(-?\d+,[01],)+$/
const ONE_PAIR = /^-?\d+,[01],$/
const TEMPERATURE_FIELDS = ['temperature', 'temp', 'celsius', 'temperature_C']

interface Carried {
  token?: number
}

/** The °C a message carries: its sampled values, else a JSON payload's temperature field. */
export function temperatureOf(message: Pick<OutboundMessage, 'values' | 'payload'>): number | undefined {
  const pick = (record: Readonly<Record<string, unknown>> | undefined) => {
    for (const field of TEMPERATURE_FIELDS) if (typeof record?.[field] === 'number') return record[field] as number
    return undefined
  }
  const fromValues = pick(message.values)
  if (fromValues !== undefined) return fromValues
  try {
    const parsed = JSON.parse(message.payload.toString()) as Record<string, unknown>
    return pick(parsed) ?? pick(parsed.fields as Record<string, unknown> | undefined)
  } catch {
    return undefined
  }
}

class CoapTransport implements Transport {
  readonly kind = 'coap'
  inFlight = 0

  constructor(
    readonly client: CoapClient,
    readonly scheme: string,
    readonly path: string,
    readonly perChannel: number,
    /** the scheme's samples per POST (sense); undefined: each payload is one POST */
    readonly samplesPerPost: number | undefined,
  ) {}

  channel<Owner>(options: ChannelOptions, handler: ChannelHandler<Owner>, owner: Owner): DeviceChannel {
    return new CoapChannel(this, options, handler, owner)
  }

  post(payload: string | Buffer, contentFormat: string, settle: (outcome: SendOutcome & {latencyMs?: number}) => void): void {
    this.inFlight++
    this.client.post(payload, {path: this.path, contentFormat}).then(
      (response) => {
        this.inFlight--
        const ok = isCoapSuccess(response.code)
        settle({
          ok,
          code: response.code,
          retries: response.retransmissions,
          latencyMs: response.latencyMs,
          error: ok ? undefined : coapStatusError(`coap://${this.client.url.host}${this.path}`, response),
        })
      },
      (error: IotctlError) => {
        this.inFlight--
        // still open when the run closed the client: not failed, the listener may yet store it
        settle({ok: false, code: error.code === 'COAP_TIMEOUT' ? 'timeout' : error.code === 'COAP_CLOSED' ? 'unanswered' : 'error', error})
      },
    )
  }

  async close(): Promise<void> {
    const deadline = Date.now() + 5000
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    await this.client.close()
  }
}

class CoapChannel<Owner> implements DeviceChannel {
  state: ChannelState = 'idle'
  inFlight = 0
  /** sense: pairs waiting for the 10th, and the tokens to settle when their POST is answered */
  private pairs = ''
  private carried: Carried[] = []
  /** the topic (device) of the pairs collected so far */
  private pairsTopic = ''
  private readonly idle = new IdleFlush()

  constructor(
    private readonly transport: CoapTransport,
    readonly options: ChannelOptions,
    private readonly handler: ChannelHandler<Owner>,
    private readonly owner: Owner,
  ) {}

  get writable(): boolean {
    return this.state === 'ready' && this.inFlight < this.transport.perChannel && this.transport.inFlight < FLEET_IN_FLIGHT
  }

  /** UDP has no session: ready at once. */
  connect(): void {
    if (this.state === 'closed') return
    this.state = 'ready'
    queueMicrotask(() => this.handler.ready(this.owner, false))
  }

  send(message: OutboundMessage, token?: number): boolean {
    if (!this.writable) return false
    const perPost = this.transport.samplesPerPost
    if (perPost === undefined) {
      // another scheme over CoAP: each payload is one POST as it is
      const format = /^\s*[[{]/.test(message.payload.toString()) ? 'application/json' : 'text/plain'
      return this.postAlone(message.payload, format, token)
    }
    const text = message.payload.toString('latin1')
    if (SENSE_PAYLOAD.test(text) && !ONE_PAIR.test(text)) return this.postAlone(text, 'text/plain', token) // a recorded request: as it was
    let pair = ONE_PAIR.test(text) ? text : undefined
    if (pair === undefined) {
      const celsius = temperatureOf(message)
      if (celsius === undefined) {
        if (token !== undefined) this.handler.settled(this.owner, token, {ok: false, code: 'skipped', error: new Error('the message has no temperature for the sense scheme')})
        return true
      }
      pair = encodeSense([celsius])
    }
    // samples of different devices never share a POST (replay runs every recorded device on one channel)
    if (this.carried.length > 0 && message.topic !== this.pairsTopic) this.flush()
    this.pairsTopic = message.topic
    this.inFlight++
    this.pairs += pair
    this.carried.push({token})
    this.idle.added(Date.now())
    if (this.carried.length >= perPost) this.flush()
    return true
  }

  private postAlone(payload: string | Buffer, format: string, token: number | undefined): boolean {
    this.inFlight++
    this.transport.post(payload, format, (outcome) => this.settle([{token}], outcome))
    return true
  }

  /** POST the samples collected so far as one `sense` body. */
  flush(): void {
    if (this.carried.length === 0) return
    const body = this.pairs
    const carried = this.carried
    this.pairs = ''
    this.carried = []
    this.transport.post(body, 'text/plain', (outcome) => this.settle(carried, outcome))
  }

  private settle(carried: Carried[], outcome: SendOutcome): void {
    this.inFlight -= carried.length
    // one request's retransmissions are counted once, not once per sample it carried
    carried.forEach(({token}, i) => {
      if (token !== undefined) this.handler.settled(this.owner, token, i === 0 || !outcome.retries ? outcome : {...outcome, retries: 0})
    })
    if (outcome.error instanceof IotctlError && outcome.error.exit === ExitCode.AUTH && this.state === 'ready') {
      this.state = 'idle'
      this.handler.down(this.owner, outcome.error)
    }
  }

  /** Retransmissions and timeouts are the CoAP client's; the tick only sends pairs a device stopped adding to. */
  tick(nowMs: number): void {
    if (this.carried.length > 0 && this.idle.due(nowMs)) this.flush()
  }

  async close(graceful: boolean): Promise<void> {
    if (graceful) {
      this.flush() // a partial batch of samples goes out rather than being lost
      const deadline = Date.now() + 5000
      while (this.inFlight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    }
    this.state = 'closed'
  }
}

/**
 * simulate/replay over a `coap` backend: confirmable POSTs on one shared UDP socket. Scheme
 * `sense`: each message is one `value,parity,` pair (the scheme's payload, or made from the
 * message's temperature) and every 10 pairs of a device go out as one text/plain POST to the
 * URL's path (default /temp); a replayed multi-pair payload goes out as it was. Outcomes are
 * the CoAP codes.
 */
export const createCoapTransport: TransportFactory = async (options) => {
  const url = new URL(options.profile.url)
  const coap = findScheme(options.scheme)?.coap
  const path = url.pathname && url.pathname !== '/' ? url.pathname : (coap?.path ?? '/')
  // RFC 7252 MAX_TRANSMIT_WAIT (93 s): the last of the 4 retransmissions still gets its answer
  const client = new CoapClient({url: options.profile.url, confirmable: true, timeoutMs: 93_000})
  return new CoapTransport(client, options.scheme, path, options.maxInFlight ?? (coap ? coap.samplesPerPost * 2 : 8), coap?.samplesPerPost)
}
