import {ExitCode, IotctlError} from '../console/errors.js'
import {backoffDelay} from '../http/backoff.js'
import {compileTypeModel, type TypeModel} from './models.js'
import {Rng} from './prng.js'
import {VirtualDevice} from './virtual-device.js'
import type {FleetExtension} from './fleet-extension.js'
import {deviceTopics} from '../schemes/index.js'
import type {DeviceTopics, Qos, Scheme} from '../schemes/types.js'
import type {DeviceCredentials} from '../pki/credentials.js'
import type {TemplateDefinition} from '../templates/types.js'
import {TimeHeap} from './heap.js'
import {RunStats, summarize, type RunSummary} from './stats.js'
import type {ChannelHandler, DeviceChannel, OutboundMessage, Transport} from '../transport/transport.js'

export interface FleetDevice {
  id: string
  type: string
  mac?: string
  /** mutual TLS identity */
  credentials?: DeviceCredentials
  /** topics as provisioned (a flashed board); default: the scheme's */
  topics?: DeviceTopics
  /** seconds between samples for this device (a board's NVS interval); default: the run's or the template's */
  intervalSeconds?: number
}

/** The fleet's devices by index; arrays qualify. `types` lets a lazy plan name its types up front. */
export interface FleetDeviceSource {
  readonly length: number
  at(index: number): FleetDevice | undefined
  readonly types?: readonly string[]
}

export type FleetEvent =
  | {event: 'connected'; device: string; reconnect: boolean}
  | {event: 'disconnected'; device: string; error?: string}
  | {event: 'all-connected'; devices: number; seconds: number}
  | {event: 'command'; device: string; command: string; ok: boolean; error?: string}
  | {event: 'published'; device: string; topic: string; payload: string}
  | {event: 'stopping'; reason: StopReason}

export type StopReason = 'duration' | 'messages' | 'interrupted' | 'stopped' | 'failed'

export interface FleetOptions {
  transport: Transport
  scheme: Scheme
  /** device type → template (models and commands) */
  templates: ReadonlyMap<string, Pick<TemplateDefinition, 'telemetry' | 'commands'>>
  /** an array, or a plan that derives device i on demand (a device's state exists once it is started) */
  devices: FleetDeviceSource
  /** ms between samples for every device (overrides templates); 0 = as fast as each connection drains */
  intervalMs?: number
  /** ± share of the interval, 0..1 */
  jitter?: number
  qos: Qos
  durationMs?: number
  /** stop after this many messages in total */
  maxMessages?: number
  /** connects in flight at once (default 100) */
  connectWindow?: number
  /** new connections per second (default: unpaced beyond the window) */
  connectRate?: number
  /** makes values reproducible */
  seed?: string
  /** telemetry topic template override ({id}, {type}) */
  telemetryTopic?: string
  /** MQTT clean session (default true) */
  clean?: boolean
  /** wait this long for outstanding confirmations when stopping (default 5 s), again while answers keep coming */
  drainTimeoutMs?: number
  /** …but no longer than this in all (default 30 s) */
  drainMaxMs?: number
  reconnectMinMs?: number
  /** keep retrying when nothing could connect at all (default: give up with the first error) */
  retryFirstConnect?: boolean
  reconnectMaxMs?: number
  /** report every publish as an event (a single board's console; off for fleets) */
  tracePublishes?: boolean
  signal?: AbortSignal
  onEvent?: (event: FleetEvent) => void
  /** more topics and behaviour per device (OTA jobs) */
  extension?: FleetExtension
}

export interface FleetSnapshot {
  devices: number
  connected: number
  connecting: number
  sent: number
  acked: number
  failed: number
  skipped: number
  errors: number
  reconnects: number
  ratePerSecond: number
  p50?: number
  p99?: number
  /** answers by code so far (HTTP '2xx'/'4xx'/'5xx', CoAP '2.04' …; MQTT 'acked') */
  codes: Record<string, number>
  /** HTTP retries and CoAP retransmissions so far */
  retries: number
  lastError?: string
}

const READY = 1
const EVER = 2
const SCHEDULED = 4
const PENDING = 8
/** a connect of this device failed, and it has not connected since */
const FAILING = 16

