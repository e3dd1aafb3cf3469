import type {Qos} from '../schemes/types.js'

/**
 * Extra behaviour a fleet's devices take on beside telemetry and commands (OTA jobs): more
 * topics to subscribe to, and what to do with what arrives there. Indexes are the fleet's device
 * order; `publish` sends from that device's own connection.
 */
export interface FleetExtension {
  subscriptions(index: number): {topic: string; qos: Qos}[]
  /** after every (re)connect of device `index` */
  connected?(index: number, publish: (topic: string, payload: string) => boolean): void
  /** a message on one of the extension's topics */
  message(index: number, topic: string, payload: Buffer, publish: (topic: string, payload: string) => boolean): void
}
