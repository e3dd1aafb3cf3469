import {mkdirSync} from 'node:fs'
import {dirname} from 'node:path'
import {explainSystemError} from '../console/errors.js'
import {LineWriter} from './line-writer.js'
import {isPrintableText} from './payload.js'
import {isoTime} from './render.js'

/**
 * One recorded message, one NDJSON line, in the event shape of every stream:
 * {"event": "message", "time": receive time (ISO 8601), "topic", "qos", "retain", "payload": text} —
 * binary payloads carry "encoding": "base64". replay reads this, and the recordings made before
 * the shared shape ({"ts": receive ms, …} without "event").
 */
export interface RecordedMessage {
  event: 'message'
  time: string
  topic: string
  qos: number
  retain: boolean
  payload: string
  encoding?: 'base64'
}

export function recordLine(time: number, topic: string, qos: number, retain: boolean, payload: Buffer): string {
  const text = isPrintableText(payload)
  const data = text ? payload.toString('utf8') : payload.toString('base64')
  return `{"event":"message","time":"${isoTime(time)}","topic":${JSON.stringify(topic)},"qos":${qos},"retain":${retain},"payload":${JSON.stringify(data)}${text ? '' : ',"encoding":"base64"'}}`
}

/** Appends received messages to an NDJSON file; close() flushes and fsyncs (Ctrl-C loses nothing). */
export class Recorder {
  private readonly writer: LineWriter

  constructor(readonly path: string) {
    try {
      mkdirSync(dirname(path), {recursive: true})
      this.writer = LineWriter.append(path)
    } catch (error) {
      throw explainSystemError(error, `opening the recording ${path}`)
    }
  }

  get count(): number {
    return this.writer.lines
  }

  record(time: number, topic: string, qos: number, retain: boolean, payload: Buffer): void {
    this.writer.write(recordLine(time, topic, qos, retain, payload))
  }

  close(): void {
    this.writer.close()
  }
}