/**
 * Runs N virtual devices against one transport from ONE scheduler: a heap of due times and a
 * single timer (plus a 1 s sweeper for keepalives), connects paced through a window of pending
 * CONNECTs and an optional rate, reconnects with backoff, and a bounded wind-down that waits for
 * outstanding acknowledgements before disconnecting cleanly.
 */
export class Fleet {
  readonly stats = new RunStats()
  /** started devices only, in index order: a device's state is built when it first connects */
  private readonly devices: VirtualDevice[] = []
  private readonly channels: DeviceChannel[] = []
  private readonly flags: number[] = []
  private readonly attempts: number[] = []
  private readonly intervals: number[] = []
  private readonly size: number
  private readonly models = new Map<string, TypeModel>()
  private readonly seed: string
  private readonly bootedAt = Date.now()
  private readonly floorMs: number
  private readonly samples = new TimeHeap(1024)
  private readonly retries = new TimeHeap(64)
  private readonly queue: number[] = []
  private queueHead = 0
  /** the next device never started: devices start in index order, retries go to `queue` */
  private nextNew = 0
  /**
   * Connects started in this turn of the event loop, since when: transports that answer in a
   * microtask (HTTP, CoAP) would otherwise start a whole fleet without ever letting timers
   * (--duration) and signals in; after 100 ms of starting, the rest waits for the next turn.
   */
  private startedThisTurn = 0
  private turnStartedAt = 0
  private pumpLater?: NodeJS.Immediate
  private pending = 0
  private outstanding = 0
  private everConnected = 0
  /** devices whose connects failed and that have not connected once since */
  private failingDevices = 0
  private firstFailures = 0
  private firstError?: Error
  private timer?: NodeJS.Timeout
  private timerAt = Infinity
  private sweeper?: NodeJS.Timeout
  private maxLoop?: NodeJS.Immediate
  private cursor = 0
  private tokens = 0
  private lastRefill = 0
  private deadline = Infinity
  private stopping = false
  private stopReason?: StopReason
  private resolveStop?: () => void
  private drained?: () => void
  private readonly message: OutboundMessage = {topic: '', payload: '', qos: 0}
  private readonly handler: ChannelHandler<number>
  private readonly options: FleetOptions
  private readonly window: number
  private readonly telemetryQos: Qos
  private readonly maxPayload: number

  constructor(options: FleetOptions) {
    this.options = options
    const n = options.devices.length
    this.size = n
    this.window = Math.max(1, options.connectWindow ?? 100)
    this.telemetryQos = options.scheme.telemetryQos(options.qos)
    this.maxPayload = options.scheme.limits.maxPayloadBytes ?? Infinity
    this.stats.devices = n
    // a scheme's publish cap (AWS IoT: 100/s per connection) bounds the interval
    this.floorMs = options.scheme.limits.maxPublishesPerSecond ? 1000 / options.scheme.limits.maxPublishesPerSecond : 0
    this.seed = options.seed ?? `${Math.random()}`
    this.handler = this.makeHandler()
    // every type needs its template before the first connect, not when its first device comes up
    const types = options.devices.types ?? (Array.isArray(options.devices) ? [...new Set((options.devices as FleetDevice[]).map((d) => d.type))] : [])
    for (const type of types) this.model(type)
  }

  private model(type: string): TypeModel {
    let model = this.models.get(type)
    if (model) return model
    const template = this.options.templates.get(type)
    if (!template) throw new IotctlError(`No template for device type "${type}"`, {code: 'TEMPLATE_NOT_FOUND', exit: ExitCode.NOT_FOUND})
    this.models.set(type, (model = compileTypeModel(type, template)))
    return model
  }

