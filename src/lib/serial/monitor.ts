import {ExitCode, IotctlError} from '../console/errors.js'
import {LineSplitter} from './line-splitter.js'
import {openPort, type OpenPortOptions} from './open-port.js'
import type {WebSerialLike} from './types.js'
import {abortableSleep} from '../http/backoff.js'

export interface MonitorLine {
  text: string
  /** when its first byte arrived */
  time: Date
  /** false for a partial line handed out after a pause (a prompt) */
  complete: boolean
}

export type MonitorEvent =
  | {event: 'open'; port: string; baud: number}
  | {event: 'lost'; port: string; reason: string}
  | {event: 'reopened'; port: string; attempts: number}
  | {event: 'reset'; port: string; method: 'dtr-rts' | 'unavailable'}

export interface MonitorOptions {
  /** device path or socket://HOST:PORT */
  port: string
  baud?: number
  /** pulse RTS (EN) at start so the boot log is seen from the beginning */
  reset?: boolean
  /** stop at the first line matching this */
  until?: RegExp
  /** stop after this long (reason "timeout") */
  timeoutMs?: number
  /** wait this long between attempts to reopen a port that went away (default 500 ms) */
  reopenDelayMs?: number
  signal?: AbortSignal
  onLine: (line: MonitorLine) => void
  onEvent?: (event: MonitorEvent) => void
  /** for tests: how ports are made */
  openPortOptions?: OpenPortOptions
}

export interface MonitorResult {
  reason: 'match' | 'timeout' | 'aborted'
  /** the line that matched --until */
  match?: string
  lines: number
  bytes: number
  reconnects: number
  seconds: number
}

/** waits, or less when the signal aborts (never rejects) */
const sleep = (ms: number, signal: AbortSignal) => abortableSleep(ms, signal).catch(() => {})

/**
 * A serial console that survives board resets: when the port goes away (native USB re-enumerating, a TCP
 * board closing the line) it is reopened until it is back. With `until` it ends at the first matching line.
 */
export async function monitor(options: MonitorOptions): Promise<MonitorResult> {
  const started = performance.now()
  const baud = options.baud ?? 115_200
  const stop = new AbortController()
  let reason: MonitorResult['reason'] = 'aborted'
  let match: string | undefined
  let lines = 0
  let bytes = 0
  let reconnects = 0
  const finish = (why: MonitorResult['reason']) => {
    if (stop.signal.aborted) return
    reason = why
    stop.abort()
  }
  const onOuterAbort = () => finish('aborted')
  if (options.signal?.aborted) finish('aborted')
  options.signal?.addEventListener('abort', onOuterAbort, {once: true})
  const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => finish('timeout'), options.timeoutMs)

  let lineStart: Date | undefined
  const splitter = new LineSplitter((text, complete) => {
    const time = lineStart ?? new Date()
    lineStart = undefined
    lines++
    options.onLine({text, time, complete})
    if (options.until?.test(text) && !stop.signal.aborted) {
      match = text
      finish('match')
    }
  })

  let port: WebSerialLike | undefined
  stop.signal.addEventListener('abort', () => void port?.close().catch(() => {}), {once: true})
  try {
    let first = true
    while (!stop.signal.aborted) {
      port = await openPort(options.port, options.openPortOptions)
      const opened = await openWithRetry(port, baud, first, options, stop.signal)
      if (!opened) break
      if (!first) {
        reconnects++
        options.onEvent?.({event: 'reopened', port: options.port, attempts: opened.attempts})
      } else {
        options.onEvent?.({event: 'open', port: options.port, baud})
        if (options.reset) await resetBoard(port, options)
      }
      first = false
      const lost = await pump(port, stop.signal, (chunk) => {
        bytes += chunk.length
        lineStart ??= new Date()
        splitter.push(chunk)
      })
      await port.close().catch(() => {})
      if (stop.signal.aborted) break
      options.onEvent?.({event: 'lost', port: options.port, reason: lost})
      await sleep(options.reopenDelayMs ?? 500, stop.signal)
    }
  } finally {
    if (timer) clearTimeout(timer)
    options.signal?.removeEventListener('abort', onOuterAbort)
    splitter.flush()
    await port?.close().catch(() => {})
  }
  return {reason, ...(match === undefined ? {} : {match}), lines, bytes, reconnects, seconds: (performance.now() - started) / 1000}
}

/** The first open must work (a wrong --port is an error); later ones wait for the board to come back. */
async function openWithRetry(port: WebSerialLike, baud: number, first: boolean, options: MonitorOptions, signal: AbortSignal) {
  for (let attempts = 1; ; attempts++) {
    try {
      await port.open({baudRate: baud})
      return {attempts}
    } catch (error) {
      if (first) {
        if (error instanceof IotctlError) throw error
        throw new IotctlError(`cannot open ${options.port}: ${error instanceof Error ? error.message : error}`, {
          code: 'PORT_OPEN_FAILED',
          exit: ExitCode.DEVICE,
          cause: error,
          suggestions: ['List ports with: iotctl ports', 'Close other programs using the port (another monitor, a flasher)'],
        })
      }
      await sleep(options.reopenDelayMs ?? 500, signal)
      if (signal.aborted) return undefined
    }
  }
}

/** read until the port ends (returns why) or `signal` aborts */
async function pump(port: WebSerialLike, signal: AbortSignal, onChunk: (chunk: Uint8Array) => void): Promise<string> {
  const reader = port.readable?.getReader()
  if (!reader) return 'port has no readable stream'
  const cancel = () => void reader.cancel().catch(() => {})
  signal.addEventListener('abort', cancel, {once: true})
  try {
    for (;;) {
      const {value, done} = await reader.read()
      if (done) return port.lostReason ?? 'the port closed'
      if (value?.length) onChunk(value)
    }
  } catch (error) {
    return port.lostReason ?? (error instanceof Error ? error.message : String(error))
  } finally {
    signal.removeEventListener('abort', cancel)
    reader.releaseLock()
  }
}

/** EN low for 100 ms with IO0 high: a plain reset into the app */
async function resetBoard(port: WebSerialLike, options: MonitorOptions): Promise<void> {
  if (port.kind === 'serial') {
    await port.setSignals({dataTerminalReady: false, requestToSend: true})
    await new Promise((r) => setTimeout(r, 100))
    await port.setSignals({dataTerminalReady: false, requestToSend: false})
  }
  options.onEvent?.({event: 'reset', port: options.port, method: port.signalsWork ? 'dtr-rts' : 'unavailable'})
}
