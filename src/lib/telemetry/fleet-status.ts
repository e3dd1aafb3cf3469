import {randomBytes} from 'node:crypto'
import {defaultScheme, type BackendProfile} from '../config/profiles.js'
import {resolveMqttSettings} from '../mqtt/settings.js'
import {canonicalDeviceId} from '../registry/ids.js'
import type {Registry} from '../registry/registry.js'
import {getScheme} from '../schemes/index.js'
import {deviceStatuses, type DeviceStatus} from './device-status.js'

export interface FleetStatusRequest {
  profile: BackendProfile
  /** the profile's stored secret (MQTT password), when it has one */
  secret?: string
  /** the workspace's PKI folder (client certificates of TLS profiles) */
  pkiDir: string
  /** the scheme to ask by (default: the profile's) */
  scheme?: string
  registry: Pick<Registry, 'list' | 'find'>
  /** device ids as typed (MACs in any spelling); none = the fleet */
  ids?: string[]
  /** only registered devices of this type */
  type?: string
  heartbeatTimeoutMs: () => number
  signal?: AbortSignal
}

/**
 * `devices status` from a backend profile: the profile's (or the named) scheme, its MQTT connection under
 * a fresh client id, the ids canonical, the registry filling in the fleet and the types the broker does not say.
 */
export async function fleetStatuses(request: FleetStatusRequest): Promise<DeviceStatus[]> {
  const {profile, registry} = request
  const scheme = getScheme(request.scheme ?? defaultScheme(profile))
  const settings = await resolveMqttSettings(profile, {
    clientId: `iotctl-status-${randomBytes(4).toString('hex')}`,
    secret: request.secret,
    pkiDir: request.pkiDir,
  })
  return deviceStatuses(settings, scheme, {
    named: (request.ids ?? []).map((id) => canonicalDeviceId(id)),
    registered: registry.list({type: request.type}).map((d) => d.id),
    type: request.type,
    heartbeatTimeoutMs: request.heartbeatTimeoutMs,
    typeOf: (id) => registry.find(id)?.type,
    signal: request.signal,
  })
}
