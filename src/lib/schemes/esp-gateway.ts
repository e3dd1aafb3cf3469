import {anyQos, parseObject} from './json.js'
import {deviceMac} from './identity.js'
import type {DecodedMessage, Scheme} from './types.js'

/** The sensor/gateway server rejects readings of 200 bytes or more. */
export const READING_MAX_BYTES = 199
/** The gateway forwards readings in batches of this many. */
export const GATEWAY_BATCH_SIZE = 7

const integer = (value: unknown): string => {
  if (typeof value === 'number') return Number.isFinite(value) ? String(Math.round(value)) : '0'
  if (typeof value === 'boolean') return value ? '1' : '0'
  return JSON.stringify(value ?? null)
}

/** `{"name": gateway MAC, "data": [readings…]}` as the gateway POSTs it. */
export function encodeGatewayBatch(gatewayMac: string, readings: readonly string[]): string {
  return `{"name":${JSON.stringify(gatewayMac)},"data":[${readings.join(',')}]}`
}

function decodeReading(value: Record<string, unknown>, topicId: string | undefined, raw?: Buffer): DecodedMessage {
  const problems: string[] = []
  const keys = Object.keys(value)
  if (keys[0] !== 'name' || keys[1] !== 'timestamp') problems.push(`keys start ${keys.slice(0, 2).join(', ')}; the server walks them in order: name, timestamp, then the values`)
  if (typeof value.name !== 'string' || !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(value.name)) problems.push(`"name" must be a lowercase colon MAC, got ${JSON.stringify(value.name)}`)
  if (!Number.isInteger(value.timestamp)) problems.push('"timestamp" must be an integer (seconds since boot)')
  const fields: Record<string, unknown> = {}
  for (const key of keys) {
    if (key === 'name' || key === 'timestamp') continue
    fields[key] = value[key]
    if (!Number.isInteger(value[key])) problems.push(`"${key}" must be an integer`)
  }
  if (raw && raw.length > READING_MAX_BYTES) problems.push(`${raw.length} bytes: readings must stay under 200 bytes`)
  return {
    kind: 'telemetry',
    device: topicId ?? (typeof value.name === 'string' ? value.name : undefined),
    uptimeSeconds: typeof value.timestamp === 'number' ? value.timestamp : undefined,
    fields,
    ...(problems.length ? {problems} : {}),
  }
}

/**
 * The ESP-IDF sensor/gateway system. A reading is
 * {"name": "<lowercase colon MAC>", "timestamp": <seconds since boot>, "temperature": 31, "humidity": 56}
 * — keys in exactly that order, integer values, under 200 bytes. Over MQTT each reading goes to the
 * sensor's own topic; gateway batches ({"name": gateway MAC, "data": [7 readings]}) are decoded too.
 */
export const espGatewayScheme: Scheme = {
  name: 'esp-gateway',
  httpPaths: {reading: '/device', batch: '/telemetry'},
  isBatchPayload,
  description: 'ESP sensor/gateway readings {"name": MAC, "timestamp": s since boot, <integer fields>} per sensor topic',
  templates: {telemetry: 'esp-gateway/sensors/{id}'},
  limits: {maxPayloadBytes: READING_MAX_BYTES},
  topicType: (type) => type,
  typeFromTopic: (value) => value,
  telemetryQos: anyQos,
  commandQos: 1,
  responseQos: (requested) => requested,

  telemetryEncoder(device, layout) {
    const head = `{"name":${JSON.stringify(deviceMac(device))},"timestamp":`
    const keys = layout.map((field) => `,${JSON.stringify(field.name)}:`)
    return (sample) => {
      let out = head + Math.floor(sample.uptimeSeconds)
      for (let i = 0; i < keys.length; i++) out += keys[i] + integer(sample.values[i])
      return out + '}'
    }
  },

  decode(kind, payload, topic) {
    const {value, error} = parseObject(payload)
    if (!value) return {kind, device: topic.id, error}
    if (Array.isArray(value.data)) {
      const items = value.data.map((entry) =>
        typeof entry === 'object' && entry !== null && !Array.isArray(entry)
          ? decodeReading(entry as Record<string, unknown>, undefined, Buffer.from(JSON.stringify(entry)))
          : {kind: 'telemetry' as const, error: 'a batch entry is not an object'},
      )
      const problems = items.length === GATEWAY_BATCH_SIZE ? undefined : [`a batch of ${items.length}; the gateway sends ${GATEWAY_BATCH_SIZE}`]
      return {kind, device: typeof value.name === 'string' ? value.name : topic.id, items, ...(problems ? {problems} : {})}
    }
    return decodeReading(value, topic.id, payload)
  },
}

/** True when an esp-gateway payload is already a gateway batch {"name", "data": [...]}. */
export function isBatchPayload(payload: string): boolean {
  if (!payload.includes('"data"')) return false
  try {
    const value = JSON.parse(payload) as {name?: unknown; data?: unknown}
    return typeof value.name === 'string' && Array.isArray(value.data)
  } catch {
    return false
  }
}
