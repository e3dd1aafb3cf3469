import type {TemplateDefinition} from '../templates/types.js'
import type {TailMessage} from './decoder.js'
import {hexPreview} from './payload.js'

/** Colours a renderer may use (the CLI palette; identity functions when colour is off). */
export interface Paints {
  dim: (s: string) => string
  device: (s: string) => string
  value: (s: string) => string
  warning: (s: string) => string
  error: (s: string) => string
  success: (s: string) => string
  info: (s: string) => string
}

const time = (ms: number) => new Date(ms).toISOString().slice(11, 23)

function formatValue(value: unknown): string {
  if (typeof value === 'string') return value
  return JSON.stringify(value) ?? 'null'
}

function shorten(text: string, max = 120): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/**
 * One human line per message: time, device, type, fields with units (issues flagged in colour),
 * or the raw payload, shown safely, when it could not be decoded.
 */
export function humanLine(message: TailMessage, templates: ReadonlyMap<string, Pick<TemplateDefinition, 'telemetry'>>, paint: Paints): string {
  const head = `${paint.dim(time(message.time))} ${paint.device(message.device ?? message.topic)}${message.type ? ` ${paint.dim(message.type)}` : ''}${message.retain ? paint.dim(' (retained)') : ''}`
  const flagged = new Set(message.issues?.filter((i) => i.field).map((i) => i.field))
  let body: string
  if (message.error) {
    const raw = message.payload!
    const shown = raw.encoding === 'utf8' ? JSON.stringify(shorten(raw.data)) : hexPreview(Buffer.from(raw.data, 'base64'))
    body = `${paint.warning(`[${message.error}]`)} ${paint.dim(message.topic)} ${shown}`
  } else {
    switch (message.kind) {
      case 'telemetry': {
        const specs = message.type ? templates.get(message.type)?.telemetry.fields : undefined
        body = Object.entries(message.fields ?? {})
          .map(([name, value]) => {
            const unit = specs?.[name]?.unit
            const text = `${name} ${formatValue(value)}${unit ? ` ${unit}` : ''}`
            return flagged.has(name) ? paint.warning(text) : `${name} ${paint.value(formatValue(value))}${unit ? ` ${unit}` : ''}`
          })
          .join('  ')
        if (message.seq !== undefined) body += paint.dim(`  #${message.seq}`)
        break
      }
      case 'status':
        body = message.status === 'online' ? paint.success('● online') : paint.error(`● ${message.status ?? 'unknown'}`)
        break
      case 'command':
        body = `${paint.info('→')} ${message.command}${message.data === undefined ? '' : ` ${shorten(formatValue(message.data))}`}`
        break
      case 'response':
        body = `${paint.info('←')} ${message.command ?? '?'} ${message.ok ? paint.success('ok') : paint.error('failed')}${message.data === undefined ? '' : ` ${shorten(formatValue(message.data))}`}`
        break
      default:
        body = `${paint.dim(message.topic)} ${shorten(message.payload?.data ?? '')}`
    }
  }
  const issues = message.issues?.length ? `  ${paint.warning(`⚠ ${message.issues.map((i) => i.message).join('; ')}`)}` : ''
  return `${head}  ${body}${issues}`
}

let lastMs = -1
let lastIso = ''
/** ISO 8601 of a time in ms; messages arrive many per millisecond, so the last one is reused. */
export function isoTime(ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms
    lastIso = new Date(ms).toISOString()
  }
  return lastIso
}

const str = JSON.stringify
const optional = (key: string, value: unknown) => (value === undefined ? '' : `,"${key}":${str(value)}`)

/** The NDJSON event of a message (receive time as ISO 8601), built in one pass in a fixed key order. */
export function jsonLine(m: TailMessage): string {
  return (
    `{"event":"message","time":"${isoTime(m.time)}","topic":${str(m.topic)},"qos":${m.qos},"retain":${m.retain},"scheme":${str(m.scheme)},"kind":"${m.kind}"` +
    optional('device', m.device) +
    optional('type', m.type) +
    optional('seq', m.seq) +
    optional('deviceTime', m.deviceTime) +
    optional('uptimeSeconds', m.uptimeSeconds) +
    optional('fields', m.fields) +
    optional('status', m.status) +
    optional('command', m.command) +
    optional('requestId', m.requestId) +
    optional('ok', m.ok) +
    optional('data', m.data) +
    optional('issues', m.issues) +
    optional('payload', m.payload) +
    optional('error', m.error) +
    '}'
  )
}
