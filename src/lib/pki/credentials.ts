import {conflict} from '../console/errors.js'
import {canonicalDeviceId} from '../registry/ids.js'
import type {Workspace} from '../workspace/workspace.js'
import {parseKeyAlgorithm} from './algorithms.js'
import {openCa, readCaCertPem} from './ca.js'
import {readCrlState} from './crl.js'
import {currentCert, issueDeviceCerts} from './device-certs.js'
import {deviceFiles} from './layout.js'
import {readOptional} from './store.js'

/** A device's TLS identity: its certificate, private key and the fleet CA certificate (PEM). */
export interface DeviceCredentials {
  certPem: string
  keyPem: string
  caPem: string
}

/**
 * The device's stored certificate and key plus the CA certificate, or undefined when the device
 * has no certificate or no key here (e.g. its certificate was signed from its own CSR). The
 * files are returned as they are: a revoked or expired certificate is still returned.
 */
export async function loadDeviceCredentials(pkiDir: string, deviceId: string): Promise<DeviceCredentials | undefined> {
  const files = deviceFiles(pkiDir, canonicalDeviceId(deviceId))
  const [certPem, keyPem] = await Promise.all([readOptional(files.cert), readOptional(files.key)])
  if (certPem === undefined || keyPem === undefined) return undefined
  return {certPem, keyPem, caPem: await readCaCertPem(pkiDir)}
}

/**
 * Credentials for every id (keys of the map are the ids as given). Devices without a usable
 * identity — no certificate yet, or a revoked or expired one — get a new key and
 * certificate in one batch (CA key decrypted once, one registry write). Unregistered ids fail
 * with DEVICE_NOT_FOUND (exit 3), a missing CA with CA_NOT_FOUND, a wrong passphrase with AUTH (9),
 * a device whose valid certificate came from its own CSR (no key here) with KEY_NOT_HERE (4).
 */
export async function ensureDeviceCredentials(
  ws: Workspace,
  deviceIds: string[],
  options: {passphrase: string; algo?: string; days?: number},
): Promise<Map<string, DeviceCredentials>> {
  const pkiDir = ws.paths.pki
  const crl = await readCrlState(pkiDir)
  const toIssue: string[] = []
  for (const input of deviceIds) {
    const id = canonicalDeviceId(input)
    const files = deviceFiles(pkiDir, id)
    const current = await currentCert(pkiDir, id, crl)
    if (current && !current.revoked && !current.expired) {
      if ((await readOptional(files.key)) !== undefined) continue
      throw conflict('KEY_NOT_HERE', `${id} has a valid certificate made from its own CSR: iotctl does not hold its private key`, [
        `To let iotctl act as ${id}, replace its identity: iotctl certs rotate ${id}`,
      ])
    }
    if (!toIssue.includes(id)) toIssue.push(id)
  }
  if (toIssue.length > 0) {
    const algorithm = parseKeyAlgorithm(options.algo)
    const ca = await openCa(pkiDir, options.passphrase)
    // a revoked or expired certificate is replaced like a missing one
    // another process ensuring the same devices may win the race: its certificates are used
    await issueDeviceCerts(ws, {ids: toIssue, ifChanged: 'skip'}, {ca, algorithm, days: options.days, passphrase: options.passphrase})
  }
  const result = new Map<string, DeviceCredentials>()
  for (const input of deviceIds) {
    const credentials = await loadDeviceCredentials(pkiDir, input)
    if (!credentials) throw new Error(`no credentials for ${input} after issuing them`)
    result.set(input, credentials)
  }
  return result
}

/** The fleet CA certificate PEM; CA_NOT_FOUND (exit 3, "run iotctl certs init") before there is one. */
export function readCaCertificatePem(pkiDir: string): Promise<string> {
  return readCaCertPem(pkiDir)
}

/** The CA passphrase from IOTCTL_CA_PASSPHRASE, or undefined when it is not set. */
export function caPassphraseFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env.IOTCTL_CA_PASSPHRASE
  return value === undefined || value === '' ? undefined : value
}