  /** Build device i's state and channel: the next device never started (indices start in order). */
  private materialize(index: number): void {
    const options = this.options
    const spec = options.devices.at(index)!
    const model = this.model(spec.type)
    const template = options.templates.get(spec.type)!
    const ref = {id: spec.id, type: spec.type, mac: spec.mac}
    const topics = spec.topics ?? deviceTopics(options.scheme, ref, options.telemetryTopic)
    this.devices.push(new VirtualDevice({device: ref, model, template, scheme: options.scheme, topics, rng: Rng.from(`${this.seed}:${spec.id}`), bootedAt: this.bootedAt}))
    const interval = options.intervalMs ?? (spec.intervalSeconds ?? model.intervalSeconds) * 1000
    this.intervals.push(Math.max(interval, this.floorMs))
    this.flags.push(0)
    this.attempts.push(0)
    const status = topics.status && options.scheme.statusPayload
    this.channels.push(
      options.transport.channel(
        {
          device: ref,
          clientId: spec.id,
          credentials: spec.credentials,
          clean: options.clean ?? true,
          subscriptions: [...(topics.command ? [{topic: topics.command, qos: options.scheme.commandQos}] : []), ...(options.extension?.subscriptions(index) ?? [])],
          will: status ? {topic: topics.status!, payload: options.scheme.statusPayload!(ref, false, undefined, 'connection lost'), qos: 1, retain: true} : undefined,
        },
        this.handler,
        index,
      ),
    )
  }

  /** Live numbers for a status line. */
  snapshot(): FleetSnapshot {
    const s = this.stats
    return {
      devices: s.devices,
      connected: s.connected,
      connecting: this.pending,
      sent: s.sent,
      acked: s.acked,
      failed: s.failed,
      skipped: s.skipped,
      errors: s.errors + s.connectFailures,
      reconnects: s.reconnects,
      ratePerSecond: s.sendRate.perSecond(),
      p50: s.latency.quantile(0.5),
      p99: s.latency.quantile(0.99),
      codes: s.codes,
      retries: s.retries,
      lastError: s.lastError,
    }
  }

  /** The devices' current state, for the virtual board's console and tests. */
  device(index: number): VirtualDevice {
    return this.devices[index]
  }

  /** Connect everything, publish until a stop condition, wind down; resolves with the summary. */
  async run(): Promise<RunSummary> {
    const {signal} = this.options
    if (signal?.aborted) this.stopReason = 'interrupted'
    const stopped = new Promise<void>((resolve) => (this.resolveStop = resolve))
    const onAbort = () => this.stop('interrupted')
    signal?.addEventListener('abort', onAbort, {once: true})
    try {
      if (!this.stopReason) {
        const now = performance.now()
        this.stats.connectStartedAt = now
        this.lastRefill = now
        this.tokens = Math.min(this.window, this.options.connectRate ?? Infinity)
        if (this.options.durationMs !== undefined) this.deadline = now + this.options.durationMs
        this.sweeper = setInterval(() => this.sweep(), 1000)
        this.pump()
        this.arm()
        if (this.asFastAsPossible) this.maxLoop = setImmediate(() => this.publishAsFastAsPossible())
        await stopped
      }
      await this.windDown()
    } finally {
      this.stats.neverConnected = this.size - this.everConnected
      this.stats.failedToConnect = this.failingDevices
      this.stats.notStarted = this.size - this.nextNew
      signal?.removeEventListener('abort', onAbort)
      this.clearTimers()
    }
    if (this.stopReason === 'failed' && this.firstError) throw this.firstError
    return summarize(this.stats, {qos: this.telemetryQos, interrupted: this.stopReason === 'interrupted'})
  }

  /** Stop publishing and wind down (run() then resolves). */
  stop(reason: StopReason = 'stopped'): void {
    if (this.stopping) return
    this.stopping = true
    this.stopReason = reason
    this.stats.stoppedAt = performance.now()
    this.options.onEvent?.({event: 'stopping', reason})
    this.resolveStop?.()
  }

  // ------------------------------------------------------------------ connection events

  private makeHandler(): ChannelHandler<number> {
    return {
      ready: (i) => this.onReady(i),
      down: (i, error) => this.onDown(i, error),
      settled: (_i, token, outcome) => {
        if (token === 0) return
        this.outstanding--
        this.stats.settle(outcome, token)
        if (this.outstanding === 0) this.drained?.()
      },
      message: (i, topic, payload) => {
        if (topic === this.devices[i].topics.command) void this.onCommand(i, payload)
        else this.options.extension?.message(i, topic, payload, this.publisher(i))
      },
    }
  }

