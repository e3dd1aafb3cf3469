import {usageError} from '../console/errors.js'
import type {DecodedMessage, Scheme} from './types.js'
import {decodeSense, encodeSense, SENSE_PAIRS_PER_POST} from './sense-codec.js'

/**
 * The CoAP `sense` listener's scheme: each temperature sample becomes one `value,parity,` pair
 * (hundredths of a °C, parity making the bit count odd); the CoAP transport POSTs 10 pairs per
 * request to /temp as text/plain. The topic only names the device inside iotctl (recordings, tail).
 * Telemetry is always confirmed (CoAP confirmable requests), so it reports as QoS 1.
 */
export const senseScheme: Scheme = {
  name: 'sense',
  coap: {path: '/temp', samplesPerPost: SENSE_PAIRS_PER_POST},
  description: 'CoAP sense listener: POST /temp text/plain "value,parity," pairs (°C × 100, odd parity), 10 per request',
  templates: {telemetry: 'sense/{id}/temp'},
  limits: {},
  topicType: (type) => type,
  typeFromTopic: (value) => value,
  telemetryQos: () => 1,
  commandQos: 0,
  responseQos: () => 0,

  telemetryEncoder(device, layout) {
    const index = layout.findIndex((field) => field.name === 'temperature' || field.name.endsWith('.temperature') || field.name === 'temperature_C')
    if (index < 0) {
      throw usageError(`The sense scheme sends temperatures, and type ${device.type} has no temperature field`, ['Use a type with one, e.g. --type temp'])
    }
    return (sample) => encodeSense([Number(sample.values[index])])
  },

  decode(kind, payload, topic): DecodedMessage {
    try {
      const pairs = decodeSense(payload.toString('latin1'))
      const celsius = pairs.map((pair) => pair.value / 100)
      if (pairs.length === 1) return {kind, device: topic.id, fields: {temperature: celsius[0]}}
      const problems = pairs.length === SENSE_PAIRS_PER_POST ? undefined : [`${pairs.length} pairs; the sensor sends ${SENSE_PAIRS_PER_POST} per request`]
      return {kind, device: topic.id, items: celsius.map((temperature) => ({kind, device: topic.id, fields: {temperature}})), ...(problems ? {problems} : {})}
    } catch (error) {
      return {kind, device: topic.id, error: (error as Error).message}
    }
  },
}
