import {anyQos, fieldKeys, jsonValue, parseObject, undecodable} from './json.js'
import type {CommandResult, DecodedMessage, ParsedCommand, Scheme} from './types.js'

/**
 * iotctl's own scheme (the default). Per device:
 *   iotctl/<type>/<id>/telemetry  {"id","type","ts"(ms),"seq","fields":{…}}
 *   iotctl/<type>/<id>/status     retained {"id","type","status":"online"|"offline","ts"[,"reason"]}; the last will says offline
 *   iotctl/<type>/<id>/cmd        {"requestId","command","data"} (a bare string is a command without data)
 *   iotctl/<type>/<id>/resp       {"requestId","id","command","ok","data"|"error","ts"}
 */
export const iotctlScheme: Scheme = {
  name: 'iotctl',
  description: 'per-device telemetry, retained online/offline status with a last will, command and response topics; JSON',
  templates: {
    telemetry: 'iotctl/{type}/{id}/telemetry',
    status: 'iotctl/{type}/{id}/status',
    command: 'iotctl/{type}/{id}/cmd',
    response: 'iotctl/{type}/{id}/resp',
  },
  limits: {},
  topicType: (type) => type,
  typeFromTopic: (value) => value,
  telemetryQos: anyQos,
  commandQos: 1,
  responseQos: (requested) => (requested === 0 ? 1 : requested),

  telemetryEncoder(device, layout) {
    const head = `{"id":${JSON.stringify(device.id)},"type":${JSON.stringify(device.type)},"ts":`
    const keys = fieldKeys(layout)
    return (sample) => {
      let out = `${head}${sample.timestampMs},"seq":${sample.seq},"fields":{`
      for (let i = 0; i < keys.length; i++) out += keys[i] + jsonValue(sample.values[i])
      return out + '}}'
    }
  },

  statusPayload(device, online, timestampMs, reason) {
    return `{"id":${JSON.stringify(device.id)},"type":${JSON.stringify(device.type)},"status":"${online ? 'online' : 'offline'}"${timestampMs === undefined ? '' : `,"ts":${timestampMs}`}${reason ? `,"reason":${JSON.stringify(reason)}` : ''}}`
  },

  parseCommand(payload) {
    const text = payload.toString('utf8').trim()
    if (!text.startsWith('{')) return text ? {name: text} : undefined
    const {value} = parseObject(payload)
    if (!value || typeof value.command !== 'string') return undefined
    return {name: value.command, data: value.data, requestId: typeof value.requestId === 'string' ? value.requestId : undefined}
  },

  encodeResponse(device, command, result, timestampMs) {
    return JSON.stringify({
      requestId: command.requestId,
      id: device.id,
      command: command.name,
      ok: result.ok,
      ...(result.ok ? {data: result.data ?? null} : {error: result.error}),
      ts: timestampMs,
    })
  },

  encodeCommand(_device, name, data, requestId) {
    return JSON.stringify({requestId, command: name, ...(data === undefined ? {} : {data})})
  },

  matchResponse(payload, _device, _name, requestId): CommandResult | undefined {
    const {value} = parseObject(payload)
    if (!value || value.requestId !== requestId) return undefined
    return {ok: value.ok === true, data: value.data, error: typeof value.error === 'string' ? value.error : undefined}
  },

  decode(kind, payload, topic): DecodedMessage {
    if (kind === 'command') {
      const command = iotctlScheme.parseCommand!(payload, {id: topic.id ?? '', type: topic.type ?? ''}) as ParsedCommand | undefined
      return command ? {kind, device: topic.id, type: topic.type, command: command.name, requestId: command.requestId, data: command.data} : undecodable(kind, topic.id, 'not a command')
    }
    const {value, error} = parseObject(payload)
    if (!value) return {kind, device: topic.id, type: topic.type, error}
    let problems: string[] | undefined
    if (topic.id !== undefined && value.id !== undefined && value.id !== topic.id && kind !== 'response') (problems ??= []).push(`payload id "${String(value.id)}" differs from the topic's "${topic.id}"`)
    switch (kind) {
      case 'telemetry': {
        const fields = value.fields
        if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return {kind, device: topic.id, type: topic.type, error: 'no "fields" object'}
        const ts = typeof value.ts === 'number' ? value.ts : undefined
        const seq = typeof value.seq === 'number' ? value.seq : undefined
        if (ts === undefined) (problems ??= []).push('"ts" is missing or not a number')
        if (seq === undefined) (problems ??= []).push('"seq" is missing or not a number')
        return {
          kind,
          device: topic.id,
          type: topic.type ?? (typeof value.type === 'string' ? value.type : undefined),
          seq,
          deviceTime: ts,
          fields: fields as Record<string, unknown>,
          problems,
        }
      }
      case 'status':
        return {kind, device: topic.id, type: topic.type, status: typeof value.status === 'string' ? value.status : undefined, deviceTime: typeof value.ts === 'number' ? value.ts : undefined, problems}
      case 'response':
        return {
          kind,
          device: topic.id,
          type: topic.type,
          command: typeof value.command === 'string' ? value.command : undefined,
          requestId: typeof value.requestId === 'string' ? value.requestId : undefined,
          ok: value.ok === true,
          data: value.ok === true ? value.data : value.error,
        }
      default:
        return {kind, device: topic.id, type: topic.type}
    }
  },
}