  private onReady(i: number): void {
    const s = this.stats
    const flags = this.flags[i]
    if (flags & PENDING) this.pending--
    this.flags[i] = (flags & ~PENDING) | READY
    this.attempts[i] = 0
    s.connected++
    const device = this.devices[i]
    const reconnect = (flags & EVER) !== 0
    const status = device.topics.status
    if (status && this.options.scheme.statusPayload) {
      this.channels[i].send({topic: status, payload: this.options.scheme.statusPayload(device.ref, true, Date.now()), qos: 1, retain: true})
    }
    this.options.onEvent?.({event: 'connected', device: device.id, reconnect})
    this.options.extension?.connected?.(i, this.publisher(i))
    if (reconnect) s.reconnects++
    else {
      if (flags & FAILING) this.failingDevices--
      this.flags[i] = (this.flags[i] & ~FAILING) | EVER
      if (++this.everConnected === this.size) {
        s.allConnectedAt = performance.now()
        this.options.onEvent?.({event: 'all-connected', devices: this.size, seconds: (s.allConnectedAt - s.connectStartedAt!) / 1000})
      }
    }
    if (!this.stopping && !(this.flags[i] & SCHEDULED) && device.topics.telemetry && !this.asFastAsPossible) {
      this.flags[i] |= SCHEDULED
      // spread first samples over one interval, so a fleet does not publish in lockstep
      this.samples.push(performance.now() + Math.random() * Math.min(this.intervals[i], 1000 + this.intervals[i] / 10), i)
      this.arm()
    }
    this.pump()
  }

  /**
   * --interval 0: every connection publishes as fast as its socket drains — unless the scheme caps
   * the rate (AWS IoT: 100/s a connection), where the scheduler runs at that cap instead.
   */
  private get asFastAsPossible(): boolean {
    return this.options.intervalMs === 0 && !this.options.scheme.limits.maxPublishesPerSecond
  }

  private onDown(i: number, error: Error | undefined): void {
    const s = this.stats
    const flags = this.flags[i]
    if (error) s.lastError = error.message
    // refused credentials (HTTP 401/403 after a request, MQTT CONNACK 4/5) and an untrusted server
    // certificate will not fix themselves: the run fails with that error, even when it comes while winding down
    if (error instanceof IotctlError && (error.exit === ExitCode.AUTH || error.exit === ExitCode.VERIFY) && !this.options.retryFirstConnect && this.stopReason !== 'failed') {
      this.firstError = error
      if (!this.stopping) this.stop('failed')
      else if (this.stopReason !== 'interrupted') this.stopReason = 'failed'
    }
    if (flags & READY) {
      s.connected--
      this.options.onEvent?.({event: 'disconnected', device: this.devices[i].id, error: error?.message})
    }
    let failing = 0
    if (flags & PENDING) {
      this.pending--
      s.connectFailures++
      if (!(flags & EVER)) {
        this.noteFirstFailure(error)
        if (!(flags & FAILING)) this.failingDevices++
        failing = FAILING
      }
    }
    this.flags[i] = (flags & ~(READY | PENDING)) | failing
    if (this.stopping) {
      if (this.outstanding === 0) this.drained?.()
      return
    }
    // one counter per device in a typed array (not a Backoff object each: 10,000 devices)
    const attempt = Math.min(this.attempts[i]++, 10) + 1
    const delay = backoffDelay(attempt, {baseMs: this.options.reconnectMinMs ?? 1000, maxMs: this.options.reconnectMaxMs ?? 30_000})
    this.retries.push(performance.now() + delay, i)
    this.arm()
    this.pump()
  }

  /** Nothing has ever connected and every first attempt failed: give up with the first reason. */
  private noteFirstFailure(error: Error | undefined): void {
    this.firstError ??= error
    this.firstFailures++
    if (this.options.retryFirstConnect) return
    const auth = error instanceof IotctlError && (error.exit === ExitCode.AUTH || error.exit === ExitCode.VERIFY)
    if (this.everConnected === 0 && (auth || this.firstFailures >= Math.min(this.size, this.window))) {
      this.firstError = error ?? new IotctlError('No device could connect', {code: 'MQTT_CONNECT_FAILED', exit: ExitCode.NETWORK})
      this.stop('failed')
    }
  }

