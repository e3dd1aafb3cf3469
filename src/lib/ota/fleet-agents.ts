import type {FleetExtension} from '../device/fleet-extension.js'
import {newAgentStats, OtaDeviceAgent, type OtaAgentOptions, type OtaAgentStats, type OtaDeviceInfo} from './device-agent.js'

/** Small, seeded, fast PRNG (mulberry32) so a rehearsal's faults repeat with the same seed. */
export function seededRandom(seed: string): () => number {
  let h = 1779033703 ^ seed.length
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 3432918353)
  let a = (h = (h << 13) | (h >>> 19)) >>> 0
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * OTA for a simulated fleet: one agent per device, subscribed to its job topic over the device's
 * own connection. Plug it into the fleet as its extension.
 */
export function otaFleetExtension(devices: OtaDeviceInfo[], options: Omit<OtaAgentOptions, 'random'> & {seed?: string}): {extension: FleetExtension; agents: OtaDeviceAgent[]; stats: OtaAgentStats} {
  const stats = newAgentStats()
  const seed = options.seed ?? String(Math.random())
  const agents = devices.map((device) => new OtaDeviceAgent(device, {...options, random: seededRandom(`${seed}:ota:${device.id}`)}, stats))
  const extension: FleetExtension = {
    subscriptions: (i) => [{topic: agents[i].jobTopic, qos: 1}],
    connected: (i, publish) => agents[i].onConnected(publish),
    message: (i, topic, payload, publish) => {
      if (topic === agents[i].jobTopic) agents[i].onMessage(payload, publish)
    },
  }
  return {extension, agents, stats}
}
