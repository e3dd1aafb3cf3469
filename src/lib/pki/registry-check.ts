import {readdir} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {openRegistry} from '../registry/open.js'
import type {Workspace} from '../workspace/workspace.js'
import {isRevoked, readCrlState} from './crl.js'
import {parseCertificate} from './inspect.js'
import {deviceFiles, pkiLayout} from './layout.js'
import {normalizeSerial} from './serial.js'
import {readOptional} from './store.js'

export type CheckProblemKind =
  /** the catalogue names a certificate whose file is gone */
  | 'file-missing'
  /** the file holds another certificate than the catalogue names */
  | 'serial-mismatch'
  /** a certificate file the catalogue does not know (a registered device without a summary) */
  | 'not-in-catalogue'
  /** a still valid certificate of no registered device: brokers accept it, nobody tracks it */
  | 'unregistered'
  /** the catalogue and the CRL disagree about a revocation */
  | 'revocation-mismatch'

export interface CheckProblem {
  kind: CheckProblemKind
  id: string
  serial?: string
  message: string
}

export interface RegistryCheck {
  store: 'file' | 'postgres'
  location: string
  devices: number
  certificates: number
  problems: CheckProblem[]
}

/** Compare the registry's certificate catalogue with the PKI folder and the CRL; nothing is changed. */
export async function checkRegistry(ws: Workspace): Promise<RegistryCheck> {
  const store = await openRegistry(ws)
  const [devices, crl] = await Promise.all([store.readDevices(), readCrlState(ws.paths.pki)])
  const problems: CheckProblem[] = []
  const claimed = new Set<string>()
  let certificates = 0
  for (const device of devices) {
    const file = deviceFiles(ws.paths.pki, device.id).cert
    claimed.add(dirname(file))
    const pem = await readOptional(file)
    const onDisk = pem === undefined ? undefined : parseCertificate(pem, file).serialNumber
    if (onDisk !== undefined) certificates++
    const summary = device.cert
    if (summary && onDisk === undefined) {
      problems.push({kind: 'file-missing', id: device.id, serial: summary.serial, message: `${device.id}: the registry names certificate ${summary.serial}, but ${file} is missing`})
    } else if (!summary && onDisk !== undefined) {
      problems.push({kind: 'not-in-catalogue', id: device.id, serial: onDisk, message: `${device.id}: ${file} holds certificate ${onDisk}, which the registry does not record`})
    } else if (summary && onDisk !== undefined && normalizeSerial(summary.serial) !== normalizeSerial(onDisk)) {
      problems.push({kind: 'serial-mismatch', id: device.id, serial: onDisk, message: `${device.id}: the registry names certificate ${summary.serial}, but ${file} holds ${onDisk}`})
    }
    if (summary) {
      const revokedInCrl = Boolean(isRevoked(crl, summary.serial))
      if (revokedInCrl !== Boolean(summary.revoked)) {
        problems.push({
          kind: 'revocation-mismatch',
          id: device.id,
          serial: summary.serial,
          message: `${device.id}: certificate ${summary.serial} is ${revokedInCrl ? '' : 'not '}revoked in the CRL but ${summary.revoked ? '' : 'not '}in the registry`,
        })
      }
    }
  }
  const devicesDir = pkiLayout(ws.paths.pki).devices
  const folders = await readdir(devicesDir, {withFileTypes: true}).catch(() => [])
  for (const entry of folders) {
    const folder = join(devicesDir, entry.name)
    if (!entry.isDirectory() || claimed.has(folder)) continue
    const file = join(folder, 'cert.pem')
    const pem = await readOptional(file)
    if (pem === undefined) continue
    const cert = parseCertificate(pem, file)
    // a retired device's revoked certificate is history, not a problem
    if (isRevoked(crl, cert.serialNumber) || Date.parse(cert.validTo) < Date.now()) continue
    problems.push({kind: 'unregistered', id: entry.name, serial: cert.serialNumber, message: `${file}: a valid certificate (${cert.serialNumber}) of no registered device`})
  }
  return {store: store.kind, location: store.location, devices: devices.length, certificates, problems}
}
