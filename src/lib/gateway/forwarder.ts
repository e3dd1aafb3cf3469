import {abortableSleep, backoffDelay, type BackoffOptions} from '../http/backoff.js'
import type {HttpClient} from '../http/client.js'
import type {GatewayEvent} from './events.js'
import {batchSize} from './reading.js'
import type {Spool} from './spool.js'

export interface ForwarderOptions {
  spool: Spool
  client: HttpClient
  /** path appended to the client's URL ('' when the URL already is the /telemetry endpoint) */
  path: string
  /** batches in flight at once (default 1: the server receives batches in the order they closed; a backlog of more than 50 goes 4 at a time) */
  concurrency?: number
  /** pause after a failed round (network error or 5xx); grows until a send succeeds */
  backoff?: BackoffOptions
  onEvent: (event: GatewayEvent) => void
  /** called whenever the spool has been emptied and the forwarder waits for more */
  onIdle?: () => void
  random?: () => number
}

type Outcome = 'done' | 'retry'

/**
 * 4xx answers given before the server looked at the batch (authentication, routing, rate
 * limit): nothing of it was stored, so it stays spooled and is retried like a 5xx until the
 * configuration is mended, instead of dead-lettering the whole backlog one batch after another.
 */
const NOT_PROCESSED = new Set([401, 403, 404, 405, 407, 429])

/** Batches waiting beyond which the forwarder sends several at once. */
const BACKLOG = 50

/**
 * Sends spooled batches to the server, oldest first, until the spool is empty, then waits for
 * more. 2xx → the file is removed; 4xx → dead-lettered, never retried (the server may have
 * stored part of it); network error, 5xx or a 4xx in NOT_PROCESSED → the batch stays spooled
 * and is retried after a growing pause. Nothing leaves the spool without a 2xx or a 4xx.
 */
export class Forwarder {
  private readonly queue: string[] = []
  private readonly bodies = new Map<string, string>()
  private readonly inflight = new AbortController()
  private readonly stopped = new AbortController()
  private wake?: () => void
  private loop?: Promise<void>
  private failures = 0
  private active = 0

  constructor(private readonly options: ForwarderOptions) {}

  /** Batches on disk not yet accepted or refused. */
  get queued(): number {
    return this.queue.length + this.active
  }

  start(recovered: string[] = []): void {
    this.queue.push(...recovered)
    this.loop ??= this.run()
  }

  /** A batch just written to the spool (its body kept to spare a read). */
  enqueue(id: string, body?: string): void {
    if (body !== undefined) this.bodies.set(id, body)
    this.queue.push(id)
    this.wake?.()
  }

  /**
   * Stop taking batches; wait up to `graceMs` for the ones in flight, then abort them (they stay
   * spooled and go out on the next start).
   */
  async stop(graceMs = 3000): Promise<void> {
    this.stopped.abort()
    this.wake?.()
    if (!this.loop) return
    const timer = setTimeout(() => this.inflight.abort(new Error('gateway stopping')), graceMs)
    await this.loop
    clearTimeout(timer)
  }

  private async run(): Promise<void> {
    const base = this.options.concurrency ?? 1
    while (!this.stopped.signal.aborted) {
      // a backlog (after an outage, or under a burst) drains 4 batches at a time: the server may
      // then receive neighbouring batches out of order, which it does not mind
      const concurrency = this.queue.length > BACKLOG ? Math.max(base, 4) : base
      if (this.queue.length === 0) {
        this.options.onIdle?.()
        if (this.stopped.signal.aborted) break
        await new Promise<void>((resolve) => (this.wake = resolve))
        this.wake = undefined
        continue
      }
      const round = this.queue.splice(0, concurrency)
      // capped at 4 s: the spool is on disk, so probing often costs nothing, and a server that
      // comes back drains it within seconds (a 30 s cap once left it waiting half a minute)
      const retryInMs = backoffDelay(this.failures + 1, this.options.backoff ?? {baseMs: 500, maxMs: 4000}, this.options.random)
      this.active = round.length
      const outcomes = await Promise.all(round.map((id) => this.deliver(id, retryInMs)))
      this.active = 0
      const again = round.filter((_, i) => outcomes[i] === 'retry')
      if (again.length === 0) {
        this.failures = 0
        continue
      }
      this.queue.unshift(...again)
      this.failures++
      try {
        await abortableSleep(retryInMs, this.stopped.signal)
      } catch {
        break
      }
    }
  }

  private async deliver(id: string, retryInMs: number): Promise<Outcome> {
    const {spool, client, onEvent} = this.options
    let body = this.bodies.get(id)
    if (body === undefined) {
      try {
        body = await spool.read(id)
      } catch {
        return 'done' // removed by hand meanwhile
      }
    }
    const readings = batchSize(body)
    try {
      const response = await client.send({path: this.options.path, body, contentType: 'application/json', signal: this.inflight.signal})
      if (response.status >= 200 && response.status < 300) {
        await spool.remove(id)
        this.bodies.delete(id)
        onEvent({type: 'sent', batch: id, readings, status: response.status, attempts: response.attempts, latencyMs: Math.round(response.latencyMs * 10) / 10})
        return 'done'
      }
      if (response.status >= 400 && response.status < 500 && !NOT_PROCESSED.has(response.status)) {
        const file = await spool.deadLetter(id, {status: response.status, body: response.body})
        this.bodies.delete(id)
        onEvent({type: 'dead-letter', batch: id, readings, status: response.status, body: response.body.slice(0, 500), file})
        return 'done'
      }
      onEvent({type: 'failed', batch: id, readings, status: response.status, error: `server answered ${response.status}: ${response.body.slice(0, 200)}`, retryInMs})
      return 'retry'
    } catch (error) {
      if (this.inflight.signal.aborted) return 'retry'
      onEvent({type: 'failed', batch: id, readings, error: (error as Error).message, retryInMs})
      return 'retry'
    }
  }
}
