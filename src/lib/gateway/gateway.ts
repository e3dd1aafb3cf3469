import type {BackoffOptions} from '../http/backoff.js'
import {HttpClient, type HttpClientOptions} from '../http/client.js'
import {pathEndsWith, trimTrailingSlash} from '../http/url.js'
import {Batcher, type FlushReason} from './batcher.js'
import {DeviceEndpoint} from './device-endpoint.js'
import {emptyStats, type GatewayEvent, type GatewayStats, type ReadingSourceName} from './events.js'
import {Forwarder} from './forwarder.js'
import {batchBody, checkReading, type Reading} from './reading.js'
import {Spool} from './spool.js'
import {OrderedSpoolWriter} from './spool-writer.js'

/**
 * Closed batches waiting for their spool write; beyond this, /device answers 503 (Retry-After)
 * instead of holding readings in memory that a crash would lose.
 */
const MAX_UNSPOOLED_BATCHES = 2000

/** Another way readings arrive (e.g. the broker's esp-gateway topics). */
export interface ReadingSource {
  name: ReadingSourceName
  /** start delivering; `push` takes a decoded JSON value, `reject` a reason for something unusable */
  start(push: (value: unknown) => void, reject: (reason: string) => void): Promise<void>
  stop(): Promise<void>
}

export interface GatewayOptions {
  /** the gateway's MAC as the server knows it (the batch "name") */
  name: string
  /** where sensors POST /device; port 0 picks a free one */
  listen?: {host: string; port: number}
  /** the server: URL (its /telemetry endpoint, or a base that gets /telemetry appended) and TLS/headers */
  server: HttpClientOptions
  /** the spool folder for this gateway */
  spoolDir: string
  batchSize?: number
  flushIntervalMs?: number
  /** batches in flight to the server (default 1, which keeps their order; more drains a backlog faster) */
  concurrency?: number
  /** pause after a failed send round */
  backoff?: BackoffOptions
  /** the backoff's jitter source (tests pin it) */
  random?: () => number
  sources?: ReadingSource[]
  onEvent?: (event: GatewayEvent) => void
}

export interface RunningGateway {
  /** where sensors POST, e.g. http://127.0.0.1:8080/device (undefined without `listen`) */
  url?: string
  stats: () => GatewayStats
  /** resolves once every spooled batch went out (or was refused); for tests and `--drain` */
  idle: () => Promise<void>
  /** stop: wait (bounded) for sends in flight, then write the current partial batch to the spool */
  stop: (options?: {graceMs?: number}) => Promise<GatewayStats>
}

/**
 * The ESP gateway in software: readings in (HTTP `POST /device`, optional other sources),
 * batches of `batchSize` out to the server's `/telemetry`, through a durable spool so that a
 * server outage or a restart loses nothing (at-least-once).
 */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const stats = emptyStats()
  const idleWaiters = new Set<() => void>()
  const emit = (event: GatewayEvent) => {
    switch (event.type) {
      case 'received':
        stats.received++
        break
      case 'malformed':
        stats.malformed++
        break
      case 'batched':
        stats.batched++
        break
      case 'sent':
        stats.sent++
        stats.sentReadings += event.readings
        break
      case 'failed':
        stats.failed++
        break
      case 'dead-letter':
        stats.deadLettered++
        break
      case 'spool-error':
        stats.lost += event.readings
        break
    }
    options.onEvent?.(event)
  }

  const spool = await Spool.open(options.spoolDir)
  const client = new HttpClient({retries: 1, backoff: {baseMs: 100, maxMs: 1000}, timeoutMs: 15_000, ...options.server, url: trimTrailingSlash(options.server.url)})
  const path = pathEndsWith(client.baseUrl, '/telemetry') ? '' : '/telemetry'
  const forwarder = new Forwarder({
    spool,
    client,
    path,
    concurrency: options.concurrency,
    backoff: options.backoff,
    random: options.random,
    onEvent: emit,
    onIdle: () => {
      for (const check of [...idleWaiters]) check()
    },
  })

  // Batches are written to the spool 16 at a time (fsync is the cost: ~2 ms each here; the file
  // system overlaps parallel ones, and they share the folder's fsync), and handed to the
  // forwarder in the order they closed.
  const writer = new OrderedSpoolWriter(spool, 16, (id, body, readings, reason) => {
    emit({type: 'batched', batch: id, readings, reason})
    forwarder.enqueue(id, body)
    emit({type: 'spooled', batch: id, readings, queued: forwarder.queued})
  }, (readings, error) => emit({type: 'spool-error', readings, error: error.message}))
  const closeBatch = (readings: Reading[], reason: FlushReason) => writer.write(batchBody(options.name, readings), readings.length, reason)
  const batcher = new Batcher({size: options.batchSize ?? 7, flushIntervalMs: options.flushIntervalMs ?? 10_000, onBatch: closeBatch})
  const accept = (source: ReadingSourceName) => (reading: Reading) => {
    emit({type: 'received', source, name: reading.name})
    batcher.add(reading)
  }

  const recovered = await spool.list()
  if (recovered.length > 0) emit({type: 'recovered', batches: recovered.length})
  forwarder.start(recovered)

  let endpoint: DeviceEndpoint | undefined
  let url: string | undefined
  try {
    if (options.listen) {
      endpoint = new DeviceEndpoint({
        ...options.listen,
        onReading: accept('http'),
        busy: () => writer.pending > MAX_UNSPOOLED_BATCHES,
        onMalformed: (reason) => emit({type: 'malformed', source: 'http', reason}),
      })
      const bound = await endpoint.listen()
      url = `http://${bound.host.includes(':') ? `[${bound.host}]` : bound.host}:${bound.port}/device`
      emit({type: 'listening', url})
    }
    for (const source of options.sources ?? []) {
      const take = accept(source.name)
      await source.start(
        (value) => {
          const checked = checkReading(value)
          if (checked.ok) take(checked.reading)
          else emit({type: 'malformed', source: source.name, reason: checked.reason})
        },
        (reason) => emit({type: 'malformed', source: source.name, reason}),
      )
    }
  } catch (error) {
    await endpoint?.close()
    for (const source of options.sources ?? []) await source.stop().catch(() => {})
    await forwarder.stop(0)
    client.close()
    await spool.release()
    throw error
  }

  const snapshot = () => ({...stats, queued: forwarder.queued + writer.pending})
  return {
    url,
    stats: snapshot,
    idle: () =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (batcher.pending === 0 && writer.pending === 0 && forwarder.queued === 0) {
            idleWaiters.delete(check)
            resolve()
          }
        }
        idleWaiters.add(check)
        check()
      }),
    stop: async ({graceMs = 3000} = {}) => {
      await endpoint?.close()
      for (const source of options.sources ?? []) await source.stop().catch(() => {})
      // The forwarder stops first, so the partial batch written next stays in the spool for the
      // next start instead of racing a send against the exit.
      await forwarder.stop(graceMs)
      batcher.flush('shutdown')
      await writer.idle()
      client.close()
      await spool.release()
      return snapshot()
    },
  }
}
