import type {MqttClient} from 'mqtt'
import {closeMqtt, connectMqtt} from '../mqtt/connect.js'
import type {Scheme} from '../schemes/types.js'
import type {MqttConnectionSettings} from '../mqtt/settings.js'
import {fillTopic, topicFilter, topicMatcher} from '../schemes/topics.js'
import {usageError} from '../console/errors.js'

export interface DeviceStatus {
  id: string
  type?: string
  status: 'online' | 'offline' | 'unknown'
  /** when the status began (ISO), when the device said so */
  since?: string
  /** last seen (ISO): a live answer, or the status message's time */
  lastSeen?: string
  reason?: string
  /** uptime text from a django-iot heartbeat */
  uptime?: string
  latencyMs?: number
  detail?: string
}

const iso = (ms: unknown) => (typeof ms === 'number' && Number.isFinite(ms) ? new Date(ms).toISOString() : undefined)

/** Collect what arrives until `quietMs` passes without a message (bounded by `maxMs`). */
function settle(client: MqttClient, quietMs: number, maxMs: number): Promise<void> {
  return new Promise((resolve) => {
    let quiet = setTimeout(done, quietMs)
    const max = setTimeout(done, maxMs)
    const onMessage = () => {
      clearTimeout(quiet)
      quiet = setTimeout(done, quietMs)
    }
    client.on('message', onMessage)
    function done() {
      clearTimeout(quiet)
      clearTimeout(max)
      client.off('message', onMessage)
      resolve()
    }
  })
}

/**
 * Online/offline from the retained status topic (iotctl scheme): one subscription, the broker
 * hands back every retained status at once. `ids` narrows it; without ids every device seen is
 * returned.
 */
export async function retainedStatuses(settings: MqttConnectionSettings, scheme: Scheme, ids?: string[], signal?: AbortSignal): Promise<DeviceStatus[]> {
  const template = scheme.templates.status!
  const matcher = topicMatcher(template)
  const found = new Map<string, DeviceStatus>()
  const client = await connectMqtt(settings, {signal})
  try {
    client.on('message', (topic, payload, packet) => {
      const values = matcher.match(topic)
      if (!values?.id || (ids && !ids.includes(values.id))) return
      if (payload.length === 0) return // a cleared retained status
      let value: Record<string, unknown> = {}
      try {
        value = JSON.parse(payload.toString('utf8')) as Record<string, unknown>
      } catch {
        found.set(values.id, {id: values.id, status: 'unknown', detail: 'status payload is not JSON'})
        return
      }
      const online = value.status === 'online'
      found.set(values.id, {
        id: values.id,
        type: values.type === undefined ? undefined : (scheme.typeFromTopic(values.type) ?? values.type),
        status: online ? 'online' : value.status === 'offline' ? 'offline' : 'unknown',
        since: iso(value.ts),
        lastSeen: online && !packet.retain ? new Date().toISOString() : iso(value.ts),
        reason: typeof value.reason === 'string' ? value.reason : undefined,
      })
    })
    const filters = ids?.length ? ids.map((id) => topicFilter(template, {id})) : [topicFilter(template)]
    await client.subscribeAsync(filters, {qos: 1})
    await settle(client, 300, 3000)
  } finally {
    await closeMqtt(client, 1000)
  }
  const list = ids?.length ? ids.map((id) => found.get(id) ?? {id, status: 'unknown' as const, detail: 'no status on the broker: never connected, or not an iotctl-scheme device'}) : [...found.values()]
  return list.sort((a, b) => a.id.localeCompare(b.id))
}

/**
 * django-iot: a live heartbeat request per device, as the Django server does it — online only if
 * the answer arrives within 2 s.
 */
