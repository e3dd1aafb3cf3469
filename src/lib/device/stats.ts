import type {Histogram} from './histogram.js'
import {OutcomeTally} from './outcomes.js'

/** Counts a rate over the last few seconds (for live status lines). */
export class RateMeter {
  private readonly buckets = new Float64Array(5)
  private currentSecond = 0
  private firstSecond = -1

  add(n = 1, nowMs = performance.now()): void {
    this.roll(nowMs)
    if (this.firstSecond < 0) this.firstSecond = this.currentSecond
    this.buckets[this.currentSecond % this.buckets.length] += n
  }

  /** events per second over the last full seconds */
  perSecond(nowMs = performance.now()): number {
    this.roll(nowMs)
    if (this.firstSecond < 0) return 0
    // only full seconds since the first event count (no zeros from before the start)
    const seconds = Math.min(this.buckets.length - 1, this.currentSecond - this.firstSecond)
    if (seconds === 0) return this.buckets[this.currentSecond % this.buckets.length]
    let sum = 0
    for (let i = 1; i <= seconds; i++) sum += this.buckets[(this.currentSecond - i + this.buckets.length * 2) % this.buckets.length]
    return sum / seconds
  }

  private roll(nowMs: number): void {
    const second = Math.floor(nowMs / 1000)
    if (second === this.currentSecond) return
    const steps = Math.min(second - this.currentSecond, this.buckets.length)
    for (let i = 1; i <= steps; i++) this.buckets[(this.currentSecond + i) % this.buckets.length] = 0
    this.currentSecond = second
  }
}

/** Live counters of a simulate run (the outcomes of what it sent: OutcomeTally, shared with replay). */
export class RunStats extends OutcomeTally {
  devices = 0
  connected = 0
  /** successful connects after the first one of a device */
  reconnects = 0
  /** failed connect attempts (a device may fail several times) */
  connectFailures = 0
  /** devices that never connected once during the run (set at the end) */
  neverConnected = 0
  /** of those, devices whose connects failed (the rest were still connecting, or not started) */
  failedToConnect = 0
  /** of those, devices whose first connect had not even started when the run ended */
  notStarted = 0
  /** messages handed to the transport */
  sent = 0
  /** samples not sent: the device was offline or over its in-flight cap */
  skipped = 0
  /** payloads that broke a scheme limit, encode failures */
  errors = 0
  commands = 0
  responses = 0
  bytes = 0
  readonly sendRate = new RateMeter()
  readonly startedAt = performance.now()
  /** first connect attempt → every device connected once */
  connectStartedAt?: number
  allConnectedAt?: number
  firstSendAt?: number
  lastSendAt?: number
  /** when publishing stopped (end of --duration/--messages, Ctrl-C) */
  stoppedAt?: number

  noteSent(bytes: number, now: number): void {
    this.sent++
    this.bytes += bytes
    this.sendRate.add(1, now)
    this.firstSendAt ??= now
    this.lastSendAt = now
  }
}

export interface RunSummary {
  devices: number
  connected: number
  qos: number
  sent: number
  acked: number
  failed: number
  unanswered: number
  skipped: number
  errors: number
  reconnects: number
  retries: number
  connectFailures: number
  /** devices that never connected once (their connects failed, or the run ended before their turn) */
  neverConnected: number
  /** of those: connects failed (these fail the run), not started before the end (the rest were still connecting) */
  failedToConnect: number
  notStarted: number
  commands: number
  responses: number
  bytes: number
  seconds: number
  /** messages per second from the first send until publishing stopped */
  rate: number
  connect: {seconds?: number; perSecond?: number}
  latencyMs: ReturnType<Histogram['summary']>
  codes: Record<string, number>
  interrupted: boolean
  lastError?: string
}

export function summarize(stats: RunStats, extra: {qos: number; interrupted: boolean}): RunSummary {
  const now = performance.now()
  // until publishing stopped, not until the last send: 50 devices sending every 10 s for 10 s make 5 msg/s
  const sendSpan = stats.firstSendAt !== undefined && stats.lastSendAt !== undefined ? (Math.max(stats.stoppedAt ?? now, stats.lastSendAt) - stats.firstSendAt) / 1000 : 0
  const connectSeconds = stats.connectStartedAt !== undefined && stats.allConnectedAt !== undefined ? (stats.allConnectedAt - stats.connectStartedAt) / 1000 : undefined
  const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits
  return {
    devices: stats.devices,
    connected: stats.connected,
    qos: extra.qos,
    sent: stats.sent,
    acked: stats.acked,
    failed: stats.failed,
    unanswered: stats.unanswered,
    skipped: stats.skipped,
    errors: stats.errors,
    reconnects: stats.reconnects,
    retries: stats.retries,
    connectFailures: stats.connectFailures,
    neverConnected: stats.neverConnected,
    failedToConnect: stats.failedToConnect,
    notStarted: stats.notStarted,
    commands: stats.commands,
    responses: stats.responses,
    bytes: stats.bytes,
    seconds: round((now - stats.startedAt) / 1000),
    rate: sendSpan > 0 ? round(stats.sent / sendSpan, 1) : stats.sent,
    connect: {
      seconds: connectSeconds === undefined ? undefined : round(connectSeconds),
      perSecond: connectSeconds ? round(stats.devices / connectSeconds, 1) : undefined,
    },
    latencyMs: stats.latency.summary(),
    codes: {...stats.codes},
    interrupted: extra.interrupted,
    ...(stats.lastError ? {lastError: stats.lastError} : {}),
  }
}
