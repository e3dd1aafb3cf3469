import {usageError} from '../console/errors.js'
import {senseScheme} from './sense.js'
import {fillTopic} from './topics.js'
import {awsIotScheme} from './aws-iot.js'
import {djangoIotScheme} from './django-iot.js'
import {espGatewayScheme} from './esp-gateway.js'
import {iotctlScheme} from './iotctl.js'
import {personalHubScheme} from './personal-hub.js'
import type {DeviceTopics, Scheme, SchemeDevice} from './types.js'

export * from './types.js'
export {deviceMac, hubDeviceId} from './identity.js'
export {encodeGatewayBatch, GATEWAY_BATCH_SIZE, isBatchPayload, READING_MAX_BYTES} from './esp-gateway.js'
export {DJANGO_COMMANDS, djangoReplyCode} from './django-iot.js'

const SCHEMES = new Map<string, Scheme>([iotctlScheme, awsIotScheme, djangoIotScheme, espGatewayScheme, personalHubScheme, senseScheme].map((s) => [s.name, s]))

export function schemeNames(): string[] {
  return [...SCHEMES.keys()]
}

/** The scheme of that name, if there is one (transports accept any name and treat unknown ones plainly). */
export function findScheme(name: string): Scheme | undefined {
  return SCHEMES.get(name)
}

export function getScheme(name: string): Scheme {
  const scheme = SCHEMES.get(name)
  if (!scheme) throw usageError(`Unknown scheme "${name}"`, [`Schemes: ${schemeNames().join(', ')}`])
  return scheme
}

/**
 * The topics of one device under a scheme. `telemetryTemplate` (a profile's or a flag's
 * override, with {id} and {type}) replaces the scheme's telemetry topic.
 */
export function deviceTopics(scheme: Scheme, device: SchemeDevice, telemetryTemplate?: string): DeviceTopics {
  const values = {id: device.id, type: scheme.topicType(device.type)}
  const topics: DeviceTopics = {}
  for (const kind of ['telemetry', 'status', 'command', 'response'] as const) {
    const template = kind === 'telemetry' && telemetryTemplate && scheme.templates.telemetry ? telemetryTemplate : scheme.templates[kind]
    if (template) topics[kind] = fillTopic(template, values)
  }
  return topics
}

/** The scheme's topic templates with a telemetry override applied. */
export function schemeTemplates(scheme: Scheme, telemetryTemplate?: string): DeviceTopics {
  return {...scheme.templates, ...(telemetryTemplate && scheme.templates.telemetry ? {telemetry: telemetryTemplate} : {})}
}
