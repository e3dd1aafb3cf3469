import {fillTopic} from '../schemes/topics.js'

/** One message to republish. `ts` (ms) is absent for inputs without receive times (gateway batches). */
export interface ReplayEntry {
  ts?: number
  topic: string
  payload: string | Buffer
  qos?: number
}

export type ParsedLine = {entries: ReplayEntry[]} | {error: string} | {empty: true}

export interface InputOptions {
  /** topic template for esp-gateway readings ({id} = the sensor MAC) */
  readingTopic: string
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A reading {"name": MAC, "timestamp", …} → a publish on the sensor's topic, keys kept in order. */
function readingEntry(reading: Record<string, unknown>, options: InputOptions): ReplayEntry {
  return {topic: fillTopic(options.readingTopic, {id: String(reading.name), type: 'sensor'}), payload: JSON.stringify(reading)}
}

/** The receive time (ms) of a recorded message: "time" (ISO 8601), or "ts" (ms) in recordings made before the event shape. */
function receiveTime(value: Record<string, unknown>): number | undefined | string {
  if (value.time !== undefined) {
    const ms = typeof value.time === 'string' ? Date.parse(value.time) : Number.NaN
    return Number.isNaN(ms) ? '"time" is not an ISO 8601 time' : ms
  }
  if (value.ts !== undefined && typeof value.ts !== 'number') return '"ts" is not a number'
  return value.ts as number | undefined
}

/** Entries of one parsed JSON value: a recorded message, an esp-gateway batch, a single reading, or an array of those. */
export function entriesOf(value: unknown, options: InputOptions): ReplayEntry[] | string {
  if (Array.isArray(value)) {
    const all: ReplayEntry[] = []
    for (const item of value) {
      const entries = entriesOf(item, options)
      if (typeof entries === 'string') return entries
      all.push(...entries)
    }
    return all
  }
  if (!isObject(value)) return 'not a JSON object'
  if (value.event !== undefined && value.event !== 'message') return `"event" is "${String(value.event)}", not a recorded message`
  if (typeof value.topic === 'string' && (typeof value.payload === 'string' || value.payload === null)) {
    const ts = receiveTime(value)
    if (typeof ts === 'string') return ts
    const text = (value.payload as string | null) ?? ''
    return [
      {
        ts,
        topic: value.topic,
        payload: value.encoding === 'base64' ? Buffer.from(text, 'base64') : text,
        qos: typeof value.qos === 'number' ? value.qos : undefined,
      },
    ]
  }
  if (value.event === 'message' && typeof value.topic === 'string') return 'a decoded message without its raw payload (tail --json); record with tail --record'
  if (typeof value.name === 'string' && Array.isArray(value.data)) {
    const entries: ReplayEntry[] = []
    for (const reading of value.data) {
      if (!isObject(reading) || typeof reading.name !== 'string') return 'a batch entry is not a reading with a "name"'
      entries.push(readingEntry(reading, options))
    }
    return entries
  }
  if (typeof value.name === 'string' && 'timestamp' in value) return [readingEntry(value, options)]
  return 'neither a recorded message ({"event":"message","time","topic","payload"}) nor an esp-gateway batch ({"name","data"})'
}

/** Parse one input line. */
export function parseLine(line: string, options: InputOptions): ParsedLine {
  const trimmed = line.trim()
  if (trimmed === '') return {empty: true}
  let value: unknown
  try {
    value = JSON.parse(trimmed)
  } catch {
    return {error: 'not valid JSON'}
  }
  const entries = entriesOf(value, options)
  return typeof entries === 'string' ? {error: entries} : {entries}
}

/** Rewrite payload timestamps to now: "ts" (ms), "device_timestamp" (s), and "timestamp" when it is wall-clock time. */
export function retimePayload(payload: string, nowMs: number): string {
  if (!payload.startsWith('{')) return payload
  let value: Record<string, unknown>
  try {
    value = JSON.parse(payload) as Record<string, unknown>
  } catch {
    return payload
  }
  let changed = false
  if (typeof value.ts === 'number') {
    value.ts = nowMs
    changed = true
  }
  if (typeof value.device_timestamp === 'number') {
    value.device_timestamp = Math.floor(nowMs / 1000)
    changed = true
  }
  // esp-gateway's "timestamp" counts seconds since boot: only wall-clock values are rewritten
  if (typeof value.timestamp === 'number' && value.timestamp > 1e9) {
    value.timestamp = value.timestamp > 1e12 ? nowMs : Math.floor(nowMs / 1000)
    changed = true
  }
  return changed ? JSON.stringify(value) : payload
}

/** --map old=new: device ids in topic segments and in quoted payload strings. */
export function applyMap(entry: ReplayEntry, map: readonly [string, string][]): ReplayEntry {
  let topic = entry.topic
  let payload = entry.payload
  for (const [from, to] of map) {
    if (topic.includes(from)) topic = topic.split('/').map((segment) => (segment === from ? to : segment)).join('/')
    if (typeof payload === 'string' && payload.includes(from)) payload = payload.replaceAll(JSON.stringify(from), JSON.stringify(to))
  }
  return topic === entry.topic && payload === entry.payload ? entry : {...entry, topic, payload}
}
