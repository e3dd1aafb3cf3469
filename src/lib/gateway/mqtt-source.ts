import type {MqttClient} from 'mqtt'
import type {BackendProfile} from '../config/profiles.js'
import {closeMqtt, connectMqtt} from '../mqtt/connect.js'
import {resolveMqttSettings} from '../mqtt/settings.js'
import {deviceTopics, getScheme} from '../schemes/index.js'
import type {ReadingSource} from './gateway.js'

export interface MqttSourceOptions {
  profile: BackendProfile
  clientId: string
  /** the profile's stored password, when it keeps one */
  secret?: string
  env?: NodeJS.ProcessEnv
  pkiDir?: string
  /** subscription filter; default: the esp-gateway reading topic of every sensor */
  filter?: string
}

/** The esp-gateway readings topic with every device matched: e.g. esp-gateway/sensors/+ */
export function espGatewayReadingFilter(profile: BackendProfile): string {
  return deviceTopics(getScheme('esp-gateway'), {id: '+', type: '+'}, profile.topic).telemetry!
}

/**
 * Readings from the broker's esp-gateway topics (`gateway --from-mqtt`): QoS 1 subscription in a
 * persistent session,
 * reconnecting (and resubscribing) after a broker restart. A payload that is not JSON is
 * reported, not forwarded.
 */
export function mqttReadingSource(options: MqttSourceOptions): ReadingSource & {filter: string} {
  const filter = options.filter ?? espGatewayReadingFilter(options.profile)
  let client: MqttClient | undefined
  return {
    name: 'mqtt',
    filter,
    async start(push, reject) {
      // a persistent session under a stable client id: the broker keeps QoS 1 readings that arrive
      // while the gateway restarts, so none is lost between two runs
      const settings = await resolveMqttSettings(options.profile, {clientId: options.clientId, clean: false, secret: options.secret, env: options.env, pkiDir: options.pkiDir})
      client = await connectMqtt(settings, {reconnectPeriodMs: 2000})
      client.on('message', (topic, payload) => {
        let value: unknown
        try {
          value = JSON.parse(payload.toString('utf8'))
        } catch {
          return reject(`malformed JSON on ${topic}`)
        }
        push(value)
      })
      await client.subscribeAsync(filter, {qos: 1})
    },
    async stop() {
      if (client) await closeMqtt(client)
      client = undefined
    },
  }
}
