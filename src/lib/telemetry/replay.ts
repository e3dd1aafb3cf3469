import {open, readFile, stat} from 'node:fs/promises'
import {ExitCode, IotctlError, explainSystemError} from '../console/errors.js'
import {Backoff} from '../http/backoff.js'
import type {Qos} from '../schemes/types.js'
import {Histogram} from '../device/histogram.js'
import {OutcomeTally} from '../device/outcomes.js'
import {lineBatches} from './line-reader.js'
import {applyMap, entriesOf, parseLine, retimePayload, type InputOptions, type ReplayEntry} from './replay-input.js'
import type {ChannelHandler, DeviceChannel, OutboundMessage, Transport} from '../transport/transport.js'

export type ReplayPace = {kind: 'speed'; speed: number} | {kind: 'rate'; perSecond: number} | {kind: 'max'}

export interface ReplayOptions extends InputOptions {
  file: string
  transport: Transport
  clientId: string
  pace: ReplayPace
  loop?: boolean
  retime?: boolean
  map?: [string, string][]
  strict?: boolean
  /** publish at this QoS instead of the recorded one */
  qos?: Qos
  signal?: AbortSignal
  /** wait this long for outstanding acknowledgements at the end (default 5 s) */
  drainTimeoutMs?: number
  onProgress?: (progress: ReplayProgress) => void
  onMalformed?: (line: number, reason: string) => void
  onConnection?: (event: {state: 'connected' | 'disconnected'; error?: string}) => void
}

export interface ReplayProgress {
  bytesRead: number
  totalBytes: number
  published: number
  loops: number
}

