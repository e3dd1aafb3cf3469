import {LiteMqttClient, type LiteLimits} from '../mqtt/lite/client.js'
import {resolveMqttSettings} from '../mqtt/settings.js'
import type {ChannelHandler, ChannelOptions, DeviceChannel, OutboundMessage, Transport, TransportFactory} from './transport.js'

/** A device's MQTT connection as a channel: the lean client plus the channel's send(). */
class MqttChannel<Owner> extends LiteMqttClient<Owner> implements DeviceChannel {
  send(message: OutboundMessage, token?: number): boolean {
    return this.publish(message.topic, message.payload, message.qos, message.retain === true, token ?? 0)
  }
}

/**
 * MQTT (and AWS IoT) transport: one lean connection per device, credentials resolved once from
 * the profile, per-device TLS identities from ChannelOptions.credentials.
 */
export const createMqttTransport: TransportFactory = async (options) => {
  // one settings object shared by every channel; client ids and wills are per channel
  const settings = await resolveMqttSettings(options.profile, {
    clientId: '',
    secret: options.secret,
    env: options.env,
    pkiDir: options.pkiDir,
    keepaliveSeconds: options.keepaliveSeconds,
  })
  const limits: LiteLimits = {connectTimeoutMs: options.connectTimeoutMs ?? 10_000, writeHighWaterMark: 64 * 1024}
  const transport: Transport = {
    kind: 'mqtt',
    channel<Owner>(channel: ChannelOptions, handler: ChannelHandler<Owner>, owner: Owner): DeviceChannel {
      if (channel.credentials && !settings.tls) {
        throw new Error(`device ${channel.device.id} has a certificate, but ${options.profile.url} is not a TLS (mqtts://) URL`)
      }
      return new MqttChannel(
        settings,
        {
          clientId: channel.clientId,
          clean: channel.clean ?? true,
          will: channel.will,
          cert: channel.credentials?.certPem,
          key: channel.credentials?.keyPem,
          // the fleet CA verifies our broker; AWS IoT's server certificate needs the system roots (or profile.ca)
          ca: options.profile.ca || options.profile.kind === 'aws-iot' ? undefined : channel.credentials?.caPem || undefined,
          subscriptions: channel.subscriptions,
          maxInFlight: options.maxInFlight,
        },
        handler,
        owner,
        limits,
      )
    },
    async close() {},
  }
  return transport
}
