import {ExitCode, IotctlError, usageError} from '../console/errors.js'
import {encodeGatewayBatch, GATEWAY_BATCH_SIZE} from '../schemes/esp-gateway.js'
import {findScheme, type Scheme} from '../schemes/index.js'
import type {ChannelHandler, ChannelOptions, ChannelState, DeviceChannel, OutboundMessage, SendOutcome, Transport, TransportFactory} from './transport.js'
import {HttpClient, type HttpResponse} from '../http/client.js'
import {httpEndpoints, type HttpEndpoints} from '../http/endpoints.js'
import {IdleFlush} from './idle-flush.js'
import {httpStatusError} from '../http/errors.js'
import {normalizeMac} from '../registry/ids.js'
import {httpOptionsFromProfile} from '../http/profile.js'

/** A partial batch goes out this long after its first reading (checked from tick()). */
const BATCH_FLUSH_MS = 10_000
/** Keep-alive sockets for the fleet, and so requests in flight: beyond it channels report not writable. */
const FLEET_SOCKETS = 256

interface Pending {
  channel: HttpChannel<unknown>
  token?: number
}

/** Outcome of one HTTP answer for the summary: '2xx' | '4xx' | '5xx'. */
function outcomeOf(response: HttpResponse, method: string, secretHeaderNames?: string[]): SendOutcome & {latencyMs: number} {
  const ok = response.status >= 200 && response.status < 300
  return {
    ok,
    code: `${Math.floor(response.status / 100)}xx`,
    retries: response.attempts - 1,
    latencyMs: response.latencyMs,
    error: ok ? undefined : httpStatusError(method, response.url, response.status, response.body, {headerNames: secretHeaderNames}),
  }
}

/** refused credentials, or a server certificate we do not trust: neither fixes itself by retrying */
const isAuthError = (error?: Error) => error instanceof IotctlError && (error.exit === ExitCode.AUTH || error.exit === ExitCode.VERIFY)

class HttpTransport implements Transport {
  readonly kind = 'http'
  inFlight = 0
  private batch: {raw: string[]; pending: Pending[]; since: number} = {raw: [], pending: [], since: 0}
  private readonly idle = new IdleFlush()

  constructor(
    readonly client: HttpClient,
    readonly endpoints: HttpEndpoints,
    readonly scheme: Scheme | undefined,
    readonly perChannel: number,
    private readonly gatewayName: string | undefined,
    readonly secretHeaderNames: string[] | undefined,
  ) {}

  channel<Owner>(options: ChannelOptions, handler: ChannelHandler<Owner>, owner: Owner): DeviceChannel {
    return new HttpChannel(this, options, handler, owner)
  }

  /** POST one body and settle every message it carries. */
  post(path: string, body: string, carried: Pending[]): void {
    this.inFlight++
    this.client.send({path, body, contentType: 'application/json'}).then(
      (response) => {
        this.inFlight--
        const outcome = outcomeOf(response, 'POST', this.secretHeaderNames)
        // one request's retries are counted once, not once per reading it carried
        carried.forEach(({channel, token}, i) => channel.settle(token, i === 0 || !outcome.retries ? outcome : {...outcome, retries: 0}))
      },
      (error: Error) => {
        this.inFlight--
        for (const {channel, token} of carried) channel.settle(token, {ok: false, code: 'network', error})
      },
    )
  }

  /** esp-gateway to /telemetry: readings from every device share one gateway batch. */
  addToBatch(raw: string, pending: Pending, nowMs = Date.now()): void {
    if (this.batch.raw.length === 0) this.batch.since = nowMs
    this.batch.raw.push(raw)
    this.batch.pending.push(pending)
    this.idle.added(nowMs)
    if (this.batch.raw.length >= GATEWAY_BATCH_SIZE) this.flushBatch()
  }

  flushBatch(): void {
    if (this.batch.raw.length === 0) return
    const {raw, pending} = this.batch
    this.batch = {raw: [], pending: [], since: 0}
    this.post(this.endpoints.batchPath, encodeGatewayBatch(this.gatewayName!, raw), pending)
  }