export interface ReplaySummary {
  file: string
  published: number
  acked: number
  failed: number
  /** malformed lines */
  skipped: number
  /** answers by code: MQTT 'acked'; HTTP '2xx' | '4xx' | '5xx'; CoAP '2.04', '5.00' … */
  codes: Record<string, number>
  /** HTTP retries and CoAP retransmissions */
  retries: number
  loops: number
  seconds: number
  rate: number
  /** actual minus scheduled send time, ms (paced modes only) */
  timingErrorMs: ReturnType<Histogram['summary']>
  latencyMs: ReturnType<Histogram['summary']>
  interrupted: boolean
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** How much of a file decides whether it is NDJSON (streamed) or one JSON document (parsed whole). */
const PEEK_BYTES = 64 * 1024

/**
 * When the first line is not a JSON value of its own, the file may be one JSON document (a
 * pretty-printed batch, or an array): parse it whole. An NDJSON recording is decided on its first
 * line, never loaded.
 */
async function wholeDocument(path: string, options: InputOptions): Promise<ReplayEntry[] | undefined> {
  const handle = await open(path)
  let head: string
  try {
    const {bytesRead, buffer} = await handle.read(Buffer.alloc(PEEK_BYTES), 0, PEEK_BYTES, 0)
    head = buffer.subarray(0, bytesRead).toString('utf8').trimStart()
  } finally {
    await handle.close()
  }
  const first = head[0]
  if (first !== '{' && first !== '[') return undefined
  const newline = head.indexOf('\n')
  if (first === '{' && newline >= 0 && parses(head.slice(0, newline))) return undefined
  if ((await stat(path)).size > 64 * 1024 * 1024) return undefined
  try {
    const entries = entriesOf(JSON.parse(await readFile(path, 'utf8')), options)
    return typeof entries === 'string' ? undefined : entries
  } catch {
    return undefined
  }
}

function parses(text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

/**
 * Republish a recording (tail --record NDJSON) or an esp-gateway batch file, streamed with
 * constant memory: original timing scaled by a speed, a fixed rate, or as fast as the connection
 * drains. Malformed lines are reported with their number and skipped (strict: abort).
 */
export async function replay(options: ReplayOptions): Promise<ReplaySummary> {
  let totalBytes: number
  try {
    totalBytes = (await stat(options.file)).size
  } catch (error) {
    throw explainSystemError(error, `reading ${options.file}`)
  }
  const timing = new Histogram()
  const outcomes = new OutcomeTally()
  const state = {published: 0, failed: 0, skipped: 0, loops: 0, outstanding: 0}
  let ready = false
  let downError: Error | undefined
  /** refused credentials: the replay ends with this error */
  let fatal: Error | undefined
  let wake: (() => void) | undefined
  // a restart pauses the replay, it does not end it: reconnect, backing off while the broker stays away
  const reconnect = new Backoff({baseMs: 250, maxMs: 5000})
  const handler: ChannelHandler<number> = {
    ready() {
      ready = true
      reconnect.succeed()
      options.onConnection?.({state: 'connected'})
      wake?.()
    },
    down(_owner, error) {
      if (error instanceof IotctlError && error.exit === ExitCode.AUTH) {
        ready = false
        fatal = error
        wake?.()
        return
      }
      const was = ready
      ready = false
      downError = error
      if (was) options.onConnection?.({state: 'disconnected', error: error?.message})
      wake?.()
      setTimeout(() => channel.state === 'idle' && channel.connect(), reconnect.fail()).unref()
    },
    settled(_owner, token, outcome) {
      if (token === 0) return
      state.outstanding--
      outcomes.settle(outcome, token)
      if (state.outstanding === 0) wake?.()
    },
  }
  const channel: DeviceChannel = options.transport.channel({device: {id: options.clientId, type: 'replay'}, clientId: options.clientId, clean: true}, handler, 0)
  const waitFor = (condition: () => boolean, ms?: number) =>
    new Promise<void>((resolve) => {
      if (condition()) return resolve()
      const timer = ms === undefined ? undefined : setTimeout(done, ms)
      const poll = setInterval(() => condition() && done(), 1000)
      function done() {
        if (timer) clearTimeout(timer)
        clearInterval(poll)
        wake = undefined
        resolve()
      }
      wake = () => condition() && done()
    })

  const aborted = () => options.signal?.aborted === true || fatal !== undefined
  const sweeper = setInterval(() => channel.tick(Date.now()), 1000)
  channel.connect()
  await waitFor(() => ready || (downError !== undefined && state.published === 0) || aborted())
  if (!ready && !aborted()) {
    clearInterval(sweeper)
    await channel.close(false)
    throw downError ?? new IotctlError('Could not connect to the backend', {code: 'MQTT_CONNECT_FAILED', exit: ExitCode.NETWORK})
  }

  const started = performance.now()
  const message: OutboundMessage = {topic: '', payload: '', qos: 0}
  const pace = options.pace
  let firstTs: number | undefined
  let lastTs: number | undefined
  let loopOffset = 0
  let index = 0
  let bytesBase = 0

  /** When the entry may go: its scheduled time (paced modes), or undefined. */
  const schedule = (entry: ReplayEntry): number | undefined => {
    if (pace.kind === 'rate') return started + (index * 1000) / pace.perSecond
    if (pace.kind === 'speed' && entry.ts !== undefined) {
      firstTs ??= entry.ts
      lastTs = entry.ts
      return started + loopOffset + (entry.ts - firstTs) / pace.speed
    }
    return undefined
  }

  const send = (entry: ReplayEntry, scheduled: number | undefined): void => {
    const now = performance.now()
    if (scheduled !== undefined) timing.record(Math.max(0, now - scheduled))
    message.topic = entry.topic
    message.payload = options.retime && typeof entry.payload === 'string' ? retimePayload(entry.payload, Date.now()) : entry.payload
    message.qos = (options.qos ?? Math.min(2, Math.max(0, entry.qos ?? 0))) as Qos
    // HTTP and CoAP answer every request: their outcome is always awaited and counted
    const token = message.qos > 0 || options.transport.kind !== 'mqtt' ? now : undefined
    if (channel.send(message, token)) {
      state.published++
      if (token !== undefined) state.outstanding++
    } else state.failed++
  }

  /**
   * Publish one entry. Synchronous unless it has to wait (its time has not come, the connection
   * is down or full): consecutive writes then leave in one writev.
   */
  const publish = (entry: ReplayEntry): Promise<void> | undefined => {
    if (options.map?.length) entry = applyMap(entry, options.map)
    const scheduled = schedule(entry)
    index++
    if ((scheduled === undefined || scheduled - performance.now() <= 1) && ready && channel.writable) {
      send(entry, scheduled)
      return undefined
    }
    return (async () => {
      if (scheduled !== undefined) {
        const wait = scheduled - performance.now()
        if (wait > 1) await sleep(wait)
      }
      while (!aborted() && (!ready || !channel.writable)) {
        if (!ready) await waitFor(() => ready || aborted())
        else await sleep(1)
      }
      if (!aborted()) send(entry, scheduled)
    })()
  }

  const malformed = (line: number, reason: string) => {
    state.skipped++
    if (options.strict) {
      throw new IotctlError(`${options.file}:${line}: ${reason}`, {code: 'REPLAY_MALFORMED', exit: ExitCode.CORRUPT, suggestions: ['Drop --strict to skip malformed lines']})
    }
    options.onMalformed?.(line, reason)
  }

  try {
    const document = await wholeDocument(options.file, options)
    do {
      if (document) {
        for (const entry of document) {
          if (aborted()) break
          const waiting = publish(entry)
          if (waiting) await waiting
        }
        options.onProgress?.({bytesRead: totalBytes, totalBytes, published: state.published, loops: state.loops})
      } else {
        for await (const batch of lineBatches(options.file, {signal: options.signal})) {
          for (let i = 0; i < batch.lines.length && !aborted(); i++) {
            const parsed = parseLine(batch.lines[i], options)
            if ('error' in parsed) malformed(batch.firstLine + i, parsed.error)
            else if ('entries' in parsed) {
              for (const entry of parsed.entries) {
                const waiting = publish(entry)
                if (waiting) await waiting
              }
            }
          }
          options.onProgress?.({bytesRead: bytesBase + batch.bytesRead, totalBytes, published: state.published, loops: state.loops})
          if (aborted()) break
        }
      }
      if (aborted()) break
      state.loops++
      bytesBase += totalBytes
      // the next round starts right after the last message of this one
      if (pace.kind === 'speed' && firstTs !== undefined && lastTs !== undefined) loopOffset += (lastTs - firstTs) / pace.speed + 1
    } while (options.loop && !aborted())

    if (state.outstanding > 0) await waitFor(() => state.outstanding === 0, options.drainTimeoutMs ?? 5000)
  } finally {
    clearInterval(sweeper)
    await channel.close(true)
    await options.transport.close()
  }
  if (fatal) throw fatal
  const seconds = (performance.now() - started) / 1000
  return {
    file: options.file,
    published: state.published,
    acked: outcomes.acked,
    // a request still open at the end counts as failed here: a replay has no "unanswered" column
    failed: state.failed + outcomes.failed + outcomes.unanswered,
    skipped: state.skipped,
    codes: outcomes.codes,
    retries: outcomes.retries,
    loops: state.loops,
    seconds: Math.round(seconds * 1000) / 1000,
    rate: seconds > 0 ? Math.round((state.published / seconds) * 10) / 10 : state.published,
    timingErrorMs: timing.summary(),
    latencyMs: outcomes.latency.summary(),
    interrupted: aborted(),
  }
}
