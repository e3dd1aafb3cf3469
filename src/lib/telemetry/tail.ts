import type {MqttClient} from 'mqtt'
import {ExitCode, IotctlError} from '../console/errors.js'
import {Backoff} from '../http/backoff.js'
import {closeMqtt, connectMqtt, describeEndpoint} from '../mqtt/connect.js'
import {schemeTemplates} from '../schemes/index.js'
import type {Qos, Scheme} from '../schemes/types.js'
import type {MqttConnectionSettings} from '../mqtt/settings.js'
import {topicFilter} from '../schemes/topics.js'
import {TailDecoder, type DecoderOptions, type TailMessage} from './decoder.js'
import type {Recorder} from './recorder.js'

export interface TailOptions extends Omit<DecoderOptions, 'typeHint'> {
  settings: MqttConnectionSettings
  /** only these devices (subscriptions are narrowed to them) */
  devices?: string[]
  /** only this type */
  type?: string
  /** explicit subscription filters instead of the scheme's topics */
  topics?: string[]
  qos: Qos
  /** show retained (stale) messages; default true */
  retained?: boolean
  /** end after this many matching fresh messages (telemetry and responses) */
  count?: number
  /** end after this long; with `count` a timeout is an error (exit 7) */
  timeoutMs?: number
  record?: Recorder
  signal?: AbortSignal
  onMessage: (message: TailMessage) => void
  /** the broker accepted the subscriptions: messages from now on are seen */
  onSubscribed?: (filters: string[]) => void
  onConnection?: (event: {state: 'connected' | 'disconnected' | 'reconnecting'; error?: string; attempt?: number}) => void
}

export interface TailResult {
  received: number
  matched: number
  counted: number
  invalid: number
  undecodable: number
  reconnects: number
  recorded?: number
  reason: 'count' | 'timeout' | 'interrupted'
  seconds: number
}

/** The subscription filters for a scheme, narrowed to devices and a type when given. */
export function tailFilters(scheme: Scheme, options: {telemetryTopic?: string; devices?: string[]; type?: string}): string[] {
  const templates = Object.values(schemeTemplates(scheme, options.telemetryTopic))
  const type = options.type === undefined ? undefined : scheme.topicType(options.type)
  const filters = new Set<string>()
  for (const template of templates) {
    if (options.devices?.length) for (const id of options.devices) filters.add(topicFilter(template, {id, type}))
    else filters.add(topicFilter(template, {type}))
  }
  return [...filters]
}

const COUNTED_KINDS = new Set(['telemetry', 'response'])

/**
 * Subscribe and stream decoded, validated messages until a count, a timeout or Ctrl-C. Survives
 * broker restarts: reconnects with backoff (1 s doubling to 30 s), resubscribes, and reports
 * every loss and recovery through onConnection.
 */
export async function tail(options: TailOptions): Promise<TailResult> {
  const decoder = new TailDecoder({...options, typeHint: options.type})
  const filters = options.topics?.length ? options.topics : tailFilters(options.scheme, options)
  const devices = options.devices?.length ? new Set(options.devices) : undefined
  const showRetained = options.retained !== false
  const started = performance.now()
  const result: TailResult = {received: 0, matched: 0, counted: 0, invalid: 0, undecodable: 0, reconnects: 0, reason: 'interrupted', seconds: 0}

  const client: MqttClient = await connectMqtt(options.settings, {signal: options.signal, reconnectPeriodMs: 1000})
  // mqtt.js waits reconnectPeriod before each attempt: 1 s, doubling to 30 s while the broker stays away
  const reconnect = new Backoff({baseMs: 1000, maxMs: 30_000})
  let finish!: (reason: TailResult['reason']) => void
  const done = new Promise<TailResult['reason']>((resolve) => (finish = resolve))

  const emit = (message: TailMessage) => {
    if (devices && (message.device === undefined || !devices.has(message.device))) return
    if (options.type !== undefined && message.type !== options.type) return
    result.matched++
    options.onMessage(message)
    if (options.count !== undefined && !message.retain && COUNTED_KINDS.has(message.kind) && ++result.counted >= options.count) finish('count')
  }
  client.on('message', (topic, payload, packet) => {
    result.received++
    if (packet.retain && !showRetained) return
    const time = Date.now()
    options.record?.record(time, topic, packet.qos, packet.retain, payload)
    decoder.decode(topic, payload, packet.qos, packet.retain, time, emit)
  })
  client.on('connect', () => {
    if (reconnect.failures > 0) options.onConnection?.({state: 'connected'})
    reconnect.succeed()
    client.options.reconnectPeriod = reconnect.delay(1)
  })
  client.on('reconnect', () => {
    result.reconnects++
    options.onConnection?.({state: 'reconnecting', attempt: result.reconnects})
    reconnect.fail()
    client.options.reconnectPeriod = reconnect.delay(reconnect.failures + 1)
  })
  client.on('offline', () => options.onConnection?.({state: 'disconnected', error: `lost ${describeEndpoint(options.settings)}`}))

  await new Promise<void>((resolve, reject) => {
    client.subscribe(
      filters.map((topic) => ({topic, qos: options.qos})).reduce<Record<string, {qos: Qos}>>((all, s) => ({...all, [s.topic]: {qos: s.qos}}), {}),
      (error, granted) => {
        const refused = granted?.filter((g) => g.qos === 128)
        if (error || refused?.length) {
          reject(
            new IotctlError(`The broker refused the subscription ${refused?.map((g) => g.topic).join(', ') || ''}${error ? `: ${error.message}` : ''}`, {
              code: 'SUBSCRIBE_REFUSED',
              exit: ExitCode.AUTH,
              suggestions: ['Check the broker ACL for this user or certificate'],
            }),
          )
        } else resolve()
      },
    )
  }).catch(async (error) => {
    await closeMqtt(client)
    throw error
  })

  options.onSubscribed?.(filters)
  const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => finish('timeout'), options.timeoutMs)
  const onAbort = () => finish('interrupted')
  if (options.signal?.aborted) onAbort()
  options.signal?.addEventListener('abort', onAbort, {once: true})
  try {
    result.reason = await done
  } finally {
    if (timer) clearTimeout(timer)
    options.signal?.removeEventListener('abort', onAbort)
    client.removeAllListeners('message')
    await closeMqtt(client, 1000)
    options.record?.close()
  }
  result.invalid = decoder.invalid
  result.undecodable = decoder.undecodable
  result.recorded = options.record?.count
  result.seconds = Math.round(performance.now() - started) / 1000
  return result
}
