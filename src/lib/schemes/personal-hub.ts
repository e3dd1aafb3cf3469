import {anyQos, jsonValue, parseObject} from './json.js'
import {hubDeviceId} from './identity.js'
import type {DecodedMessage, FieldLayout, Scheme} from './types.js'

/** Field names are property paths: "battery.voltage_V" → properties.battery.voltage_V. */
function groupLayout(layout: readonly FieldLayout[]): {group: string | undefined; entries: {index: number; key: string}[]}[] {
  const groups = new Map<string | undefined, {index: number; key: string}[]>()
  layout.forEach((field, index) => {
    const dot = field.name.indexOf('.')
    const group = dot > 0 ? field.name.slice(0, dot) : undefined
    const key = dot > 0 ? field.name.slice(dot + 1) : field.name
    if (!groups.has(group)) groups.set(group, [])
    groups.get(group)!.push({index, key})
  })
  return [...groups].map(([group, entries]) => ({group, entries}))
}

function flatten(value: Record<string, unknown>, prefix: string, out: Record<string, unknown>): void {
  for (const [key, inner] of Object.entries(value)) {
    if (typeof inner === 'object' && inner !== null && !Array.isArray(inner)) flatten(inner as Record<string, unknown>, `${prefix}${key}.`, out)
    else out[prefix + key] = inner
  }
}

/**
 * The personal hub (smartphones): {"device_id": <int>, "device_timestamp": <Unix seconds>,
 * "properties": {"battery": {…}, "location": {…}}}. Timestamps are seconds: milliseconds
 * silently break that system.
 */
export const personalHubScheme: Scheme = {
  name: 'personal-hub',
  defaultDeviceType: 'phone',
  httpPaths: {reading: '/mobile_location'},
  description: 'personal hub: {"device_id": int, "device_timestamp": Unix s, "properties": {"battery": {…}, "location": {…}}}',
  templates: {telemetry: 'personal-hub/devices/{id}'},
  limits: {},
  topicType: (type) => type,
  typeFromTopic: (value) => value,
  telemetryQos: anyQos,
  commandQos: 1,
  responseQos: (requested) => requested,

  telemetryEncoder(device, layout) {
    const head = `{"device_id":${hubDeviceId(device.id)},"device_timestamp":`
    // precomputed key prefixes: `"battery":{"voltage_V":`, `,"temperature_C":`, …
    const parts: {index: number; prefix: string}[] = []
    const closers: string[] = []
    groupLayout(layout).forEach(({group, entries}, g) => {
      entries.forEach(({index, key}, i) => {
        const open = i === 0 ? `${g === 0 ? '' : ','}${group === undefined ? '' : `${JSON.stringify(group)}:{`}` : ','
        parts.push({index, prefix: `${open}${JSON.stringify(key)}:`})
        closers.push(i === entries.length - 1 && group !== undefined ? '}' : '')
      })
    })
    return (sample) => {
      let out = `${head}${Math.floor(sample.timestampMs / 1000)},"properties":{`
      for (let i = 0; i < parts.length; i++) out += parts[i].prefix + jsonValue(sample.values[parts[i].index]) + closers[i]
      return out + '}}'
    }
  },

  decode(kind, payload, topic): DecodedMessage {
    const {value, error} = parseObject(payload)
    if (!value) return {kind, device: topic.id, error}
    const problems: string[] = []
    if (!Number.isInteger(value.device_id)) problems.push('"device_id" must be an integer')
    const ts = value.device_timestamp
    if (typeof ts !== 'number' || !Number.isInteger(ts)) problems.push('"device_timestamp" must be integer Unix seconds')
    else if (ts > 1e11) problems.push('"device_timestamp" looks like milliseconds; the hub needs seconds')
    const properties = value.properties
    if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) return {kind, device: topic.id, error: 'no "properties" object'}
    const fields: Record<string, unknown> = {}
    flatten(properties as Record<string, unknown>, '', fields)
    return {
      kind,
      device: topic.id ?? (value.device_id === undefined ? undefined : String(value.device_id)),
      deviceTime: typeof ts === 'number' ? ts * 1000 : undefined,
      fields,
      ...(problems.length ? {problems} : {}),
    }
  },
}