  private async onCommand(i: number, payload: Buffer): Promise<void> {
    const device = this.devices[i]
    const command = device.parseCommand(payload)
    if (!command) return
    this.stats.commands++
    const result = await device.execute(command)
    this.options.onEvent?.({event: 'command', device: device.id, command: command.name, ok: result.ok, error: result.error})
    const response = device.topics.response && device.respond(command, result)
    if (!response) return
    if (this.channels[i].send({topic: device.topics.response!, payload: response, qos: this.options.scheme.responseQos(this.options.qos)})) this.stats.responses++
  }

  /** QoS 1 retained publishes from device `i` (the extension's status reports). */
  private publisher(i: number): (topic: string, payload: string) => boolean {
    return (topic, payload) => this.channels[i].send({topic, payload, qos: 1, retain: true})
  }

  // ------------------------------------------------------------------ pacing and scheduling

  /** Start connects while the window and the rate allow: new devices first, then reconnects that are due. */
  private pump(): void {
    if (this.stopping) return
    const rate = this.options.connectRate
    if (rate) {
      const now = performance.now()
      this.tokens = Math.min(this.window, this.tokens + ((now - this.lastRefill) / 1000) * rate)
      this.lastRefill = now
    }
    while (this.pending < this.window && this.waiting()) {
      if (rate && this.tokens < 1) {
        this.arm()
        return
      }
      if (this.startedThisTurn > 0 && performance.now() - this.turnStartedAt > 100) {
        // yield to timers (--duration), signals and I/O before starting more
        this.pumpLater ??= setImmediate(() => {
          this.pumpLater = undefined
          this.startedThisTurn = 0
          this.pump()
        })
        return
      }
      if (this.startedThisTurn++ === 0) {
        this.turnStartedAt = performance.now()
        setImmediate(() => (this.startedThisTurn = 0))
      }
      if (rate) this.tokens--
      let i: number
      if (this.nextNew < this.size) this.materialize((i = this.nextNew++))
      else i = this.queue[this.queueHead++]
      this.flags[i] |= PENDING
      this.pending++
      this.channels[i].connect()
    }
    if (this.queueHead === this.queue.length && this.queueHead > 0) {
      this.queue.length = 0
      this.queueHead = 0
    }
  }

  /** devices waiting for a connect: never started, or due to reconnect */
  private waiting(): boolean {
    return this.nextNew < this.size || this.queueHead < this.queue.length
  }

  private nextWake(): number {
    let wake = Math.min(this.samples.peekTime(), this.retries.peekTime(), this.deadline)
    if (this.options.connectRate && this.waiting()) wake = Math.min(wake, this.lastRefill + 1000 / this.options.connectRate)
    return wake
  }

