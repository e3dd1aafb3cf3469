import {ExitCode, IotctlError} from '../console/errors.js'
import {ensureDeviceCredentials, loadDeviceCredentials, type DeviceCredentials} from '../pki/credentials.js'
import type {DeviceRecord} from '../registry/types.js'
import type {Workspace} from '../workspace/workspace.js'

export interface CredentialOptions {
  /** the CA passphrase, asked only when some device has no certificate yet; may throw (cannot prompt) */
  passphrase: () => Promise<string>
  /** told which devices are about to get a certificate */
  onIssue?: (ids: string[]) => void
  /** key algorithm for certificates issued here (default: the fleet's) */
  algo?: string
}

/**
 * The PEMs every device's NVS carries: stored ones are loaded; devices without a certificate get
 * one from the fleet CA (one batch), or the build stops naming `iotctl certs issue`.
 */
export async function resolveCredentials(ws: Workspace, devices: DeviceRecord[], options: CredentialOptions): Promise<Map<string, DeviceCredentials>> {
  const found = new Map<string, DeviceCredentials>()
  const missing: string[] = []
  const now = Date.now()
  // a revoked or expired certificate would be refused by the broker: it is replaced like a missing one
  const usable = (d: DeviceRecord) => !d.cert || (!d.cert.revoked && Date.parse(d.cert.notAfter) > now)
  const loaded = await Promise.all(devices.map(async (d) => [d, usable(d) ? await loadDeviceCredentials(ws.paths.pki, d.id) : undefined] as const))
  for (const [device, creds] of loaded) {
    if (creds) found.set(device.id, creds)
    else missing.push(device.id)
  }
  if (missing.length === 0) return found
  const sample = missing.slice(0, 3).join(' ')
  let passphrase: string
  try {
    passphrase = await options.passphrase()
  } catch (error) {
    throw new IotctlError(`${missing.length} device${missing.length === 1 ? ' has' : 's have'} no usable certificate (${sample}${missing.length > 3 ? ' …' : ''}), and the CA passphrase is needed to issue ${missing.length === 1 ? 'it' : 'them'}`, {
      code: 'CERT_REQUIRED',
      exit: ExitCode.USAGE,
      cause: error,
      suggestions: [`Issue them first: iotctl certs issue ${sample}`, 'Or set IOTCTL_CA_PASSPHRASE so the build issues them'],
      details: {missing},
    })
  }
  options.onIssue?.(missing)
  const issued = await ensureDeviceCredentials(ws, missing, {passphrase, algo: options.algo})
  for (const id of missing) {
    const creds = issued.get(id)
    if (!creds) throw new IotctlError(`No certificate could be issued for ${id}`, {code: 'CERT_REQUIRED', exit: ExitCode.GENERAL, suggestions: [`iotctl certs issue ${id}`]})
    found.set(id, creds)
  }
  return found
}
