import {parseObject} from './json.js'
import type {CommandResult, DecodedMessage, Scheme} from './types.js'

/** The commands the Django device-management server sends. */
export const DJANGO_COMMANDS = ['heartbeat', 'getuserinfo', 'getsysteminfo', 'getsnapinfo', 'reboot'] as const

/** The msgCode that answers `command`: "heartbeat" itself, else "<command>-ret". */
export const djangoReplyCode = (command: string) => (command === 'heartbeat' ? 'heartbeat' : `${command}-ret`)

/** An answer's outcome: snapd's error envelope ({"type":"error",…,"result":{"message"}}) or an {"error"} object fails. */
function snapdOutcome(data: unknown): CommandResult {
  if (typeof data !== 'object' || data === null) return {ok: true, data}
  const record = data as Record<string, unknown>
  if (record.type === 'error') {
    const result = record.result as {message?: unknown} | undefined
    return {ok: false, error: String(result?.message ?? record.status ?? 'error'), data}
  }
  if ('error' in record && Object.keys(record).length === 1) return {ok: false, error: String(record.error)}
  return {ok: true, data}
}

/**
 * The Mosquitto device-management system (Django server). The server publishes a plain string
 * command on django/iot/server/<serial> at QoS 2; the device answers on django/iot/client/<serial>
 * at QoS 0 with {"msgCode","id","data"} in that order: `id` is the serial as a string (a number
 * crashes the server), heartbeat data is a non-empty uptime text, and `<command>-ret` data is a
 * string: snapd's REST reply forwarded unchanged (JSON text: {"type":"sync","status-code":200,
 * "status":"OK","result":…}, or "type":"error") for the get… queries, plain text for others
 * (the real agent answers reboot with "reboot-OK"). The server counts a device online only if the heartbeat
 * answer arrives within 2 s. Serials are integers. Devices publish no telemetry of their own.
 */
export const djangoIotScheme: Scheme = {
  name: 'django-iot',
  defaultDeviceType: 'agent',
  numericIds: true,
  plainCommands: true,
  heartbeatCommand: 'heartbeat',
  description: 'Django device management: plain-string commands on django/iot/server/<serial> (QoS 2), {"msgCode","id","data"} answers on django/iot/client/<serial> (QoS 0)',
  templates: {command: 'django/iot/server/{id}', response: 'django/iot/client/{id}'},
  limits: {},
  topicType: (type) => type,
  typeFromTopic: () => undefined,
  telemetryQos: (requested) => requested,
  commandQos: 2,
  responseQos: () => 0,

  telemetryEncoder() {
    return () => ''
  },

  parseCommand(payload) {
    const name = payload.toString('utf8').trim()
    return name ? {name} : undefined
  },

  encodeResponse(device, command, result) {
    const id = String(device.id)
    if (command.name === 'heartbeat') {
      const text = typeof result.data === 'string' && result.data ? result.data : JSON.stringify(result.data ?? 'up')
      return JSON.stringify({msgCode: 'heartbeat', id, data: text})
    }
    // a text answer goes as it is (the agent's "reboot-OK"); structured ones as JSON text
    if (result.ok && typeof result.data === 'string') return JSON.stringify({msgCode: djangoReplyCode(command.name), id, data: result.data})
    const data = result.ok ? (result.data ?? null) : {type: 'error', 'status-code': 500, status: 'Internal Server Error', result: {message: result.error ?? 'failed'}}
    return JSON.stringify({msgCode: djangoReplyCode(command.name), id, data: JSON.stringify(data)})
  },

  encodeCommand(_device, name) {
    return name
  },

  matchResponse(payload, device, name): CommandResult | undefined {
    const {value} = parseObject(payload)
    if (!value || value.msgCode !== djangoReplyCode(name) || value.id !== String(device.id)) return undefined
    if (name === 'heartbeat') return {ok: typeof value.data === 'string' && value.data !== '', data: value.data}
    if (typeof value.data !== 'string') return {ok: false, error: '"data" is not a string', data: value.data}
    let data: unknown
    try {
      data = JSON.parse(value.data)
    } catch {
      return {ok: true, data: value.data} // plain text is an answer too ("reboot-OK")
    }
    return snapdOutcome(data)
  },

  decode(kind, payload, topic): DecodedMessage {
    if (kind === 'command') {
      const text = payload.toString('utf8').trim()
      const problems = text.startsWith('{') ? ['the server sends plain-string commands, not JSON'] : undefined
      return {kind, device: topic.id, command: text, ...(problems ? {problems} : {})}
    }
    const {value, error} = parseObject(payload)
    if (!value) return {kind, device: topic.id, error}
    const problems: string[] = []
    const keys = Object.keys(value)
    if (keys.join(',') !== 'msgCode,id,data') problems.push(`keys are ${keys.join(', ')}; expected msgCode, id, data in that order`)
    if (typeof value.id !== 'string') problems.push(`"id" is a ${typeof value.id}: it must be the serial as a string (a number crashes the server)`)
    else if (topic.id !== undefined && value.id !== topic.id) problems.push(`"id" ${value.id} differs from the topic's serial ${topic.id}`)
    const msgCode = typeof value.msgCode === 'string' ? value.msgCode : undefined
    if (!msgCode) problems.push('"msgCode" is missing')
    let data: unknown = value.data
    if (msgCode === 'heartbeat') {
      if (typeof value.data !== 'string' || value.data === '') problems.push('heartbeat "data" must be a non-empty uptime text')
    } else if (msgCode?.endsWith('-ret')) {
      if (typeof value.data === 'string') {
        try {
          data = JSON.parse(value.data)
        } catch {
          // plain text is a valid answer ("reboot-OK"); only a JSON-looking text must parse
          if (/^\s*[[{]/.test(value.data)) problems.push('"-ret" data looks like JSON but does not parse')
        }
      } else {
        problems.push('"-ret" data must be a string (JSON text, double-encoded, or plain text)')
      }
    }
    return {
      kind,
      device: topic.id ?? (typeof value.id === 'string' ? value.id : undefined),
      command: msgCode === 'heartbeat' ? 'heartbeat' : msgCode?.replace(/-ret$/, ''),
      ok: problems.length === 0,
      data,
      ...(problems.length ? {problems} : {}),
    }
  },
}
