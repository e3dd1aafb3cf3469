import {usageError} from '../console/errors.js'
import {canonicalDeviceId, isMacLike, normalizeMac, type DeviceRecord, type Registry} from '../registry/index.js'

export interface GatewayIdentity {
  /** the name put in every batch: the gateway's lowercase colon MAC */
  name: string
  /** the registry record, when the registry knows this gateway */
  device?: DeviceRecord
}

/**
 * Which name the gateway sends. With `--name`, a registered device must have role gateway (its
 * MAC is used when it has one); an unknown name is used as given (MACs normalised to lowercase
 * colon form, which is what the server registers). Without `--name`, the registry's only
 * gateway is used.
 */
export function resolveGatewayIdentity(registry: Registry, requested?: string): GatewayIdentity {
  if (requested === undefined) {
    const gateways = registry.list({role: 'gateway'})
    if (gateways.length === 1) return fromDevice(gateways[0]!)
    if (gateways.length === 0) {
      throw usageError('Which gateway is this? Pass --name <gateway MAC>', ['Register it: iotctl devices add <MAC> --type gateway --role gateway --any-type'])
    }
    throw usageError(`The registry has ${gateways.length} gateways; pick one with --name`, gateways.slice(0, 5).map((g) => `--name ${g.mac ?? g.id}`))
  }
  const device = findDevice(registry, requested)
  if (device) {
    if (device.role !== 'gateway') {
      throw usageError(`${device.id} is registered as ${device.role ? `a ${device.role}` : 'a device without a role'}, not a gateway`, [
        'Use the MAC of a registered gateway: iotctl devices list --role gateway',
      ])
    }
    return fromDevice(device)
  }
  return {name: isMacLike(requested) ? normalizeMac(requested)! : requested.trim()}
}

function fromDevice(device: DeviceRecord): GatewayIdentity {
  return {name: device.mac ?? device.id, device}
}

function findDevice(registry: Registry, requested: string): DeviceRecord | undefined {
  let byId: DeviceRecord | undefined
  try {
    byId = registry.find(canonicalDeviceId(requested))
  } catch {
    byId = undefined // not a valid id; may still be a MAC spelling
  }
  if (byId) return byId
  const mac = normalizeMac(requested)
  return mac ? registry.devices.find((device) => device.mac === mac) : undefined
}