  /** Keep the one timer set for the earliest thing due. */
  private arm(): void {
    if (this.stopping) return
    const wake = this.nextWake()
    if (wake === Infinity || wake >= this.timerAt - 0.5) return
    if (this.timer) clearTimeout(this.timer)
    this.timerAt = wake
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, wake - performance.now()))
  }

  private onTimer(): void {
    this.timer = undefined
    this.timerAt = Infinity
    const now = performance.now()
    if (now >= this.deadline) {
      this.stop('duration')
      return
    }
    while (this.retries.peekTime() <= now) this.queue.push(this.retries.pop())
    this.pump()
    const horizon = now + 1
    while (!this.stopping && this.samples.peekTime() <= horizon) {
      const due = this.samples.peekTime()
      const i = this.samples.pop()
      this.publishSample(i)
      const interval = this.intervals[i]
      const jitter = this.options.jitter ?? 0
      let next = due + interval * (jitter ? 1 + jitter * (Math.random() * 2 - 1) : 1)
      // after a stall, do not burst to catch up by more than one interval
      if (next < now - interval) next = now + interval * Math.random()
      this.samples.push(next, i)
    }
    this.arm()
  }

  /**
   * `--interval 0`: every connection publishes whenever its socket drains, in rounds. Each device
   * sends a burst per round, so its writes leave in one writev instead of one syscall each.
   */
  private publishAsFastAsPossible(): void {
    this.maxLoop = undefined
    if (this.stopping) return
    const n = this.devices.length
    let budget = 16_384
    let idle = 0
    while (budget > 0 && idle < n && !this.stopping) {
      const i = this.cursor
      this.cursor = (this.cursor + 1) % n
      const channel = this.channels[i]
      if (!channel.writable || !this.devices[i].topics.telemetry) {
        idle++
        continue
      }
      idle = 0
      for (let burst = 0; burst < 32 && channel.writable && !this.stopping; burst++) {
        this.publishSample(i)
        budget--
      }
    }
    if (!this.stopping) this.maxLoop = idle >= n ? (setTimeout(() => this.publishAsFastAsPossible(), 1) as unknown as NodeJS.Immediate) : setImmediate(() => this.publishAsFastAsPossible())
  }

  private publishSample(i: number): void {
    const s = this.stats
    const channel = this.channels[i]
    const device = this.devices[i]
    if (channel.state !== 'ready' || !channel.writable) {
      s.skipped++
      return
    }
    const payload = device.sample(Date.now())
    const bytes = Buffer.byteLength(payload)
    if (bytes > this.maxPayload) {
      s.errors++
      s.lastError = `${device.id}: a ${bytes}-byte payload exceeds the ${this.options.scheme.name} limit of ${this.maxPayload} bytes`
      return
    }
    const message = this.message
    message.topic = device.topics.telemetry!
    message.payload = payload
    message.qos = this.telemetryQos
    message.values = this.options.transport.kind === 'mqtt' ? undefined : device.valuesRecord()
    const now = performance.now()
    // HTTP and CoAP answer every request: their outcome is always awaited and counted
    const token = this.telemetryQos > 0 || this.options.transport.kind !== 'mqtt' ? now : undefined
    if (!channel.send(message, token)) {
      s.skipped++
      return
    }
    if (token !== undefined) this.outstanding++
    s.noteSent(bytes, now)
    if (this.options.tracePublishes) this.options.onEvent?.({event: 'published', device: device.id, topic: message.topic, payload})
    if (this.options.maxMessages !== undefined && s.sent >= this.options.maxMessages) this.stop('messages')
  }

  private sweep(): void {
    const now = Date.now()
    for (const channel of this.channels) channel.tick(now)
    if (!this.stopping && performance.now() >= this.deadline) this.stop('duration')
  }

  // ------------------------------------------------------------------ wind-down

  private clearTimers(): void {
    if (this.timer) clearTimeout(this.timer)
    if (this.sweeper) clearInterval(this.sweeper)
    if (this.pumpLater) clearImmediate(this.pumpLater)
    this.pumpLater = undefined
    if (this.maxLoop) {
      clearImmediate(this.maxLoop)
      clearTimeout(this.maxLoop as unknown as NodeJS.Timeout)
    }
    this.timer = this.sweeper = this.maxLoop = undefined
    this.timerAt = Infinity
  }

  private async windDown(): Promise<void> {
    this.stopping = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    // batches held back (CoAP sense pairs) go out now, so the wait below covers them too
    for (const channel of this.channels) channel.flush?.()
    // bounded wait for QoS ≥ 1 acknowledgements and CoAP/HTTP answers still on their way: each
    // window of drainTimeoutMs, extended while answers keep arriving (a slow listener working
    // through its backlog), up to drainMaxMs in all; what is still open then is counted unanswered
    const window = this.options.drainTimeoutMs ?? 5000
    const endBy = performance.now() + (this.options.drainMaxMs ?? 30_000)
    while (this.outstanding > 0 && performance.now() < endBy) {
      const before = this.outstanding
      await new Promise<void>((resolve) => {
        const timeout = setTimeout(resolve, Math.min(window, Math.max(0, endBy - performance.now())))
        this.drained = () => {
          clearTimeout(timeout)
          resolve()
        }
      })
      this.drained = undefined
      if (this.outstanding >= before) break // no progress in a whole window
    }
    if (this.sweeper) clearInterval(this.sweeper)
    this.sweeper = undefined
    const scheme = this.options.scheme
    const now = Date.now()
    await Promise.all(
      this.channels.map((channel, i) => {
        const status = this.devices[i].topics.status
        if (status && scheme.statusPayload && channel.state === 'ready') {
          channel.send({topic: status, payload: scheme.statusPayload(this.devices[i].ref, false, now, 'stopped'), qos: 1, retain: true})
        }
        return channel.close(true)
      }),
    )
    this.stats.connected = 0
    await this.options.transport.close()
  }
}
