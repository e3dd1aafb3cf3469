import {randomUUID} from 'node:crypto'
import {ExitCode, IotctlError, usageError} from '../console/errors.js'
import {closeMqtt, connectMqtt} from '../mqtt/connect.js'
import {deviceTopics} from '../schemes/index.js'
import type {CommandResult, Scheme, SchemeDevice} from '../schemes/types.js'
import type {MqttConnectionSettings} from '../mqtt/settings.js'

export interface SendOptions {
  settings: MqttConnectionSettings
  scheme: Scheme
  device: SchemeDevice
  command: string
  data?: unknown
  timeoutMs: number
  telemetryTopic?: string
  signal?: AbortSignal
}

export interface SendResult extends CommandResult {
  device: string
  command: string
  requestId: string
  topic: string
  responseTopic: string
  latencyMs: number
}

/**
 * Send one command on the device's scheme topic and wait for its answer: iotctl matches the
 * correlation id; django-iot (plain-string commands) matches the msgCode and serial. A timeout
 * is an IotctlError with exit 7.
 */
export async function sendCommand(options: SendOptions): Promise<SendResult> {
  const {scheme, device} = options
  const topics = deviceTopics(scheme, device, options.telemetryTopic)
  if (!topics.command || !topics.response || !scheme.encodeCommand || !scheme.matchResponse) {
    throw usageError(`The ${scheme.name} scheme has no command channel`, ['Commands work with the iotctl and django-iot schemes: --scheme iotctl'])
  }
  const requestId = randomUUID()
  const client = await connectMqtt(options.settings, {signal: options.signal})
  try {
    const started = performance.now()
    const answer = new Promise<CommandResult>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new IotctlError(`No answer from ${device.id} to "${options.command}" within ${options.timeoutMs / 1000} s`, {
              code: 'SEND_TIMEOUT',
              exit: ExitCode.TIMEOUT,
              suggestions: [`Is ${device.id} online? iotctl devices status ${device.id}`, `Watch its topics: iotctl tail --device ${device.id}`],
              details: {topic: topics.command, responseTopic: topics.response},
            }),
          ),
        options.timeoutMs,
      )
      const onAbort = () => {
        clearTimeout(timer)
        reject(options.signal!.reason)
      }
      options.signal?.addEventListener('abort', onAbort, {once: true})
      client.on('message', (topic, payload) => {
        if (topic !== topics.response) return
        const result = scheme.matchResponse!(payload, device, options.command, requestId)
        if (!result) return
        clearTimeout(timer)
        options.signal?.removeEventListener('abort', onAbort)
        resolve(result)
      })
    })
    answer.catch(() => {})
    await client.subscribeAsync(topics.response, {qos: 1})
    await client.publishAsync(topics.command, scheme.encodeCommand(device, options.command, options.data, requestId), {qos: scheme.commandQos})
    const result = await answer
    return {...result, device: device.id, command: options.command, requestId, topic: topics.command, responseTopic: topics.response, latencyMs: Math.round((performance.now() - started) * 10) / 10}
  } finally {
    await closeMqtt(client, 1000)
  }
}
