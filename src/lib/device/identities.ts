import {ensureDeviceCredentials, loadDeviceCredentials, type DeviceCredentials} from '../pki/credentials.js'
import {addDevices, Registry} from '../registry/registry.js'
import type {Workspace} from '../workspace/workspace.js'
import type {PlannedDevice} from './fleet-plan.js'

export interface IdentityOptions {
  /** the CA passphrase, asked only when some device still needs a certificate */
  passphrase: () => Promise<string>
  /** told before devices are registered and certificates issued */
  onIssue?: (info: {register: number; issue: number}) => void
}

/**
 * One fleet-CA certificate per simulated device: stored ones are reused; the rest are issued in
 * one batch. Certificates belong to registered devices, so simulated ids not yet in the registry
 * are registered first (chip "sim", label simulated=true).
 */
export async function simulatedIdentities(ws: Workspace, devices: PlannedDevice[], options: IdentityOptions): Promise<Map<string, DeviceCredentials>> {
  const found = new Map<string, DeviceCredentials>()
  const missing: PlannedDevice[] = []
  for (const device of devices) {
    const credentials = await loadDeviceCredentials(ws.paths.pki, device.id)
    if (credentials) found.set(device.id, credentials)
    else missing.push(device)
  }
  if (missing.length === 0) return found
  const registry = await Registry.load(ws)
  const unregistered = missing.filter((device) => !registry.find(device.id))
  options.onIssue?.({register: unregistered.length, issue: missing.length})
  const passphrase = await options.passphrase()
  if (unregistered.length > 0) {
    await addDevices(
      ws,
      unregistered.map((device) => ({id: device.id, type: device.type, chip: 'sim' as const, ...(device.mac ? {mac: device.mac} : {}), labels: {simulated: 'true'}})),
    )
  }
  const issued = await ensureDeviceCredentials(
    ws,
    missing.map((device) => device.id),
    {passphrase},
  )
  for (const [id, credentials] of issued) found.set(id, credentials)
  return found
}