  tick(nowMs: number): void {
    if (this.batch.raw.length > 0 && (nowMs - this.batch.since >= BATCH_FLUSH_MS || this.idle.due(nowMs))) this.flushBatch()
  }

  async close(): Promise<void> {
    this.flushBatch()
    const deadline = Date.now() + 5000
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    this.client.close()
  }
}

class HttpChannel<Owner> implements DeviceChannel {
  state: ChannelState = 'idle'
  inFlight = 0

  constructor(
    private readonly transport: HttpTransport,
    readonly options: ChannelOptions,
    private readonly handler: ChannelHandler<Owner>,
    private readonly owner: Owner,
  ) {}

  get writable(): boolean {
    return this.state === 'ready' && this.inFlight < this.transport.perChannel && this.transport.inFlight < FLEET_SOCKETS
  }

  /** HTTP has no session to open: the channel is ready at once (sockets are shared and kept alive). */
  connect(): void {
    if (this.state === 'closed') return
    this.state = 'ready'
    queueMicrotask(() => this.handler.ready(this.owner, false))
  }

  send(message: OutboundMessage, token?: number): boolean {
    if (!this.writable) return false
    const body = typeof message.payload === 'string' ? message.payload : message.payload.toString('utf8')
    const {endpoints, scheme} = this.transport
    const pending: Pending = {channel: this as HttpChannel<unknown>, token}
    this.inFlight++
    if (scheme?.isBatchPayload?.(body)) this.transport.post(endpoints.batchPath, body, [pending])
    else if (endpoints.mode === 'batch') this.transport.addToBatch(body, pending)
    else this.transport.post(endpoints.readingPath, body, [pending])
    return true
  }

  settle(token: number | undefined, outcome: SendOutcome): void {
    this.inFlight--
    if (token !== undefined) this.handler.settled(this.owner, token, outcome)
    if (isAuthError(outcome.error) && this.state === 'ready') {
      // a refused credential will not fix itself: report it as a failed connection
      this.state = 'idle'
      this.handler.down(this.owner, outcome.error)
    }
  }

  flush(): void {
    this.transport.flushBatch()
  }

  tick(nowMs: number): void {
    this.transport.tick(nowMs)
  }

  async close(graceful: boolean): Promise<void> {
    if (graceful) {
      this.transport.flushBatch()
      const deadline = Date.now() + 5000
      while (this.inFlight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    }
    this.state = 'closed'
  }
}

/**
 * simulate/replay over an `http` backend: one keep-alive client for the fleet, POSTs per the
 * scheme (see httpEndpoints), retries for network errors and 5xx only, outcomes '2xx'/'4xx'/'5xx'.
 */
export const createHttpTransport: TransportFactory = async (options) => {
  const clientOptions = await httpOptionsFromProfile(options.profile, {env: options.env, storedPassword: options.secret})
  const scheme = findScheme(options.scheme)
  const endpoints = httpEndpoints(scheme?.httpPaths, clientOptions.url)
  let gatewayName: string | undefined
  if (endpoints.mode === 'batch') {
    // the server matches MACs exactly (lowercase, colons): normalise what the profile holds
    gatewayName = options.profile.clientId && (normalizeMac(options.profile.clientId) ?? options.profile.clientId)
    if (!gatewayName) {
      throw usageError(`Backend ${options.profile.name} posts gateway batches to /telemetry, which need the gateway's MAC as their "name"`, [
        `Set it on the profile: iotctl backends add ${options.profile.name} --kind http --url ${options.profile.url} --scheme esp-gateway --client-id <gateway MAC> --force`,
        'Or point the profile at a gateway (iotctl gateway) so that readings go to /device',
      ])
    }
  }
  const client = new HttpClient({...clientOptions, url: endpoints.url, retries: 2, timeoutMs: options.connectTimeoutMs ?? 10_000, maxSockets: FLEET_SOCKETS})
  return new HttpTransport(client, endpoints, scheme, options.maxInFlight ?? 8, gatewayName, clientOptions.secretHeaderNames)
}