export async function heartbeatStatuses(settings: MqttConnectionSettings, scheme: Scheme, ids: string[], options: {timeoutMs?: number; signal?: AbortSignal} = {}): Promise<DeviceStatus[]> {
  const timeoutMs = options.timeoutMs ?? 2000
  const results = new Map<string, DeviceStatus>()
  const sentAt = new Map<string, number>()
  const client = await connectMqtt(settings, {signal: options.signal})
  try {
    const responseMatcher = topicMatcher(scheme.templates.response!)
    client.on('message', (topic, payload) => {
      const id = responseMatcher.match(topic)?.id
      if (!id || !sentAt.has(id) || results.has(id)) return
      const result = scheme.matchResponse?.(payload, {id, type: ''}, 'heartbeat', '')
      if (!result) return
      const latencyMs = Math.round((performance.now() - sentAt.get(id)!) * 10) / 10
      const inTime = latencyMs <= timeoutMs
      results.set(id, {
        id,
        status: inTime && result.ok ? 'online' : 'offline',
        lastSeen: new Date().toISOString(),
        uptime: typeof result.data === 'string' ? result.data : undefined,
        latencyMs,
        detail: inTime ? undefined : `answered after ${latencyMs} ms; the server needs it within ${timeoutMs} ms`,
      })
    })
    await client.subscribeAsync(
      ids.map((id) => fillTopic(scheme.templates.response!, {id, type: ''})),
      {qos: 0},
    )
    await Promise.all(
      ids.map(async (id) => {
        sentAt.set(id, performance.now())
        await client.publishAsync(fillTopic(scheme.templates.command!, {id, type: ''}), 'heartbeat', {qos: scheme.commandQos})
      }),
    )
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs + 200)
      const check = setInterval(() => {
        if (results.size === ids.length) {
          clearTimeout(timer)
          clearInterval(check)
          resolve()
        }
      }, 20)
      setTimeout(() => clearInterval(check), timeoutMs + 300)
    })
  } finally {
    await closeMqtt(client, 1000)
  }
  return ids.map((id) => results.get(id) ?? {id, status: 'offline', detail: `no heartbeat answer within ${timeoutMs} ms`})
}

/** The type of a device from its retained status (iotctl topics carry the type). */
export async function discoverType(settings: MqttConnectionSettings, scheme: Scheme, id: string, signal?: AbortSignal): Promise<string | undefined> {
  if (!scheme.templates.status) return undefined
  const [status] = await retainedStatuses(settings, scheme, [id], signal)
  return status?.type
}

export interface StatusRequest {
  /** ids asked for by name (canonical); none = the fleet */
  named: string[]
  /** the registered devices' ids (of `type`, when given) */
  registered: string[]
  /** only registered devices of this type */
  type?: string
  /** django-iot: how long a heartbeat answer may take (read only when heartbeats are sent) */
  heartbeatTimeoutMs: () => number
  /** a registered device's type, to fill in what the broker does not say */
  typeOf: (id: string) => string | undefined
  signal?: AbortSignal
}

/**
 * The devices' statuses the way their scheme knows them: the retained status (iotctl: also every
 * device the broker holds one for, and registered devices it never heard of), a live heartbeat
 * (django-iot), or unknown (schemes without either). Sorted by id.
 */
export async function deviceStatuses(settings: MqttConnectionSettings, scheme: Scheme, request: StatusRequest): Promise<DeviceStatus[]> {
  const {named, registered} = request
  const ids = named.length > 0 ? named : registered
  let statuses: DeviceStatus[]
  if (scheme.templates.status) {
    statuses = await retainedStatuses(settings, scheme, named.length > 0 || request.type ? ids : undefined, request.signal)
    // registered devices the broker has never heard of are listed too
    if (named.length === 0 && !request.type) for (const id of registered) if (!statuses.some((s) => s.id === id)) statuses.push({id, status: 'unknown', detail: 'no status on the broker: never connected'})
  } else if (scheme.heartbeatCommand) {
    if (ids.length === 0) throw usageError(`Name the serials to ask: iotctl devices status 1001 1002 --scheme ${scheme.name} (or register them)`)
    statuses = await heartbeatStatuses(settings, scheme, ids, {timeoutMs: request.heartbeatTimeoutMs(), signal: request.signal})
  } else {
    statuses = ids.map((id) => ({id, status: 'unknown' as const, detail: `the ${scheme.name} scheme has no status topic; watch telemetry with iotctl tail --device ${id}`}))
  }
  for (const status of statuses) status.type ??= request.typeOf(status.id)
  return statuses.sort((a, b) => a.id.localeCompare(b.id))
}
