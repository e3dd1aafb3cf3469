import {jsonValue, noQos2, parseObject} from './json.js'
import type {Scheme} from './types.js'

/**
 * AWS IoT thing types of the iotctl device types. The AWS IoT system's real devices (temp) publish
 * on `esp8266tempsensors/<thing>` (its README's `/THINGTYPE/THINGNAME` is not what the code does).
 * Types not listed use their own name as thing type; a profile's topic template overrides all.
 */
const THING_TYPES: Record<string, string> = {temp: 'esp8266tempsensors'}
/** The fields the real things publish, where they publish fewer than the template has: temp sends only temperature. */
const THING_FIELDS: Record<string, readonly string[]> = {temp: ['temperature']}
const TYPES_BY_THING = Object.fromEntries(Object.entries(THING_TYPES).map(([type, thing]) => [thing, type]))

/**
 * The AWS IoT system: mutual TLS on 8883, client id = thing name, telemetry at QoS 0 on
 * `<thing type>/<thing name>` with a flat JSON object of fields (`{"temperature": 21.5}`).
 * AWS IoT Core limits: 100 publishes/s per connection, 128 KB payloads, 100 unacked QoS 1, no QoS 2.
 */
export const awsIotScheme: Scheme = {
  name: 'aws-iot',
  description: 'AWS IoT thing telemetry: {"temperature": 21.5} on <thing type>/<thing name>, QoS 0, mutual TLS',
  templates: {telemetry: '{type}/{id}'},
  limits: {maxPublishesPerSecond: 100, maxPayloadBytes: 128 * 1024, maxInFlight: 100},
  topicType: (type) => THING_TYPES[type] ?? type,
  typeFromTopic: (value) => TYPES_BY_THING[value] ?? value,
  telemetryQos: noQos2('aws-iot'),
  commandQos: 1,
  responseQos: (requested) => (requested === 2 ? 1 : requested),

  telemetryEncoder(device, layout) {
    const only = THING_FIELDS[device.type]
    const published = layout.map((field, index) => ({name: field.name, index})).filter((field) => !only || only.includes(field.name))
    const keys = published.map((field, i) => `${i === 0 ? '{' : ','}${JSON.stringify(field.name)}:`)
    const indexes = published.map((field) => field.index)
    return (sample) => {
      let out = keys.length === 0 ? '{' : ''
      for (let i = 0; i < keys.length; i++) out += keys[i] + jsonValue(sample.values[indexes[i]])
      return out + '}'
    }
  },

  decode(kind, payload, topic) {
    const {value, error} = parseObject(payload)
    const type = topic.type === undefined ? undefined : awsIotScheme.typeFromTopic(topic.type)
    if (!value) return {kind, device: topic.id, type, error}
    return {kind, device: topic.id, type, fields: value}
  },
}
